"""Queries behind "seen by": the read marks of a conversation, without the users who turned receipts off.

Who may see them is decided in ``chat/receipts.py``; this module only leaves out opted-out users, in the query,
so their marks never leave the store for this purpose.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, select

from conferencing_widgets.store import schema as s
from conferencing_widgets.store.base import StoreBase


def latest_message(store: StoreBase, conversation_id: int) -> tuple[int, str] | None:
    """The id and author of a conversation's newest message (None when it has none)."""
    c, m = s.conversations, s.messages
    with store.reading() as conn:
        row = conn.execute(
            select(m.c.id, m.c.author)
            .select_from(c.join(m, m.c.id == c.c.last_message_id))
            .where(c.c.id == int(conversation_id))
        ).first()
    return None if row is None else (int(row.id), str(row.author))


def shared_read_marks(store: StoreBase, conversation_id: int, *, at_least: int) -> dict[str, int]:
    """``{login: last_read_id}`` of those who read up to ``at_least`` or further and share their receipts."""
    rm, p = s.read_marks, s.user_preferences
    opted_out = exists().where(and_(p.c.login == rm.c.login, p.c.key == "receipts", p.c.value == "off"))
    with store.reading() as conn:
        rows = conn.execute(
            select(rm.c.login, rm.c.last_read_id).where(
                rm.c.conversation_id == int(conversation_id), rm.c.last_read_id >= int(at_least), ~opted_out
            )
        ).all()
    return {str(login): int(mark) for login, mark in rows}
