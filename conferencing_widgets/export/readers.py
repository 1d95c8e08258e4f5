"""Reading the export's queries from SQLite and PostgreSQL through ADBC, as Arrow record batches.

PostgreSQL is read in this process. SQLite is read by a reader process (``adbc_query.py`` says why)
that streams Arrow IPC back through a pipe, unless this process holds no other connection to the file
(``inline_sqlite``, the CLI). Every run reads all its queries in one snapshot.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc

from conferencing_widgets.core.errors import ConferencingError, InvalidInput, NotFound, StorageError
from conferencing_widgets.export import adbc_query
from conferencing_widgets.export.store import Job, Selection, jobs
from conferencing_widgets.export.tables import SPECS, Lookups
from conferencing_widgets.store import Store

SQLITE_BATCH_ROWS = 65_536
"""Rows per Arrow batch from SQLite. Also how many rows its driver looks at to infer column types."""


def cast_batch(batch: pa.RecordBatch, schema: pa.Schema, empty_is_null: tuple[str, ...]) -> pa.RecordBatch:
    """A driver batch in the job's types (SQLite gives int64 for timestamps and booleans)."""
    columns = []
    for f in schema:
        col = batch.column(f.name)
        if col.type != f.type:
            if pa.types.is_timestamp(f.type) and pa.types.is_integer(col.type):
                col = col.cast(pa.int64()).cast(f.type)
            else:
                col = col.cast(f.type)
        if f.name in empty_is_null:
            col = pc.if_else(pc.equal(col, ""), pa.scalar(None, f.type), col)
        columns.append(col)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def sqlite_uri(store: Store) -> str:
    """A read-only URI for the store's file (read-only also means the reader never deletes the -wal)."""
    path = store.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise InvalidInput("An in-memory SQLite store cannot be exported; use a file store.")
    file = Path(path).resolve()
    if not file.is_file():
        raise NotFound(f"No SQLite store at {path}. Check CONFERENCING_STORE or --store.")
    return f"file:{quote(str(file))}?mode=ro"


class Source(Protocol):
    """Where one run's batches come from; ``batches`` is called once per job, in job order."""

    def batches(self, job: Job) -> Iterator[pa.RecordBatch]: ...

    def close(self) -> None: ...


