"""Export for analysts: pandas DataFrames, Parquet, CSV and JSON Lines, plus per-case metrics.

The store is read through ADBC (``adbc-driver-sqlite`` / ``adbc-driver-postgresql``) straight into
Arrow record batches, never row by row: the export streams batch by batch into the file writers, so
memory stays flat however big the store is (STACK_NOTES, "Export"). SQLite is read by a short-lived
child process (the driver's own SQLite must not share a process with the store's; see "reading" below).

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
  edited_at, deleted.
- ``files``: id, conversation_id, uploader, name, media_type, size, sha256, created_at.
- ``whiteboards``: id, conversation_id, title, created_by, created_at, background_attachment_id, strokes
  (strokes not erased).
- ``calls``: id, conversation_id, provider, started_by, started_at, ended_at, duration_seconds (null
  while a call is running), participants (how many joined). Room names are secrets and left out.
- ``cases``: id, number, title, group, machine_model, machine_serial, status, created_at, technicians
  (assigned logins, comma-separated, sorted).

Filters: a date range (``since`` inclusive, ``until`` exclusive; a date-only ``until`` includes that whole
day) applies to each record's own time: messages, files, whiteboards and calls by when they were
posted, drawn or started; conversations by overlap (created before ``until`` with activity at or after
``since``); members follow their conversations. ``groups``, ``cases`` and ``kind`` select conversations.
Cases: those matching ``groups``/``cases`` that the user may see; with a date range, those created in it
or with a selected conversation.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import struct
import sys
import tempfile
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select
from sqlalchemy.orm import aliased

from conferencing_widgets.core.errors import ConferencingError, InvalidInput, NotFound, StorageError
from conferencing_widgets.core.model import CaseStatus, ConversationKind, MessageKind, Role
from conferencing_widgets.store import Store
from conferencing_widgets.store import schema as s

if TYPE_CHECKING:
    import pandas as pd

    from conferencing_widgets.chat.service import Service
    from conferencing_widgets.export.metrics import Metrics

TABLES: tuple[str, ...] = ("conversations", "members", "messages", "files", "whiteboards", "calls", "cases")
"""Every exported table, in export order."""

FORMATS: tuple[str, ...] = ("parquet", "csv", "jsonl")
"""File formats ``write`` and ``conferencing export`` produce."""

SQLITE_BATCH_ROWS = 65_536
"""Rows per Arrow batch from SQLite. Also how many rows its driver looks at to infer column types."""

TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
INT = pa.int64()
BOOL = pa.bool_()
FLOAT = pa.float64()

# Fixed categories (plus anything unexpected found in the data, so no value is ever lost).
_KNOWN_CATEGORIES: dict[str, list[str]] = {
    "kind:conversations": [k.value for k in ConversationKind],
    "kind:messages": [k.value for k in MessageKind],
    "role": [r.value for r in Role],
    "author_role": [r.value for r in Role],
    "status": [c.value for c in CaseStatus],
}


@dataclass(frozen=True, kw_only=True)
class ExportFilter:
    """A validated selection: what to export, before the user's access rights are applied."""

    since: datetime | None = None
    """Earliest time included (UTC)."""
    until: datetime | None = None
    """First time excluded (UTC)."""
    groups: tuple[str, ...] = ()
    """Customer groups (conversation groups); empty means all."""
    case_ids: tuple[int, ...] = ()
    """Service case ids; empty means all."""
    kind: ConversationKind | None = None
    """Only direct or only service case conversations."""

    @property
    def has_dates(self) -> bool:
        """Whether a date range is set."""
        return self.since is not None or self.until is not None


@dataclass(frozen=True, kw_only=True)
class _Table:
    """How one exported table is read: its SQL, its Arrow schema and its categorical columns."""

    name: str
    schema: pa.Schema
    query: Callable[[_Selection], Select[Any]]
    categories: tuple[str, ...] = ()
    # SQLite only: text columns selected as COALESCE(x, '') because its driver infers types from the
    # first rows and fails when an all-NULL start (typed int64) meets text later; '' is turned back to null.
    empty_is_null: tuple[str, ...] = ()
    derive: Callable[[dict[str, pa.Array], _Lookups], dict[str, pa.Array]] | None = None


