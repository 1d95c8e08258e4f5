"""Machine logs as data: a CSV/TSV attachment read as a table (issue 14).

``preview_table`` looks at the first bytes only (``PREVIEW_BYTES``, at most ``PREVIEW_ROWS`` rows): it finds the
encoding, the delimiter and whether the first line is a header, detects each column's type (integer, number,
date-time, yes/no, text) and picks a date-time column and a numeric column to plot. ``read_frame`` reads the
whole file into a pandas DataFrame with the same dialect, up to a row limit.

Anything that is not a clean table (binary bytes, an unknown encoding, rows with different numbers of fields)
is a ``TableUnreadable`` whose ``problem`` is translated when shown; the file itself stays shared either way.
Everything here is a pure function of the bytes, so callers cache it by the content's SHA-256.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import IO, TYPE_CHECKING, Literal

from conferencing_widgets.core.errors import InvalidInput, LimitExceeded
from conferencing_widgets.core.i18n import _, ngettext

if TYPE_CHECKING:
    import pandas as pd

PREVIEW_ROWS = 200
"""Data rows the preview shows (and types are detected from)."""
PREVIEW_BYTES = 256 * 1024
"""Bytes of the file's start the preview reads."""
TABLE_EXTENSIONS = frozenset({".csv", ".tsv", ".tab"})
"""Names that make a file a table even when its bytes are not UTF-8 text (the preview then says why not)."""
TABLE_TYPES = frozenset({"text/csv", "text/tab-separated-values"})
"""Detected types that are tables whatever the name."""
DELIMITERS = ("\t", ";", ",", "|")
"""Delimiters tried, in this order on a tie (``;`` before ``,``: decimal commas)."""

ColumnKind = Literal["integer", "number", "datetime", "boolean", "text", "empty"]

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_COMMA_FLOAT = re.compile(r"[+-]?\d+,\d+")
_DATE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?", re.ASCII
)
_BOOLEANS = frozenset({"true", "false", "yes", "no"})


class TableUnreadable(InvalidInput):
    """A file could not be read as a table. ``problem`` says why, translated when shown."""

    def __init__(self, name: str, problem: Problem) -> None:
        self.name = name
        self.problem = problem
        super().__init__(unreadable_message(name, problem))


@dataclass(frozen=True, kw_only=True)
class Problem:
    """Why a file is not a table, kept untranslated (previews are cached across languages)."""

    code: Literal["binary", "encoding", "ragged", "empty", "parse"]
    """What went wrong."""
    line: int = 0
    """For ``ragged``: the first line whose number of fields differs."""
    found: int = 0
    """For ``ragged``: how many fields that line has."""
    expected: int = 0
    """For ``ragged``: how many the lines before it have."""
    detail: str = ""
    """For ``parse``: the parser's own words."""

    def text(self) -> str:
        """The reason in the active language."""
        if self.code == "binary":
            return _("it holds binary data, not text.")
        if self.code == "encoding":
            return _("its text encoding was not recognised; save it as UTF-8.")
        if self.code == "ragged":
            return ngettext(
                "line {line} has {found} field where the lines before it have {expected}.",
                "line {line} has {found} fields where the lines before it have {expected}.",
                self.found,
            ).format(line=self.line, found=self.found, expected=self.expected)
        if self.code == "empty":
            return _("it holds no rows.")
        return _("the parser stopped: {detail}").format(detail=self.detail)


def unreadable_message(name: str, problem: Problem) -> str:
    """The user-visible sentence for a file that is not a table."""
    return _("Could not read {name} as a table: {reason}").format(name=name, reason=problem.text())


@dataclass(frozen=True, kw_only=True)
class Column:
    """One detected column."""

    name: str
    """Its header text, or "" when the file has no header line."""
    kind: ColumnKind
    """Its type, detected from the preview rows."""


@dataclass(frozen=True, kw_only=True)
class TablePreview:
    """What the viewer shows of a table file (or why it is not one)."""

    columns: tuple[Column, ...] = ()
    """The columns, in file order."""
    rows: tuple[tuple[str, ...], ...] = ()
    """The first data rows, as text."""
    more: bool = False
    """Whether the file goes on past ``rows``."""
    delimiter: str = ","
    """The field delimiter found."""
    encoding: str = "utf-8"
    """The text encoding found (a Python codec name)."""
    has_header: bool = True
    """Whether the first line names the columns."""
    decimal: str = "."
    """The decimal mark of the number columns (``,`` in many European logs)."""
    time_column: int | None = None
    """The plot's x axis: the first date-time column (None: row numbers)."""
    value_column: int | None = None
    """The plot's y axis: the first numeric column (None: no plot)."""
    plot_png: bytes | None = field(default=None, repr=False)
    """A small PNG of the value column over time (or over the row number)."""
    problem: Problem | None = None
    """Set when the file is not a table; everything else is then empty."""


