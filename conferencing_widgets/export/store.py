"""The export's SQL: one query per exported table, built on the filter and the user's access rights.

Access rights arrive as SQL from the service (``Service.exportable_conversations_query`` /
``Service.visible_cases_query``, the SQL form of ``core/policy.py``). Queries are compiled with their
values inlined into ``Job`` records for the ADBC readers (``readers.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select
from sqlalchemy.orm import aliased

from conferencing_widgets.core.model import MessageKind
from conferencing_widgets.export.filters import ExportFilter
from conferencing_widgets.export.tables import SPECS, USERS_SCHEMA
from conferencing_widgets.store import Store
from conferencing_widgets.store import schema as s

if TYPE_CHECKING:
    from conferencing_widgets.chat.service import Service


@dataclass(frozen=True, kw_only=True)
class Selection:
    """Filter plus access rights, as SQL pieces every table query builds on."""

    backend: str
    flt: ExportFilter
    visible_conversations: Select[Any] | None
    visible_cases: Select[Any] | None
    conversation_ids: Select[Any] | None = field(default=None)
    notes: bool = True
    """Whether internal notes are exported (vendor staff and the operator; never customers)."""

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
        # SQLite's ADBC driver infers types from the first rows and fails when an all-NULL start (typed
        # int64) meets text later: such columns are read as '' and turned back to null (Table.empty_is_null).
        return func.coalesce(expr, "") if self.backend == "sqlite" else expr


def selection(store: Store, flt: ExportFilter, service: Service | None) -> Selection:
    """The selected conversations (filter and rights) as a subquery; none for the operator's full export."""
    vis_conv = service.exportable_conversations_query() if service is not None else None
    vis_cases = service.visible_cases_query() if service is not None else None
    # Aliases keep the subqueries from auto-correlating with the tables of the outer queries.
    vis_conv = None if vis_conv is None else vis_conv.correlate(None)
    vis_cases = None if vis_cases is None else vis_cases.correlate(None)
    notes = (service is None or service.sees_notes) and flt.notes
    sel = Selection(
        backend=store.backend, flt=flt, visible_conversations=vis_conv, visible_cases=vis_cases, notes=notes
    )
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
    return Selection(
        backend=sel.backend,
        flt=flt,
        visible_conversations=vis_conv,
        visible_cases=vis_cases,
        conversation_ids=ids,
        notes=notes,
    )


# -- one query per table ----------------------------------------------------------------------------


def _conversations(sel: Selection) -> Select[Any]:
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


def _members(sel: Selection) -> Select[Any]:
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


def _messages(sel: Selection) -> Select[Any]:
    m, r = s.messages, s.message_reactions
    # author_group and author_role are looked up in Arrow (tables._derive_messages): a SQL join with users
    # made the SQLite read a third slower. Reactions: "emoji:login" tokens separated by spaces (neither holds one).
    reactions = (
        select(func.aggregate_strings(r.c.emoji + literal(":") + r.c.login, " "))
        .where(r.c.message_id == m.c.id)
        .scalar_subquery()
    )
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
            m.c.reply_to_id,
            func.coalesce(reactions, literal("")).label("reactions"),
            _mentions_of(m.c.id),
        )
        .where(
            *sel.of_selected(m.c.conversation_id),
            *sel.in_range(m.c.created_at),
            *(() if sel.notes else (m.c.kind != MessageKind.NOTE.value,)),
        )
        .order_by(m.c.id)
    )


def _mentions_of(message_id: Any) -> Any:
    """The logins a message mentions, comma-separated ('' for none): one primary-key range per message."""
    mm = s.message_mentions
    logins = select(func.aggregate_strings(mm.c.login, ",")).where(mm.c.message_id == message_id).scalar_subquery()
    return func.coalesce(logins, "").label("mentions")


def _files(sel: Selection) -> Select[Any]:
    a = s.attachments
    return (
        select(
            a.c.id, a.c.conversation_id, a.c.uploader, a.c.name, a.c.media_type, a.c.size, a.c.sha256, a.c.created_at
        )
        .where(*sel.of_selected(a.c.conversation_id), *sel.in_range(a.c.created_at))
        .order_by(a.c.id)
    )


def _whiteboards(sel: Selection) -> Select[Any]:
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


def _calls(sel: Selection) -> Select[Any]:
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


def _cases(sel: Selection) -> Select[Any]:
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
            sc.c.priority,
            sc.c.created_at,
            func.coalesce(technicians, literal("")).label("technicians"),
        )
        .where(*conds)
        .order_by(sc.c.id)
    )


QUERIES: dict[str, Callable[[Selection], Select[Any]]] = {
    "conversations": _conversations,
    "members": _members,
    "messages": _messages,
    "files": _files,
    "whiteboards": _whiteboards,
    "calls": _calls,
    "cases": _cases,
}
"""The query that reads each exported table."""


def sql_text(store: Store, table: str, sel: Selection) -> str:
    """The SQL of ``table`` with its values inlined, in the store's dialect.

    Values are rendered by SQLAlchemy's literal renderers (quotes escaped); they are validated ids,
    logins, group ids and datetimes, never free text.
    """
    return _compiled(store, QUERIES[table](sel))


def _compiled(store: Store, stmt: Select[Any]) -> str:
    return str(stmt.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))


# -- the queries of one export run ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Job:
    """One query of an export run: its SQL and the Arrow types of its columns."""

    name: str
    sql: str
    schema: pa.Schema
    empty_is_null: tuple[str, ...] = ()


def jobs(store: Store, sel: Selection, names: Sequence[str]) -> list[Job]:
    """The queries for ``names``, in order; the users lookup first when messages need it."""
    out: list[Job] = []
    if "messages" in names:
        u = s.users
        users = select(u.c.login, u.c.group_id, u.c.role).order_by(u.c.login)
        out.append(Job(name="users", sql=_compiled(store, users), schema=USERS_SCHEMA))
    for name in names:
        spec = SPECS[name]
        stmt = QUERIES[name](sel)
        columns = [c.name for c in stmt.selected_columns]
        out.append(
            Job(
                name=name,
                sql=_compiled(store, stmt),
                schema=pa.schema([spec.schema.field(c) for c in columns]),
                empty_is_null=spec.empty_is_null if store.backend == "sqlite" else (),
            )
        )
    return out