@dataclass(frozen=True, kw_only=True)
class _Selection:
    """Filter plus access rights, as SQL pieces every table query builds on."""

    backend: str
    flt: ExportFilter
    visible_conversations: Select[Any] | None
    visible_cases: Select[Any] | None
    conversation_ids: Select[Any] | None = field(default=None)

    def in_range(self, column: Any) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.flt.since is not None:
            out.append(column >= self.flt.since)
        if self.flt.until is not None:
            out.append(column < self.flt.until)
        return out

    def of_selected(self, column: Any) -> list[ColumnElement[bool]]:
        return [] if self.conversation_ids is None else [column.in_(self.conversation_ids)]

    def nullable_text(self, expr: Any) -> Any:
        return func.coalesce(expr, "") if self.backend == "sqlite" else expr


# -- filters ----------------------------------------------------------------------------------------

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(value: str | date | datetime | None, *, end: bool = False) -> datetime | None:
    """A UTC datetime from ISO text, a date or a datetime (naive means UTC).

    With ``end=True`` a date without a time means the end of that day (the next midnight), so
    ``until=2026-03-31`` includes March 31.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_ONLY.match(text):
                value = date.fromisoformat(text)
            else:
                value = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        except ValueError as exc:
            raise InvalidInput(
                f"Not a date or time: {text!r}. Use ISO format such as 2026-03-01 or 2026-03-01T12:00Z."
            ) from exc
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        start = datetime.combine(value, time(0), tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    raise InvalidInput(f"Not a date or time: {value!r}. Use ISO format such as 2026-03-01.")


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str | int):
        return (value,)
    return tuple(value)


def make_filter(
    store: Store,
    *,
    service: Service | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    groups: str | Iterable[str] | None = None,
    cases: int | str | Iterable[int | str] | None = None,
    kind: ConversationKind | str | None = None,
) -> ExportFilter:
    """Validate and resolve the filter options (case numbers to ids, group ids checked).

    Unknown groups and cases raise ``NotFound``; with a ``service``, so do cases that user may not see.
    """
    start, stop = parse_time(since), parse_time(until, end=True)
    if start is not None and stop is not None and start >= stop:
        raise InvalidInput(f"The date range is empty: since {start:%Y-%m-%d %H:%M} is not before until.")
    group_ids = tuple(dict.fromkeys(str(g).strip() for g in _as_tuple(groups)))
    for gid in group_ids:
        store.get_group(gid)
    case_ids: list[int] = []
    for ref in _as_tuple(cases):
        text = str(ref).strip()
        case = store.get_case(int(text)) if text.isdigit() else store.get_case_by_number(text)
        if service is not None:
            case = service.case(case.id)
        case_ids.append(case.id)
    conv_kind: ConversationKind | None = None
    if kind not in (None, ""):
        try:
            conv_kind = ConversationKind(kind)
        except ValueError as exc:
            raise InvalidInput(f"Unknown conversation kind {kind!r}: use 'direct' or 'service_case'.") from exc
    return ExportFilter(
        since=start, until=stop, groups=group_ids, case_ids=tuple(dict.fromkeys(case_ids)), kind=conv_kind
    )


def _selection(store: Store, flt: ExportFilter, service: Service | None) -> _Selection:
    vis_conv = service.exportable_conversations_query() if service is not None else None
    vis_cases = service.visible_cases_query() if service is not None else None
    # Aliases keep the subqueries from auto-correlating with the tables of the outer queries.
    vis_conv = None if vis_conv is None else vis_conv.correlate(None)
    vis_cases = None if vis_cases is None else vis_cases.correlate(None)
    sel = _Selection(backend=store.backend, flt=flt, visible_conversations=vis_conv, visible_cases=vis_cases)
    c = aliased(s.conversations, name="sel_c")
    sc = aliased(s.service_cases, name="sel_sc")
    creator = aliased(s.users, name="sel_u")
    conds: list[ColumnElement[bool]] = []
    if vis_conv is not None:
        conds.append(c.c.id.in_(vis_conv))
    if flt.kind is not None:
        conds.append(c.c.kind == flt.kind.value)
    if flt.case_ids:
        conds.append(c.c.case_id.in_(flt.case_ids))
    if flt.since is not None:
        conds.append(c.c.last_activity_at >= flt.since)
    if flt.until is not None:
        conds.append(c.c.created_at < flt.until)
    if flt.groups:
        conds.append(func.coalesce(sc.c.group_id, creator.c.group_id).in_(flt.groups))
    if not conds:
        return sel  # the operator's full export: no IN (...) on the big tables
    ids = (
        select(c.c.id)
        .select_from(c.outerjoin(sc, sc.c.id == c.c.case_id).join(creator, creator.c.login == c.c.created_by))
        .where(*conds)
        .correlate(None)
    )
    return _Selection(
        backend=sel.backend, flt=flt, visible_conversations=vis_conv, visible_cases=vis_cases, conversation_ids=ids
    )


# -- table queries ------------------------------------------------------------------------------------


def _q_conversations(sel: _Selection) -> Select[Any]:
    c, sc, u = s.conversations, s.service_cases, s.users
    return (
        select(
            c.c.id,
            c.c.kind,
            c.c.title,
            c.c.case_id,
            sel.nullable_text(sc.c.number).label("case_number"),
            func.coalesce(sc.c.group_id, u.c.group_id).label("group"),
            c.c.created_by,
            c.c.created_at,
            c.c.last_activity_at,
        )
        .select_from(c.outerjoin(sc, sc.c.id == c.c.case_id).join(u, u.c.login == c.c.created_by))
        .where(*sel.of_selected(c.c.id))
        .order_by(c.c.id)
    )


def _q_members(sel: _Selection) -> Select[Any]:
    m, u = s.members, s.users
    return (
        select(
            m.c.conversation_id,
            m.c.login,
            u.c.display_name,
            u.c.group_id.label("group"),
            u.c.role,
            m.c.joined_at,
        )
        .select_from(m.join(u, u.c.login == m.c.login))
        .where(*sel.of_selected(m.c.conversation_id))
        .order_by(m.c.conversation_id, m.c.login)
    )


def _q_messages(sel: _Selection) -> Select[Any]:
    m = s.messages
    # author_group and author_role are looked up in Arrow (_derive_messages): a SQL join with users
    # made the SQLite read a third slower.
    return (
        select(
            m.c.id,
            m.c.conversation_id,
            m.c.author,
            m.c.created_at,
            m.c.kind,
            m.c.body,
            m.c.ref_id,
            m.c.edited_at,
            m.c.deleted,
        )
        .where(*sel.of_selected(m.c.conversation_id), *sel.in_range(m.c.created_at))
        .order_by(m.c.id)
    )


USERS_SCHEMA = pa.schema([("login", STR), ("group_id", STR), ("role", STR)])


class _Lookups:
    """Small dimension tables read once per export (first, in the same snapshot) and joined in Arrow."""

    def __init__(self) -> None:
        self._users: dict[str, pa.Array] | None = None

    def load_users(self, batches: Iterable[pa.RecordBatch]) -> None:
        table = pa.Table.from_batches(list(batches), schema=USERS_SCHEMA)
        self._users = {k: table[k].combine_chunks() for k in USERS_SCHEMA.names}

    def users(self) -> dict[str, pa.Array]:
        if self._users is None:
            raise RuntimeError("users were not read before messages")  # a bug in the job order, not user input
        return self._users


def _derive_messages(cols: dict[str, pa.Array], lookups: _Lookups) -> dict[str, pa.Array]:
    users = lookups.users()
    idx = pc.index_in(cols["author"], value_set=users["login"])
    return {"author_group": users["group_id"].take(idx), "author_role": users["role"].take(idx)}


def _q_files(sel: _Selection) -> Select[Any]:
    a = s.attachments
    return (
        select(
            a.c.id, a.c.conversation_id, a.c.uploader, a.c.name, a.c.media_type, a.c.size, a.c.sha256, a.c.created_at
        )
        .where(*sel.of_selected(a.c.conversation_id), *sel.in_range(a.c.created_at))
        .order_by(a.c.id)
    )


def _q_whiteboards(sel: _Selection) -> Select[Any]:
    w, st = s.whiteboards, s.strokes
    strokes = (
        select(func.count()).select_from(st).where(st.c.whiteboard_id == w.c.id, st.c.deleted == False)  # noqa: E712
    ).scalar_subquery()
    return (
        select(
            w.c.id,
            w.c.conversation_id,
            w.c.title,
            w.c.created_by,
            w.c.created_at,
            w.c.background_attachment_id,
            strokes.label("strokes"),
        )
        .where(*sel.of_selected(w.c.conversation_id), *sel.in_range(w.c.created_at))
        .order_by(w.c.id)
    )


def _q_calls(sel: _Selection) -> Select[Any]:
    k, cp = s.calls, s.call_participants
    joined = select(func.count()).select_from(cp).where(cp.c.call_id == k.c.id).scalar_subquery()
    return (
        select(
            k.c.id,
            k.c.conversation_id,
            k.c.provider,
            k.c.started_by,
            k.c.started_at,
            k.c.ended_at,
            joined.label("participants"),
        )
        .where(*sel.of_selected(k.c.conversation_id), *sel.in_range(k.c.started_at))
        .order_by(k.c.id)
    )


def _derive_calls(cols: dict[str, pa.Array], _lookups: _Lookups) -> dict[str, pa.Array]:
    micros = pc.subtract(cols["ended_at"].cast(INT), cols["started_at"].cast(INT))
    return {"duration_seconds": pc.divide(micros.cast(FLOAT), 1_000_000.0)}


def _derive_cases(cols: dict[str, pa.Array], _lookups: _Lookups) -> dict[str, pa.Array]:
    logins = cols["technicians"].to_pylist()  # one short string per case: a small table
    return {"technicians": pa.array([",".join(sorted(x.split(","))) if x else "" for x in logins], STR)}


def _q_cases(sel: _Selection) -> Select[Any]:
    sc, ct = s.service_cases, s.case_technicians
    # Aggregate order is not guaranteed on SQLite (no ORDER BY inside aggregates before 3.44): sorted after.
    technicians = select(func.aggregate_strings(ct.c.login, ",")).where(ct.c.case_id == sc.c.id).scalar_subquery()
    conds: list[ColumnElement[bool]] = []
    flt = sel.flt
    if sel.visible_cases is not None:
        conds.append(sc.c.id.in_(sel.visible_cases))
    if flt.groups:
        conds.append(sc.c.group_id.in_(flt.groups))
    if flt.case_ids:
        conds.append(sc.c.id.in_(flt.case_ids))
    if flt.has_dates:
        c = aliased(s.conversations, name="case_c")
        chats = select(c.c.case_id).where(c.c.case_id.is_not(None)).correlate(None)
        if sel.conversation_ids is not None:
            chats = chats.where(c.c.id.in_(sel.conversation_ids))
        conds.append(or_(and_(*sel.in_range(sc.c.created_at)), sc.c.id.in_(chats)))
    return (
        select(
            sc.c.id,
            sc.c.number,
            sc.c.title,
            sc.c.group_id.label("group"),
            sc.c.machine_model,
            sc.c.machine_serial,
            sc.c.status,
            sc.c.created_at,
            func.coalesce(technicians, literal("")).label("technicians"),
        )
        .where(*conds)
        .order_by(sc.c.id)
    )


SPECS: dict[str, _Table] = {
    t.name: t
    for t in (
        _Table(
            name="conversations",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("kind", STR),
                    ("title", STR),
                    ("case_id", INT),
                    ("case_number", STR),
                    ("group", STR),
                    ("created_by", STR),
                    ("created_at", TS),
                    ("last_activity_at", TS),
                ]
            ),
            query=_q_conversations,
            categories=("kind", "group"),
            empty_is_null=("case_number",),
        ),
        _Table(
            name="members",
            schema=pa.schema(
                [
                    ("conversation_id", INT),
                    ("login", STR),
                    ("display_name", STR),
                    ("group", STR),
                    ("role", STR),
                    ("joined_at", TS),
                ]
            ),
            query=_q_members,
            categories=("group", "role"),
        ),
        _Table(
            name="messages",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("conversation_id", INT),
                    ("author", STR),
                    ("author_group", STR),
                    ("author_role", STR),
                    ("created_at", TS),
                    ("kind", STR),
                    ("body", STR),
                    ("ref_id", INT),
                    ("edited_at", TS),
                    ("deleted", BOOL),
                ]
            ),
            query=_q_messages,
            categories=("author_group", "author_role", "kind"),
            derive=_derive_messages,
        ),
        _Table(
            name="files",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("conversation_id", INT),
                    ("uploader", STR),
                    ("name", STR),
                    ("media_type", STR),
                    ("size", INT),
                    ("sha256", STR),
                    ("created_at", TS),
                ]
            ),
            query=_q_files,
        ),
        _Table(
            name="whiteboards",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("conversation_id", INT),
                    ("title", STR),
                    ("created_by", STR),
                    ("created_at", TS),
                    ("background_attachment_id", INT),
                    ("strokes", INT),
                ]
            ),
            query=_q_whiteboards,
        ),
        _Table(
            name="calls",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("conversation_id", INT),
                    ("provider", STR),
                    ("started_by", STR),
                    ("started_at", TS),
                    ("ended_at", TS),
                    ("duration_seconds", FLOAT),
                    ("participants", INT),
                ]
            ),
            query=_q_calls,
            derive=_derive_calls,
        ),
        _Table(
            name="cases",
            schema=pa.schema(
                [
                    ("id", INT),
                    ("number", STR),
                    ("title", STR),
                    ("group", STR),
                    ("machine_model", STR),
                    ("machine_serial", STR),
                    ("status", STR),
                    ("created_at", TS),
                    ("technicians", STR),
                ]
            ),
            query=_q_cases,
            categories=("group", "status"),
            derive=_derive_cases,
        ),
    )
}


def schema(table: str) -> pa.Schema:
    """The Arrow schema of one exported table (the Parquet files carry exactly this)."""
    return SPECS[_check_tables([table])[0]].schema


def _check_tables(tables: Iterable[str] | None) -> list[str]:
    if tables is None:
        return list(TABLES)
    chosen = list(dict.fromkeys(_as_tuple(tables)))
    unknown = [t for t in chosen if t not in SPECS]
    if unknown:
        raise InvalidInput(f"Unknown table(s): {', '.join(map(str, unknown))}. Choose from {', '.join(TABLES)}.")
    return chosen


def sql(store: Store, table: str, flt: ExportFilter | None = None, *, service: Service | None = None) -> str:
    """The SQL text that reads ``table`` (values inlined), for the store's dialect.

    Values are rendered by SQLAlchemy's literal renderers (quotes escaped); they are validated ids,
    logins, group ids and datetimes, never free text.
    """
    spec = SPECS[_check_tables([table])[0]]
    stmt = spec.query(_selection(store, flt or ExportFilter(), service))
    return str(stmt.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))


# -- reading through ADBC --------------------------------------------------------------------------
#
# PostgreSQL is read in-process. SQLite is read by a small child process: the ADBC SQLite driver links
# its own copy of SQLite, and two SQLite libraries in one process break each other's POSIX locks. When
# the ADBC connection closed, it found no other connection (locks of the same process never conflict),
# checkpointed and deleted the -wal and -shm files under the store's own live connections, whose later
# writes then went to a deleted file (reproduced: "disk I/O error", lost rows). The child opens the file
# read-only and streams Arrow batches back through a pipe, which also overlaps reading with writing.


@dataclass(frozen=True, kw_only=True)
class _Job:
    """One query of an export run: its SQL and the Arrow types of its columns."""

    name: str
    sql: str
    schema: pa.Schema
    empty_is_null: tuple[str, ...] = ()


def _jobs(store: Store, sel: _Selection, names: Sequence[str]) -> list[_Job]:
    """The queries for ``names``, in order; the users lookup first when messages need it."""
    dialect = store.engine.dialect
    jobs: list[_Job] = []
    if "messages" in names:
        u = s.users
        users = select(u.c.login, u.c.group_id, u.c.role).order_by(u.c.login)
        jobs.append(_Job(name="users", sql=str(users.compile(dialect=dialect)), schema=USERS_SCHEMA))
    for name in names:
        spec = SPECS[name]
        stmt = spec.query(sel)
        columns = [c.name for c in stmt.selected_columns]
        jobs.append(
            _Job(
                name=name,
                sql=str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True})),
                schema=pa.schema([spec.schema.field(c) for c in columns]),
                empty_is_null=spec.empty_is_null if store.backend == "sqlite" else (),
            )
        )
    return jobs


def _cast_batch(batch: pa.RecordBatch, schema: pa.Schema, empty_is_null: tuple[str, ...]) -> pa.RecordBatch:
    """A driver batch in the job's types (SQLite gives int64 for timestamps and booleans).

    Self-contained (pyarrow only): the SQLite reader process runs this very function.
    """
    import pyarrow.compute as pc

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


def _worker_main() -> None:
    """The SQLite reader process: jobs as JSON on stdin, framed Arrow batches on stdout.

    Frames are a tag byte and a little-endian u64 length: ``B`` a serialized record batch, ``E`` end of
    one job, ``X`` an error message. One read-only connection, one transaction: one snapshot for all.
    """
    import base64
    import json
    import struct
    import sys

    import adbc_driver_manager
    import adbc_driver_sqlite

    out = sys.stdout.buffer

    def send(tag: bytes, payload: Any = b"") -> None:
        view = memoryview(payload)
        out.write(struct.pack("<cQ", tag, view.nbytes))
        out.write(view)

    try:
        request = json.loads(sys.stdin.buffer.read())
        db = adbc_driver_sqlite.connect(request["uri"])
        conn = adbc_driver_manager.AdbcConnection(db)
        try:
            conn.set_autocommit(False)
            for job in request["jobs"]:
                schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(job["schema"])))
                stmt = adbc_driver_manager.AdbcStatement(conn)
                try:
                    stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(request["batch_rows"])})
                    stmt.set_sql_query(job["sql"])
                    handle, _ = stmt.execute_query()
                    for batch in pa.RecordBatchReader._import_from_c(handle.address):
                        if batch.num_rows:
                            send(b"B", _cast_batch(batch, schema, tuple(job["empty_is_null"])).serialize())
                finally:
                    stmt.close()
                send(b"E")
        finally:
            conn.rollback()
            conn.close()
            db.close()
    except BrokenPipeError:
        return  # the parent stopped reading (it failed or was interrupted)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises StorageError
        send(b"X", str(exc).encode("utf-8", "replace")[:4000])
    out.flush()


def _worker_source() -> str:
    import inspect

    return "\n".join(
        [
            "from __future__ import annotations",
            "import pyarrow as pa",
            inspect.getsource(_cast_batch),
            inspect.getsource(_worker_main),
            "_worker_main()",
        ]
    )


def _sqlite_uri(store: Store) -> str:
    """A read-only URI for the store's file (read-only also means the reader never deletes the -wal)."""
    path = store.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise InvalidInput("An in-memory SQLite store cannot be exported; use a file store.")
    file = Path(path).resolve()
    if not file.is_file():
        raise NotFound(f"No SQLite store at {path}. Check CONFERENCING_STORE or --store.")
    return f"file:{quote(str(file))}?mode=ro"