def is_table_file(name: str, media_type: str) -> bool:
    """Whether a shared file should get a table preview (by its detected type, or its name for non-UTF-8 text)."""
    if media_type in TABLE_TYPES:
        return True
    ext = PurePath(str(name)).suffix.lower()
    return ext in TABLE_EXTENSIONS and media_type in ("text/plain", "application/octet-stream")


def decode(data: bytes, *, complete: bool) -> tuple[str, str]:
    """``(text, encoding)`` of a file's first bytes: UTF-8 (or a BOM's UTF-16), else Windows-1250; ``Problem``
    raised as ``ValueError`` when it is binary or neither. An incomplete head is cut after its last full line."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates: tuple[str, ...] = ("utf-16",)
    elif b"\x00" in data:
        raise _Fail(Problem(code="binary"))
    else:
        candidates = ("utf-8-sig", "cp1250")
    text = None
    for encoding in candidates:
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(data, final=complete)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise _Fail(Problem(code="encoding"))
    controls = sum(1 for ch in text[:65536] if ch < " " and ch not in "\t\r\n\f")
    if controls > len(text[:65536]) // 1000:
        raise _Fail(Problem(code="binary"))
    if not complete and "\n" in text:
        text = text[: text.rindex("\n") + 1]
    return text, encoding


class _Fail(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


def _split(text: str, delimiter: str, limit: int) -> list[list[str]]:
    rows = []
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False):
        if any(cell.strip() for cell in row):
            rows.append(row)
            if len(rows) >= limit:
                break
    return rows


def sniff(text: str, *, ext: str = "") -> tuple[str, list[list[str]]]:
    """The delimiter and the first rows (header included) of a table's text; ``_Fail`` for ragged rows.

    A delimiter wins when every line has the same number of fields (more than one); among winners the most
    fields wins. A file where no delimiter splits any line is a one-column table.
    """
    order = ("\t", *DELIMITERS[1:]) if ext in (".tsv", ".tab") else DELIMITERS
    best: tuple[int, str, list[list[str]]] | None = None
    ragged: Problem | None = None
    for delimiter in order:
        rows = _split(text, delimiter, PREVIEW_ROWS + 2)
        if not rows:
            raise _Fail(Problem(code="empty"))
        widths = [len(r) for r in rows]
        if max(widths) < 2:
            continue
        if len(set(widths)) == 1:
            if best is None or widths[0] > best[0]:
                best = (widths[0], delimiter, rows)
        elif ragged is None:
            line = next(i for i, width in enumerate(widths) if width != widths[0])
            ragged = Problem(code="ragged", line=line + 1, found=widths[line], expected=widths[0])
    if best is not None:
        return best[1], best[2]
    if ragged is not None:
        raise _Fail(ragged)
    return ",", _split(text, ",", PREVIEW_ROWS + 2)


def cell_kind(value: str, decimal: str) -> ColumnKind:
    """The type of one non-empty cell."""
    value = value.strip()
    if _INT.fullmatch(value):
        return "integer"
    if (_COMMA_FLOAT if decimal == "," else _FLOAT).fullmatch(value):
        return "number"
    if _DATE.fullmatch(value):
        return "datetime"
    if value.lower() in _BOOLEANS:
        return "boolean"
    return "text"


def column_kind(values: list[str], decimal: str) -> ColumnKind:
    """The type of a column from its cells (empty cells are missing values)."""
    kinds = {cell_kind(v, decimal) for v in values if v.strip()}
    if not kinds:
        return "empty"
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 else "text"


def _decimal(rows: list[list[str]], delimiter: str) -> str:
    # A comma is the decimal mark only when it is not the delimiter, some cell looks like 1,5 and none like 1.5.
    if delimiter == ",":
        return "."
    cells = [c.strip() for r in rows for c in r]
    commas = any(_COMMA_FLOAT.fullmatch(c) for c in cells)
    points = any(_FLOAT.fullmatch(c) and not _INT.fullmatch(c) for c in cells)
    return "," if commas and not points else "."


def _has_header(first: list[str], data: list[list[str]], decimal: str) -> bool:
    # Each typed column votes: a header cell of another type says "header", one of the same type says "data".
    # A table of text only is assumed to have a header when its first cells are all present and distinct.
    if not data:
        return True
    header = plain = 0
    for i, cell in enumerate(first):
        kind = column_kind([r[i] for r in data], decimal)
        if kind in ("text", "empty") or not cell.strip():
            continue
        own = cell_kind(cell, decimal)
        if own == kind or (kind == "number" and own == "integer"):
            plain += 1
        else:
            header += 1
    if header or plain:
        return header > plain
    return all(cell.strip() for cell in first) and len(set(first)) == len(first)


def preview_table(head: bytes, *, name: str = "", complete: bool = True) -> TablePreview:
    """The preview of a table file whose first bytes are ``head`` (``complete``: the whole file). Never raises
    for bad content: a file that is not a table gives a preview with ``problem`` set."""
    try:
        text, encoding = decode(head, complete=complete)
        delimiter, rows = sniff(text, ext=PurePath(name).suffix.lower())
    except _Fail as fail:
        return TablePreview(problem=fail.problem)
    except csv.Error as exc:  # e.g. a field longer than the csv module's limit (128 KiB)
        return TablePreview(problem=Problem(code="parse", detail=str(exc)[:200]))
    decimal = _decimal(rows[1:] or rows, delimiter)
    header = _has_header(rows[0], rows[1:], decimal)
    names = rows[0] if header else [""] * len(rows[0])
    data = rows[1:] if header else rows
    more = len(data) > PREVIEW_ROWS or not complete
    data = data[:PREVIEW_ROWS]
    if not data and header:
        return TablePreview(problem=Problem(code="empty"))
    kinds = [column_kind([r[i] for r in data], decimal) for i in range(len(names))]
    columns = tuple(Column(name=n.strip(), kind=k) for n, k in zip(names, kinds, strict=True))
    time_col = next((i for i, k in enumerate(kinds) if k == "datetime"), None)
    # A measured value (decimals) says more than a count or a set point (whole numbers): prefer it for the plot.
    value_col = next((i for i, k in enumerate(kinds) if k == "number" and i != time_col), None)
    if value_col is None:
        value_col = next((i for i, k in enumerate(kinds) if k == "integer" and i != time_col), None)
    preview = TablePreview(
        columns=columns,
        rows=tuple(tuple(r) for r in data),
        more=more,
        delimiter=delimiter,
        encoding=encoding,
        has_header=header,
        decimal=decimal,
        time_column=time_col,
        value_column=value_col,
    )
    from conferencing_widgets.files.tableplot import plot_png

    return TablePreview(**{**preview.__dict__, "plot_png": plot_png(preview)})


class ChunkReader(io.RawIOBase):
    """A read-only binary stream over an iterator of byte chunks (a blob store's chunks, or a generator)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def read_frame(stream: IO[bytes], preview: TablePreview, *, name: str, max_rows: int) -> pd.DataFrame:
    """The whole table as a DataFrame, read with the dialect ``preview`` found; date-time columns parsed.

    ``LimitExceeded`` past ``max_rows`` data rows (reading stops there), ``TableUnreadable`` for bad content.
    Without a header line the columns are numbered from 0 (pandas' own convention).
    """
    import pandas as pd

    if preview.problem is not None:
        raise TableUnreadable(name, preview.problem)
    try:
        frame = pd.read_csv(
            stream,
            sep=preview.delimiter,
            header=0 if preview.has_header else None,
            encoding=preview.encoding,
            decimal=preview.decimal,
            nrows=max_rows + 1,
            skip_blank_lines=True,
            on_bad_lines="error",
            engine="c",
            low_memory=False,
        )
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:  # EmptyDataError is a ValueError
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TableUnreadable(name, Problem(code="parse", detail=detail[:200])) from exc
    if len(frame) > max_rows:
        raise LimitExceeded(
            _(
                "{name} has more than {limit} rows, the most read as a table here (CONFERENCING_TABLE_MAX_ROWS). "
                "Download the file and read it in parts."
            ).format(name=name, limit=f"{max_rows:,}")
        )
    for i, column in enumerate(preview.columns):
        if column.kind == "datetime" and i < frame.shape[1]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                label = frame.columns[i]
                frame[label] = _to_datetime(frame[label])
    return frame


def _to_datetime(values: pd.Series) -> pd.Series:
    import pandas as pd

    try:
        return pd.to_datetime(values, format="ISO8601")
    except (ValueError, TypeError):
        return pd.to_datetime(values, format="mixed", dayfirst=True, errors="coerce")


def plot_times(preview: TablePreview) -> list[object] | None:
    """The preview's time column parsed (for the plot's x axis), or None."""
    import pandas as pd

    if preview.time_column is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = _to_datetime(pd.Series([r[preview.time_column] for r in preview.rows]))
    return list(parsed)


__all__ = [
    "PREVIEW_BYTES",
    "PREVIEW_ROWS",
    "ChunkReader",
    "Column",
    "ColumnKind",
    "Problem",
    "TablePreview",
    "TableUnreadable",
    "cell_kind",
    "column_kind",
    "decode",
    "is_table_file",
    "preview_table",
    "read_frame",
    "sniff",
    "unreadable_message",
]
