"""Queries of ``drafts``: one user's unsent text per conversation (rights are checked in ``chat/drafts.py``)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from conferencing_widgets.store import schema as s
from conferencing_widgets.store.base import StoreBase, utcnow


def draft(store: StoreBase, login: str, conversation_id: int) -> str:
    """``login``'s draft in a conversation ("" when there is none)."""
    d = s.drafts
    with store.reading() as conn:
        body = conn.execute(
            select(d.c.body).where(d.c.login == login, d.c.conversation_id == int(conversation_id))
        ).scalar_one_or_none()
    return "" if body is None else str(body)


def save_draft(store: StoreBase, login: str, conversation_id: int, body: str) -> None:
    """Keep ``body`` as ``login``'s draft in a conversation; an empty body removes the draft."""
    d = s.drafts
    mine = (d.c.login == login) & (d.c.conversation_id == int(conversation_id))
    with store.atomic() as conn:
        if not body:
            conn.execute(delete(d).where(mine))
        elif conn.execute(update(d).where(mine).values(body=body, updated_at=utcnow())).rowcount == 0:
            conn.execute(
                insert(d).values(login=login, conversation_id=int(conversation_id), body=body, updated_at=utcnow())
            )