class _SqliteSource:
    """Streams the jobs' batches from the reader process, in job order."""

    def __init__(self, store: Store, jobs: Sequence[_Job]) -> None:
        uri = _sqlite_uri(store)
        import base64
        import subprocess

        request = {
            "uri": uri,
            "batch_rows": SQLITE_BATCH_ROWS,
            "jobs": [
                {
                    "sql": j.sql,
                    "schema": base64.b64encode(j.schema.serialize().to_pybytes()).decode("ascii"),
                    "empty_is_null": list(j.empty_is_null),
                }
                for j in jobs
            ],
        }
        self._jobs = list(jobs)
        self._stderr = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _worker_source()],
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
            raise StorageError(f"The export reader did not start: {exc}") from exc

    def _read(self, n: int, job: _Job) -> bytes:
        data = self._out.read(n) if n else b""
        if len(data) != n:
            self._proc.wait()
            self._stderr.seek(0)
            tail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-3:]
            raise StorageError(f"Reading {job.name} failed: the reader process stopped. {' '.join(tail)}".strip())
        return data

    def batches(self, job: _Job) -> Iterator[pa.RecordBatch]:
        if not self._jobs or self._jobs[0] is not job:
            raise RuntimeError("export jobs read out of order")  # a bug, not user input
        self._jobs.pop(0)
        while True:
            tag, size = struct.unpack("<cQ", self._read(9, job))
            payload = self._read(size, job)
            if tag == b"B":
                yield pa.ipc.read_record_batch(pa.py_buffer(payload), job.schema)
            elif tag == b"E":
                return
            else:
                raise StorageError(f"Reading {job.name} failed: {payload.decode('utf-8', 'replace')}")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._out.close()
        self._stderr.close()


