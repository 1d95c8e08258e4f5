"""Export for analysts: pandas DataFrames, Parquet, CSV and JSON Lines, plus per-case metrics.

The store is read through ADBC (``adbc-driver-sqlite`` / ``adbc-driver-postgresql``) straight into
Arrow record batches, never row by row: the export streams batch by batch into the file writers, so
memory stays flat however big the store is (STACK_NOTES, "Export"). SQLite is read by a short-lived
child process (the driver's own SQLite must not share a process with the store's; see ``adbc_query.py``).

Modules: ``tables`` (columns, types, categories), ``filters`` (the options), ``store`` (the SQL),
``readers`` (ADBC to Arrow), ``writers`` (files); this module holds the public functions.

``file_table(service, file_id)`` reads one shared CSV/TSV file (a machine log) as a DataFrame, with the rights
of downloading it.

Who sees what: ``frames(store=...)`` and ``conferencing export`` are the operator's view (everything).
``frames(service=...)`` returns only what that user may export, using the SQL form of the policy from
``Service.exportable_conversations_query`` / ``Service.visible_cases_query``: members read their
conversations, engineers and admins every service case chat, customers only their company's cases, and
admins export everything (``policy.can_export_everything``).

Tables and their columns (every timestamp is UTC and tz-aware; ids are ``Int64`` or strings):

- ``conversations``: id, kind, title, case_id, case_number, group (the customer company of a case
  chat, the creator's group for a direct chat), created_by, created_at, last_activity_at.
- ``members``: conversation_id, login, display_name, group, role, joined_at.
- ``messages``: id, conversation_id, author, author_group, author_role, created_at, kind, body, ref_id,
  edited_at, deleted, mentions (the @mentioned logins, comma-separated; "" for none).
- ``files``: id, conversation_id, uploader, name, media_type, size, sha256, created_at.
- ``whiteboards``: id, conversation_id, title, created_by, created_at, background_attachment_id, strokes
  (strokes not erased).
- ``calls``: id, conversation_id, provider, started_by, started_at, ended_at, duration_seconds (null
  while a call is running), participants (how many joined). Room names are secrets and left out.
- ``cases``: id, number, title, group, machine_model, machine_serial, status, priority, created_at,
  technicians (assigned logins, comma-separated, sorted).

Filters: a date range (``since`` inclusive, ``until`` exclusive; a date-only ``until`` includes that whole
day) applies to each record's own time: messages, files, whiteboards and calls by when they were
posted, drawn or started; conversations by overlap (created before ``until`` with activity at or after
``since``); members follow their conversations. ``groups``, ``cases`` and ``kind`` select conversations.
Cases: those matching ``groups``/``cases`` that the user may see; with a date range, those created in it
or with a selected conversation.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from contextlib import closing
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.model import ConversationKind
from conferencing_widgets.export import readers, writers
from conferencing_widgets.export.filters import ExportFilter, make_filter, parse_time
from conferencing_widgets.export.store import selection, sql_text
from conferencing_widgets.export.tables import SPECS, TABLES, check_tables, schema, to_frame
from conferencing_widgets.export.writers import FORMATS, read_back
from conferencing_widgets.store import Store

if TYPE_CHECKING:
    import pandas as pd

    from conferencing_widgets.chat.service import Service
    from conferencing_widgets.core.config import Settings
    from conferencing_widgets.export.metrics import Metrics


def _resolve(store: Store | None, service: Service | None) -> Store:
    if service is not None:
        if store is not None and store is not service.store:
            raise InvalidInput("Pass either a store or a service, not both.")
        return service.store
    if store is None:
        raise InvalidInput("Pass store=... (everything, for operators) or service=... (what one user may read).")
    return store


def sql(store: Store, table: str, flt: ExportFilter | None = None, *, service: Service | None = None) -> str:
    """The SQL text that reads ``table`` (values inlined), for the store's dialect.

    Values are rendered by SQLAlchemy's literal renderers (quotes escaped); they are validated ids,
    logins, group ids and datetimes, never free text.
    """
    return sql_text(store, check_tables([table])[0], selection(store, flt or ExportFilter(), service))


def tables(
    store: Store | None = None,
    *,
    service: Service | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    groups: str | Iterable[str] | None = None,
    cases: int | str | Iterable[int | str] | None = None,
    kind: ConversationKind | str | None = None,
    only: Iterable[str] | None = None,
    notes: bool = True,
) -> dict[str, pa.Table]:
    """The selected tables as Arrow tables (same filters and rights as ``frames``)."""
    st = _resolve(store, service)
    names = check_tables(only)
    flt = make_filter(
        st, service=service, since=since, until=until, groups=groups, cases=cases, kind=kind, notes=notes
    )
    sel = selection(st, flt, service)
    out: dict[str, pa.Table] = {}
    with closing(readers.run(st, sel, names)) as runs:
        for name, batches in runs:
            out[name] = pa.Table.from_batches(list(batches()), schema=SPECS[name].schema)
    return out


def frames(
    store: Store | None = None,
    *,
    service: Service | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    groups: str | Iterable[str] | None = None,
    cases: int | str | Iterable[int | str] | None = None,
    kind: ConversationKind | str | None = None,
    only: Iterable[str] | None = None,
    notes: bool = True,
) -> dict[str, pd.DataFrame]:
    """Exported tables as pandas DataFrames, keyed by table name in ``TABLES`` order.

    ``service=Service(store, login)`` limits the export to what that user may read (a customer: their
    company's conversations; engineers and admins: also every service case chat); ``store=`` alone
    exports everything. See the module docstring for columns and filters. Internal notes (``internal`` column)
    come only to vendor staff and the operator, and ``notes=False`` leaves them out for an export to hand on.
    """
    arrow = tables(
        store, service=service, since=since, until=until, groups=groups, cases=cases, kind=kind, only=only, notes=notes
    )
    return {name: to_frame(t, name) for name, t in arrow.items()}


def metrics(
    store: Store | None = None,
    *,
    service: Service | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    groups: str | Iterable[str] | None = None,
    cases: int | str | Iterable[int | str] | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Metrics:
    """Per-case response metrics and per day / week activity by customer group (see ``metrics.py``).

    The response clocks use ``settings`` (default: the service's, else the defaults) and are read at ``now``.
    """
    from conferencing_widgets.cases.store import status_history
    from conferencing_widgets.export.metrics import compute

    st = _resolve(store, service)
    # Internal notes are no response to the customer: the clocks and activity count what customers see.
    data = frames(st, service=service, since=since, until=until, groups=groups, cases=cases, notes=False)
    history = status_history(st, [int(c) for c in data["cases"]["id"]])
    chosen = settings or (service.settings if service is not None else None)
    return compute(data, history=history, settings=chosen, now=now)


def write(
    out_dir: str | os.PathLike[str],
    *,
    fmt: str = "parquet",
    store: Store | None = None,
    service: Service | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    groups: str | Iterable[str] | None = None,
    cases: int | str | Iterable[int | str] | None = None,
    kind: ConversationKind | str | None = None,
    only: Iterable[str] | None = None,
    notes: bool = True,
    progress: bool | None = None,
    inline_sqlite: bool = False,
) -> dict[str, int]:
    """Write one file per table (``<table>.parquet|csv|jsonl``) into ``out_dir``; returns row counts.

    Streams record batches from the store into the writer, so memory stays flat. Files appear only once
    every table is written (they are written to a temporary folder inside ``out_dir`` first). The
    progress bar shows on a terminal only (``progress=None``: when stdout is a tty).

    ``inline_sqlite=True`` reads SQLite in this process instead of a reader process, which saves its
    start-up. Only for processes that hold no other connection to the store file (the CLI): the store's
    idle pooled connections are closed first, and if one is still in use the reader process is used anyway.
    """
    writers.check_format(fmt)
    st = _resolve(store, service)
    names = check_tables(only)
    flt = make_filter(
        st, service=service, since=since, until=until, groups=groups, cases=cases, kind=kind, notes=notes
    )
    sel = selection(st, flt, service)
    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{target} is a file; --out needs a folder.")
    show = sys.stdout.isatty() if progress is None else progress
    with closing(readers.run(st, sel, names, inline_sqlite=inline_sqlite)) as runs:
        return writers.write_tables(target, fmt, runs, names, show=show, read_ahead=readers.prefetch)


def file_table(service: Service, file_id: int) -> pd.DataFrame:
    """A CSV/TSV file shared in a case (an alarm log, a spindle-load trace) as a DataFrame, if ``service``'s user
    may download it (``NotFound`` otherwise). The ``files`` table lists the ids (``media_type`` ``text/csv``).

    Date-time columns are parsed. Limits: ``CONFERENCING_TABLE_MAX_BYTES`` / ``CONFERENCING_TABLE_MAX_ROWS``
    (``LimitExceeded``); content that is not a table raises ``TableUnreadable`` (an ``InvalidInput``).
    """
    from conferencing_widgets.files.service import FileService

    return FileService(service).file_table(file_id)


def describe() -> str:
    """The exported tables and their columns as JSON text (for docs and notebooks)."""
    import json

    return json.dumps({name: SPECS[name].schema.names for name in TABLES}, indent=2)


__all__ = [
    "FORMATS",
    "TABLES",
    "ExportFilter",
    "describe",
    "file_table",
    "frames",
    "make_filter",
    "metrics",
    "parse_time",
    "read_back",
    "schema",
    "sql",
    "tables",
    "to_frame",
    "write",
]