class SqliteProcessSource:
    """The jobs' batches from the SQLite reader process: one Arrow IPC stream per job, in job order."""

    def __init__(self, store: Store, jobs: Sequence[Job]) -> None:
        request = {"uri": sqlite_uri(store), "batch_rows": SQLITE_BATCH_ROWS, "queries": [j.sql for j in jobs]}
        self._jobs = list(jobs)
        self._stderr = tempfile.TemporaryFile()
        # -P: the script's folder (this package's modules) is not put on sys.path.
        self._proc = subprocess.Popen(
            [sys.executable, "-P", adbc_query.__file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._out = self._proc.stdout
        try:
            self._proc.stdin.write(json.dumps(request).encode("utf-8"))
            self._proc.stdin.close()
        except OSError as exc:
            self.close()
            raise StorageError("The export reader did not start; try again.", detail=exc) from exc

    def _failure(self, job: Job) -> StorageError:
        self._proc.wait()
        self._stderr.seek(0)
        tail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-3:]
        return StorageError(
            f"Reading {job.name} failed: the reader process stopped; try again.", detail=" ".join(tail) or None
        )

    def batches(self, job: Job) -> Iterator[pa.RecordBatch]:
        if not self._jobs or self._jobs[0] is not job:
            raise RuntimeError("export jobs read out of order")  # a bug, not user input
        self._jobs.pop(0)
        try:
            reader = pa.ipc.open_stream(self._out)
            for batch in reader:
                yield cast_batch(batch, job.schema, job.empty_is_null)
        except pa.ArrowException as exc:
            raise self._failure(job) from exc
        # A stream cut short exactly at a batch boundary reads as complete: the exit status tells.
        status = self._proc.poll() if self._jobs else self._proc.wait()
        if status not in (None, 0):
            raise self._failure(job)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._out.close()
        self._stderr.close()


class InProcessSource:
    """One in-process ADBC connection, one read-only transaction (repeatable read on PostgreSQL).

    Always used for PostgreSQL. For SQLite only when this process holds no other connection to the file
    (``inline_sqlite``: the CLI), since the driver's own SQLite would break that connection's locks.
    """

    def __init__(self, store: Store) -> None:
        import adbc_driver_manager

        self._options: dict[str, str] = {}
        if store.backend == "sqlite":
            import adbc_driver_sqlite

            self._db = adbc_driver_sqlite.connect(sqlite_uri(store))
            self._options = {adbc_query.SQLITE_BATCH_ROWS_OPTION: str(SQLITE_BATCH_ROWS)}
        else:
            import adbc_driver_postgresql

            uri = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._db = adbc_driver_postgresql.connect(uri)
        self._conn = adbc_driver_manager.AdbcConnection(self._db)
        self._conn.set_autocommit(False)
        if store.backend != "sqlite":
            stmt = adbc_driver_manager.AdbcStatement(self._conn)
            try:
                stmt.set_sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                stmt.execute_update()
            finally:
                stmt.close()

    def batches(self, job: Job) -> Iterator[pa.RecordBatch]:
        with adbc_query.query(self._conn, job.sql, self._options) as reader:
            for batch in reader:
                if batch.num_rows:
                    yield cast_batch(batch, job.schema, job.empty_is_null)

    def close(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._conn.close()
            self._db.close()


def no_other_sqlite_connection(store: Store) -> bool:
    """True when nothing in this process has the store file open (checked in /proc/self/fd, Linux).

    The store's own idle pooled connections are closed first. Any other open descriptor on the file or its
    -wal/-shm (another Store, a test fixture, a caller embedding the CLI) means: use the reader process.
    Neither SQLite nor ADBC can tell whether another SQLite library in this process has the file open.
    """
    store.engine.dispose(close=True)
    path = store.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return False
    base = os.path.realpath(path)
    names = {base, base + "-wal", base + "-shm", base + "-journal"}
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return False  # cannot tell: be safe
    for fd in fds:
        try:
            if os.readlink(f"/proc/self/fd/{fd}") in names:
                return False
        except OSError:
            continue
    return True


@contextmanager
def _source(store: Store, run_jobs: Sequence[Job], *, inline_sqlite: bool = False) -> Iterator[Source]:
    """The reader for these jobs: one snapshot for all of them."""
    try:
        src: Source
        if store.backend != "sqlite":
            src = InProcessSource(store)
        elif inline_sqlite and no_other_sqlite_connection(store):
            sqlite_uri(store)  # the same checks as the reader process
            src = InProcessSource(store)
        else:
            src = SqliteProcessSource(store, run_jobs)
    except ConferencingError:
        raise
    except Exception as exc:  # noqa: BLE001 - the ADBC drivers raise their own error types
        raise StorageError(
            "Cannot open the store for export. Check the store URL (CONFERENCING_STORE).", detail=exc
        ) from exc
    try:
        yield src
    finally:
        src.close()


@contextmanager
def _read_errors(name: str) -> Iterator[None]:
    """Driver errors while reading become one typed error."""
    try:
        yield
    except ConferencingError:
        raise
    except Exception as exc:  # noqa: BLE001 - the ADBC drivers and pyarrow raise their own error types
        raise StorageError(f"Reading {name} failed; try again.", detail=exc) from exc


def _table_batches(src: Source, job: Job, lookups: Lookups) -> Iterator[pa.RecordBatch]:
    """The rows of one job as batches in its table's full schema (derived columns added)."""
    spec = SPECS[job.name]
    with _read_errors(job.name):
        for batch in src.batches(job):
            cols = {name: batch.column(name) for name in batch.schema.names}
            if spec.derive is not None:
                cols.update(spec.derive(cols, lookups))
            yield pa.RecordBatch.from_arrays([cols[f.name] for f in spec.schema], schema=spec.schema)


def run(
    store: Store, sel: Selection, names: Sequence[str], *, inline_sqlite: bool = False
) -> Generator[tuple[str, Callable[[], Iterator[pa.RecordBatch]]], None, None]:
    """For each table in order: its name and a function returning its batches (consume before the next)."""
    run_jobs = jobs(store, sel, names)
    lookups = Lookups()
    with _source(store, run_jobs, inline_sqlite=inline_sqlite) as src:
        for job in run_jobs:
            if job.name == "users":
                with _read_errors("users"):
                    lookups.load_users(src.batches(job))
                continue
            yield job.name, lambda job=job: _table_batches(src, job, lookups)  # type: ignore[misc]


def prefetch(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Read the next batches in a thread while the caller writes this one.

    The driver and the file writers release the GIL, so reading and writing overlap on two cores; the
    bounded queue keeps at most ``depth`` batches in memory.
    """
    done = object()
    box: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        box.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer and re-raised there
            box.put(exc)

    worker = threading.Thread(target=produce, name="cw-export-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                box.get_nowait()
            except queue.Empty:
                worker.join(0.05)
        if isinstance(batches, Generator):
            batches.close()