class _InProcessSource:
    """One in-process ADBC connection, one read-only transaction (repeatable read on PostgreSQL).

    Always used for PostgreSQL. For SQLite only when this process holds no other connection to the file
    (``inline_sqlite``: the CLI), since the driver's own SQLite would break that connection's locks.
    """

    def __init__(self, store: Store) -> None:
        import adbc_driver_manager

        self._manager = adbc_driver_manager
        self._sqlite = store.backend == "sqlite"
        if self._sqlite:
            import adbc_driver_sqlite

            self._db = adbc_driver_sqlite.connect(_sqlite_uri(store))
        else:
            import adbc_driver_postgresql

            uri = store.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._db = adbc_driver_postgresql.connect(uri)
        self._conn = adbc_driver_manager.AdbcConnection(self._db)
        self._conn.set_autocommit(False)
        if not self._sqlite:
            stmt = adbc_driver_manager.AdbcStatement(self._conn)
            try:
                stmt.set_sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                stmt.execute_update()
            finally:
                stmt.close()

    def batches(self, job: _Job) -> Iterator[pa.RecordBatch]:
        stmt = self._manager.AdbcStatement(self._conn)
        try:
            if self._sqlite:
                stmt.set_options(**{"adbc.sqlite.query.batch_rows": str(SQLITE_BATCH_ROWS)})
            stmt.set_sql_query(job.sql)
            handle, _ = stmt.execute_query()
            for batch in pa.RecordBatchReader._import_from_c(handle.address):
                if batch.num_rows:
                    yield _cast_batch(batch, job.schema, job.empty_is_null)
        finally:
            stmt.close()

    def close(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._conn.close()
            self._db.close()


_Source = _SqliteSource | _InProcessSource


def _no_other_sqlite_connection(store: Store) -> bool:
    """True when nothing in this process has the store file open (checked in /proc/self/fd, Linux).

    The store's own idle pooled connections are closed first. Any other open descriptor on the file or its
    -wal/-shm (another Store, a test fixture, a caller embedding the CLI) means: use the reader process.
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
def _source(store: Store, jobs: Sequence[_Job], *, inline_sqlite: bool = False) -> Iterator[_Source]:
    """The reader for these jobs: one snapshot for all of them."""
    try:
        src: _Source
        if store.backend != "sqlite":
            src = _InProcessSource(store)
        elif inline_sqlite and _no_other_sqlite_connection(store):
            _sqlite_uri(store)  # the same checks as the reader process
            src = _InProcessSource(store)
        else:
            src = _SqliteSource(store, jobs)
    except ConferencingError:
        raise
    except Exception as exc:  # noqa: BLE001 - the ADBC drivers raise their own error types
        raise StorageError(f"Cannot open the store for export: {exc}. Check the store URL.") from exc
    try:
        yield src
    finally:
        src.close()


def _batches(src: _Source, job: _Job, lookups: _Lookups) -> Iterator[pa.RecordBatch]:
    """The rows of one job as batches in its table's full schema (derived columns added)."""
    spec = SPECS[job.name]
    try:
        for batch in src.batches(job):
            cols = {name: batch.column(name) for name in batch.schema.names}
            if spec.derive is not None:
                cols.update(spec.derive(cols, lookups))
            yield pa.RecordBatch.from_arrays([cols[f.name] for f in spec.schema], schema=spec.schema)
    except ConferencingError:
        raise
    except Exception as exc:  # noqa: BLE001 - driver errors become one typed error
        raise StorageError(f"Reading {job.name} failed: {exc}") from exc


def _run(
    store: Store, sel: _Selection, names: Sequence[str], *, inline_sqlite: bool = False
) -> Generator[tuple[str, Callable[[], Iterator[pa.RecordBatch]]], None, None]:
    """For each table in order: its name and a function returning its batches (consume before the next)."""
    jobs = _jobs(store, sel, names)
    lookups = _Lookups()
    with _source(store, jobs, inline_sqlite=inline_sqlite) as src:
        for job in jobs:
            if job.name == "users":
                try:
                    lookups.load_users(src.batches(job))
                except ConferencingError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    raise StorageError(f"Reading users failed: {exc}") from exc
                continue
            yield job.name, lambda job=job: _batches(src, job, lookups)  # type: ignore[misc]


def _prefetch(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
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


def _resolve(store: Store | None, service: Service | None) -> Store:
    if service is not None:
        if store is not None and store is not service.store:
            raise InvalidInput("Pass either a store or a service, not both.")
        return service.store
    if store is None:
        raise InvalidInput("Pass store=... (everything, for operators) or service=... (what one user may read).")
    return store


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
) -> dict[str, pa.Table]:
    """The selected tables as Arrow tables (same filters and rights as ``frames``)."""
    st = _resolve(store, service)
    names = _check_tables(only)
    flt = make_filter(st, service=service, since=since, until=until, groups=groups, cases=cases, kind=kind)
    sel = _selection(st, flt, service)
    out: dict[str, pa.Table] = {}
    with closing(_run(st, sel, names)) as runs:
        for name, batches in runs:
            out[name] = pa.Table.from_batches(list(batches()), schema=SPECS[name].schema)
    return out


# -- pandas ------------------------------------------------------------------------------------------------


def _pandas_types() -> Callable[[pa.DataType], Any]:
    import pandas as pd

    mapping = {
        STR: pd.StringDtype("pyarrow"),
        INT: pd.Int64Dtype(),
        BOOL: pd.BooleanDtype(),
        FLOAT: pd.Float64Dtype(),
    }
    return mapping.get


def to_frame(table: pa.Table, name: str) -> pd.DataFrame:
    """One exported Arrow table as a DataFrame with the documented dtypes."""
    import pandas as pd

    df = table.to_pandas(types_mapper=_pandas_types())
    for col in SPECS[name].categories:
        known = _KNOWN_CATEGORIES.get(f"{col}:{name}", _KNOWN_CATEGORIES.get(col, []))
        seen = sorted(set(df[col].dropna()) - set(known))
        cats = pd.Index(known + seen, dtype=pd.StringDtype("pyarrow"))
        df[col] = df[col].astype(pd.CategoricalDtype(categories=cats))
    return df


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
) -> dict[str, pd.DataFrame]:
    """Exported tables as pandas DataFrames, keyed by table name in ``TABLES`` order.

    ``service=Service(store, login)`` limits the export to what that user may read (a customer: their
    company's conversations; engineers and admins: also every service case chat); ``store=`` alone
    exports everything. See the module docstring for columns and filters.
    """
    arrow = tables(store, service=service, since=since, until=until, groups=groups, cases=cases, kind=kind, only=only)
    return {name: to_frame(t, name) for name, t in arrow.items()}


