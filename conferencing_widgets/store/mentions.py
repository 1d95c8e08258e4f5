"""Mentions: the ``@login`` references of messages, and unread-mention counts for tiles and the inbox.

The hook for edits and deletes is ``replace_mentions(message_id, logins)``: an edit passes the new text's
members, a delete passes nothing. Deleted messages never count, whatever their rows say.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, bindparam, delete, false, func, insert, select

from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.base import StoreBase
from conferencing_widgets.store.scope import readable_condition

_MENTIONS_OF = (
    select(s.message_mentions.c.message_id, s.message_mentions.c.login)
    .where(s.message_mentions.c.message_id.in_(bindparam("ids", expanding=True)))
    .order_by(s.message_mentions.c.login)
)
"""The mentioned logins of some messages, built once (every rendered page of rows asks)."""


class MentionQueries(StoreBase):
    """Mention rows of messages."""

    def add_mentions(self, message_id: int, conversation_id: int, logins: Iterable[str]) -> None:
        """Store the mentions of a new message (call inside the post's ``atomic()`` so both commit together)."""
        rows = [
            {"message_id": message_id, "login": login, "conversation_id": conversation_id}
            for login in dict.fromkeys(logins)
        ]
        if not rows:
            return
        with self.atomic() as conn:
            conn.execute(insert(s.message_mentions), rows)

    def replace_mentions(self, message_id: int, logins: Iterable[str]) -> None:
        """The edit/delete hook: the message now mentions exactly ``logins`` (none after a delete)."""
        with self.atomic() as conn:
            cid = conn.execute(
                select(s.messages.c.conversation_id).where(s.messages.c.id == message_id)
            ).scalar_one_or_none()
            conn.execute(delete(s.message_mentions).where(s.message_mentions.c.message_id == message_id))
            if cid is not None:
                self.add_mentions(message_id, int(cid), logins)

    def mentions_of(self, message_ids: Sequence[int]) -> dict[int, list[str]]:
        """The mentioned logins of each message (messages without mentions are left out)."""
        if not message_ids:
            return {}
        out: dict[int, list[str]] = {}
        with self.reading(single=True) as conn:
            rows = conn.execute(_MENTIONS_OF, {"ids": list(message_ids)})
            for mid, login in rows:
                out.setdefault(int(mid), []).append(login)
        return out

    def unread_mentions(self, scope: ReadScope, conversation_ids: Sequence[int]) -> dict[int, int]:
        """Mentions of ``scope.login`` after its read mark, per readable conversation (those with none left out)."""
        if not conversation_ids:
            return {}
        login = scope.login
        mm, m, rm, c = s.message_mentions, s.messages, s.read_marks, s.conversations
        q = (
            select(mm.c.conversation_id, func.count())
            .select_from(
                mm.join(m, m.c.id == mm.c.message_id)
                .join(c, c.c.id == mm.c.conversation_id)
                .outerjoin(rm, and_(rm.c.login == mm.c.login, rm.c.conversation_id == mm.c.conversation_id))
            )
            .where(
                mm.c.login == login,
                mm.c.conversation_id.in_(list(conversation_ids)),
                mm.c.message_id > func.coalesce(rm.c.last_read_id, 0),
                m.c.deleted == false(),
                readable_condition(scope),
            )
            .group_by(mm.c.conversation_id)
        )
        with self.reading() as conn:
            return {int(cid): int(n) for cid, n in conn.execute(q)}

    def mentioned_conversations(self, scope: ReadScope, *, limit: int = 50) -> list[int]:
        """Readable conversations that mention ``scope.login``, most recently mentioned first."""
        mm, c = s.message_mentions, s.conversations
        q = (
            select(mm.c.conversation_id, func.max(mm.c.message_id).label("last"))
            .join(c, c.c.id == mm.c.conversation_id)
            .join(s.messages, s.messages.c.id == mm.c.message_id)
            .where(mm.c.login == scope.login, readable_condition(scope), s.messages.c.deleted == false())
            .group_by(mm.c.conversation_id)
            .order_by(func.max(mm.c.message_id).desc())
            .limit(limit)
        )
        with self.reading() as conn:
            return [int(r.conversation_id) for r in conn.execute(q)]
