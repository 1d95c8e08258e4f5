"""ADBC queries as Arrow record batch streams; run as a script, the export's SQLite reader process.

Why a reader process for SQLite: the ADBC SQLite driver links its own copy of SQLite, and two SQLite
libraries in one process break each other's POSIX locks. When the ADBC connection closed, it found no
other connection (locks of the same process never conflict), checkpointed and deleted the -wal and -shm
files under the store's own live connections, whose later writes then went to a deleted file (reproduced:
"disk I/O error", lost rows). The process opens the file read-only and streams the results back, which
also overlaps reading with writing on two cores.

The process is this file run as a script (``python -P adbc_query.py``), so it imports pyarrow and the
ADBC driver only: not this package, and not ADBC's DB-API module, whose import of ``pyarrow.dataset``
pulls in pandas (measured: +0.6 to 1.7 s start-up and +70 MB per run). The parent imports ``query`` from
here for its in-process reads (PostgreSQL, and SQLite from the CLI), so both read the same way.

Protocol: a JSON request on stdin, ``{"uri": ..., "batch_rows": ..., "queries": [sql, ...]}``; on stdout one
Arrow IPC stream per query, in order, all in one read transaction (one snapshot). On failure the message
goes to stderr and the process exits with status 1 at once, so a cut-short result never gets an
end-of-stream marker; the parent checks the exit status as well.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

import adbc_driver_manager
import pyarrow as pa

SQLITE_BATCH_ROWS_OPTION = "adbc.sqlite.query.batch_rows"
"""Rows per batch from the SQLite driver (also how many rows it looks at to infer column types)."""


@contextmanager
def query(
    conn: adbc_driver_manager.AdbcConnection, sql: str, options: Mapping[str, str] | None = None
) -> Iterator[pa.RecordBatchReader]:
    """The result of ``sql`` as a record batch reader (the driver's stream through Arrow's C stream interface)."""
    stmt = adbc_driver_manager.AdbcStatement(conn)
    try:
        if options:
            stmt.set_options(**options)
        stmt.set_sql_query(sql)
        handle, _ = stmt.execute_query()
        with pa.RecordBatchReader.from_stream(handle) as reader:
            yield reader
    finally:
        stmt.close()


def _serve(request: dict[str, Any], out: IO[bytes]) -> None:
    import adbc_driver_sqlite

    options = {SQLITE_BATCH_ROWS_OPTION: str(request["batch_rows"])}
    db = adbc_driver_sqlite.connect(request["uri"])
    conn = adbc_driver_manager.AdbcConnection(db)
    try:
        conn.set_autocommit(False)  # one transaction: one snapshot for every query
        for sql in request["queries"]:
            with query(conn, sql, options) as reader:
                writer = pa.ipc.new_stream(out, reader.schema)
                for batch in reader:
                    if batch.num_rows:
                        writer.write_batch(batch)
                writer.close()  # the end-of-stream marker: written for complete results only
        out.flush()
    finally:
        conn.rollback()
        conn.close()
        db.close()


def main() -> None:
    """The reader process: the request on stdin, the streams on stdout, an error on stderr."""
    try:
        _serve(json.loads(sys.stdin.buffer.read()), sys.stdout.buffer)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises StorageError
        if not isinstance(exc, BrokenPipeError):  # a broken pipe: the parent stopped reading
            sys.stderr.write(f"{exc}\n")
        sys.stderr.flush()
        os._exit(1)  # at once: no clean-up that could write an end-of-stream marker


if __name__ == "__main__":
    main()