def metrics(
    store: Store | None = None,
    *,
    service: Service | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    groups: str | Iterable[str] | None = None,
    cases: int | str | Iterable[int | str] | None = None,
) -> Metrics:
    """Per-case response metrics and per day / week activity by customer group (see ``metrics.py``)."""
    from conferencing_widgets.export.metrics import compute

    data = frames(store, service=service, since=since, until=until, groups=groups, cases=cases)
    return compute(data)


# -- files ---------------------------------------------------------------------------------------------------


def _write_parquet(path: Path, spec: _Table, batches: Iterator[pa.RecordBatch], tick: Callable[[int], None]) -> int:
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetWriter(path, spec.schema, compression="snappy") as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
            tick(batch.num_rows)
    return rows


def _write_csv(path: Path, spec: _Table, batches: Iterator[pa.RecordBatch], tick: Callable[[int], None]) -> int:
    import pyarrow.csv as pcsv

    rows = 0
    with pcsv.CSVWriter(path, spec.schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
            tick(batch.num_rows)
    return rows


def _write_jsonl(path: Path, spec: _Table, batches: Iterator[pa.RecordBatch], tick: Callable[[int], None]) -> int:
    rows = 0
    mapper = _pandas_types()
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for batch in batches:
            df = batch.to_pandas(types_mapper=mapper)
            text = df.to_json(orient="records", lines=True, date_format="iso", date_unit="us", force_ascii=False)
            out.write(text if text.endswith("\n") else text + "\n")
            rows += batch.num_rows
            tick(batch.num_rows)
    return rows


_WRITERS = {"parquet": _write_parquet, "csv": _write_csv, "jsonl": _write_jsonl}


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
    if fmt not in _WRITERS:
        raise InvalidInput(f"Unknown format {fmt!r}: use {', '.join(FORMATS)}.")
    st = _resolve(store, service)
    names = _check_tables(only)
    flt = make_filter(st, service=service, since=since, until=until, groups=groups, cases=cases, kind=kind)
    sel = _selection(st, flt, service)
    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{target} is a file; --out needs a folder.")
    show = sys.stdout.isatty() if progress is None else progress
    counts: dict[str, int] = {}
    runs = _run(st, sel, names, inline_sqlite=inline_sqlite)
    staging: Path | None = None
    bar = _progress_bar(len(names), show)
    try:
        for name, batches in runs:
            if staging is None:  # created only once the store answered
                target.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=".export-", dir=target))
            bar.set_description(name)
            done = [0]

            def tick(n: int, done: list[int] = done) -> None:
                done[0] += n
                bar.set_postfix_str(f"{done[0]:,} rows", refresh=True)

            path = staging / f"{name}.{fmt}"
            counts[name] = _WRITERS[fmt](path, SPECS[name], _prefetch(batches()), tick)
            bar.update(1)
        if staging is not None:
            for name in names:
                os.replace(staging / f"{name}.{fmt}", target / f"{name}.{fmt}")
    finally:
        bar.close()
        runs.close()
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


def describe() -> str:
    """The exported tables and their columns as JSON text (for docs and notebooks)."""
    return json.dumps({name: SPECS[name].schema.names for name in TABLES}, indent=2)


__all__ = [
    "FORMATS",
    "TABLES",
    "ExportFilter",
    "describe",
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
