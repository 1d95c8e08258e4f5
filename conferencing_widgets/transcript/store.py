"""The transcript's SQL: one conversation's files, whiteboards (with their live stroke counts) and calls.

Plain records out. Messages, users, groups and cases come from the ``Store`` API itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from conferencing_widgets.store import Store
from conferencing_widgets.store import schema as s


@dataclass(frozen=True, kw_only=True)
class FileRecord:
    """A file shared in the conversation."""

    name: str
    size: int
    media_type: str
    uploader: str
    created_at: datetime


@dataclass(frozen=True, kw_only=True)
class BoardRecord:
    """A whiteboard of the conversation."""

    id: int
    title: str
    created_by: str
    created_at: datetime
    strokes: int
    """Strokes not erased."""


@dataclass(frozen=True, kw_only=True)
class CallRecord:
    """A call started in the conversation."""

    started_by: str
    started_at: datetime
    ended_at: datetime | None
    """``None`` while the call is running."""
    participants: tuple[str, ...]
    """Logins in the order they joined."""


@dataclass(frozen=True, kw_only=True)
class ConversationRecords:
    """Everything but the messages of one conversation, oldest first."""

    files: list[FileRecord]
    boards: list[BoardRecord]
    calls: list[CallRecord]


def conversation_records(store: Store, conversation_id: int) -> ConversationRecords:
    """The files, whiteboards and calls of one conversation, read in one transaction."""
    with store.reading() as conn:
        a = s.attachments
        files = [
            FileRecord(
                name=r.name, size=int(r.size), media_type=r.media_type, uploader=r.uploader, created_at=r.created_at
            )
            for r in conn.execute(select(a).where(a.c.conversation_id == conversation_id).order_by(a.c.id))
        ]
        w, st = s.whiteboards, s.strokes
        count = (
            select(func.count())
            .select_from(st)
            .where(st.c.whiteboard_id == w.c.id, st.c.deleted == False)  # noqa: E712
            .scalar_subquery()
        )
        boards = [
            BoardRecord(
                id=int(r.id), title=r.title, created_by=r.created_by, created_at=r.created_at, strokes=int(r.strokes)
            )
            for r in conn.execute(
                select(w.c.id, w.c.title, w.c.created_by, w.c.created_at, count.label("strokes"))
                .where(w.c.conversation_id == conversation_id)
                .order_by(w.c.id)
            )
        ]
        k, cp = s.calls, s.call_participants
        rows = conn.execute(select(k).where(k.c.conversation_id == conversation_id).order_by(k.c.id)).all()
        joined: dict[int, list[str]] = {}
        if rows:
            for p in conn.execute(
                select(cp.c.call_id, cp.c.login)
                .where(cp.c.call_id.in_([r.id for r in rows]))
                .order_by(cp.c.joined_at, cp.c.login)
            ):
                joined.setdefault(int(p.call_id), []).append(p.login)
        calls = [
            CallRecord(
                started_by=r.started_by,
                started_at=r.started_at,
                ended_at=r.ended_at,
                participants=tuple(joined.get(int(r.id), [])),
            )
            for r in rows
        ]
    return ConversationRecords(files=files, boards=boards, calls=calls)
