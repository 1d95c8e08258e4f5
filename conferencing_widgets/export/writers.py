"""Writing exported tables to files: Parquet, CSV or JSON Lines, batch by batch, through one writer path.

Every format is a writer with ``write_batch`` and ``close`` (pyarrow's Parquet and CSV writers, and a small
JSON Lines one), so streaming, row counts and progress are written once.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import pyarrow as pa

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.export.tables import SPECS, pandas_types

if TYPE_CHECKING:
    import pandas as pd

FORMATS: tuple[str, ...] = ("parquet", "csv", "jsonl")
"""File formats ``write`` and ``conferencing export`` produce."""

Runs = Iterable[tuple[str, Callable[[], Iterator[pa.RecordBatch]]]]
"""Each table's name and a function returning its batches (``readers.run``)."""


class BatchWriter(Protocol):
    """What every format's writer offers (pyarrow's writers already do)."""

    def write_batch(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


class JsonLinesWriter:
    """One JSON object per row, ISO times; values typed like ``frames`` (pyarrow has no JSON writer)."""

    def __init__(self, path: Path, _schema: pa.Schema) -> None:
        self._out = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed by close()
        self._types = pandas_types()

    def write_batch(self, batch: pa.RecordBatch) -> None:
        df = batch.to_pandas(types_mapper=self._types)
        text = df.to_json(orient="records", lines=True, date_format="iso", date_unit="us", force_ascii=False)
        self._out.write(text if text.endswith("\n") else text + "\n")

    def close(self) -> None:
        self._out.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def check_format(fmt: str) -> str:
    """``fmt`` if it is one of ``FORMATS``."""
    if fmt not in FORMATS:
        raise InvalidInput(f"Unknown format {fmt!r}: use {', '.join(FORMATS)}.")
    return fmt


def open_writer(fmt: str, path: Path, schema: pa.Schema) -> BatchWriter:
    """The writer of one table's file."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetWriter(path, schema, compression="snappy")
    if fmt == "csv":
        import pyarrow.csv as pcsv

        return pcsv.CSVWriter(path, schema)
    return JsonLinesWriter(path, schema)


def write_file(
    fmt: str, path: Path, schema: pa.Schema, batches: Iterable[pa.RecordBatch], tick: Callable[[int], None]
) -> int:
    """Stream ``batches`` into one file (one Parquet row group per batch); returns the row count."""
    rows = 0
    writer = open_writer(check_format(fmt), path, schema)
    try:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
            tick(batch.num_rows)
    finally:
        writer.close()
    return rows


def write_tables(
    target: Path,
    fmt: str,
    runs: Runs,
    names: list[str],
    *,
    show: bool,
    read_ahead: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]] = iter,
) -> dict[str, int]:
    """One file per table in ``target``; the files appear only once every table is written.

    They are written to a temporary folder inside ``target`` first, created only once the store answered.
    ``read_ahead`` wraps each table's batches (``readers.prefetch`` reads the next ones while one is written).
    """
    counts: dict[str, int] = {}
    staging: Path | None = None
    bar = _progress_bar(len(names), show)
    try:
        for name, batches in runs:
            if staging is None:
                target.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=".export-", dir=target))
            bar.set_description(name)
            done = [0]

            def tick(n: int, done: list[int] = done) -> None:
                done[0] += n
                bar.set_postfix_str(f"{done[0]:,} rows", refresh=True)

            path = staging / f"{name}.{fmt}"
            counts[name] = write_file(fmt, path, SPECS[name].schema, read_ahead(batches()), tick)
            bar.update(1)
        if staging is not None:
            for name in names:
                os.replace(staging / f"{name}.{fmt}", target / f"{name}.{fmt}")
    finally:
        bar.close()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return counts


class _NoBar:
    def set_description(self, _text: str) -> None: ...
    def set_postfix_str(self, _text: str, refresh: bool = True) -> None: ...
    def update(self, _n: int) -> None: ...
    def close(self) -> None: ...


def _progress_bar(total: int, show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="table", file=sys.stdout, leave=False, dynamic_ncols=True)


def read_back(out_dir: str | os.PathLike[str], fmt: str, table: str) -> pd.DataFrame:
    """Read one exported file back into pandas (handy in notebooks and tests)."""
    import pandas as pd

    path = Path(out_dir) / f"{table}.{fmt}"
    if not path.exists():
        raise NotFound(f"No exported file {path}.")
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "csv":
        return pd.read_csv(path)
    if fmt == "jsonl":
        if path.stat().st_size == 0:  # an empty table: no lines to infer columns from
            return pd.DataFrame(columns=SPECS[table].schema.names)
        return pd.read_json(path, lines=True)
    raise InvalidInput(f"Unknown format {fmt!r}: use {', '.join(FORMATS)}.")
