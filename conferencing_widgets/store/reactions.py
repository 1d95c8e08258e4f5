"""Emoji reactions on messages: one row per (message, user, emoji); adding the same one again removes it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, insert, select

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Reaction
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.audience import note_payload
from conferencing_widgets.store.base import StoreBase, utcnow

_REACTIONS_OF = (
    select(s.message_reactions.c.message_id, s.message_reactions.c.emoji, s.message_reactions.c.login)
    .select_from(s.message_reactions.join(s.messages, s.messages.c.id == s.message_reactions.c.message_id))
    .where(
        s.message_reactions.c.message_id.in_(bindparam("ids", expanding=True)),
        s.messages.c.conversation_id == bindparam("cid"),
    )
    .order_by(s.message_reactions.c.message_id, s.message_reactions.c.created_at, s.message_reactions.c.login)
)
"""Reactions of some messages of one conversation: built once (the hot path of every rendered page of rows)."""


class ReactionQueries(StoreBase):
    """Toggle and read reactions (rights are the service's job)."""

    def toggle_reaction(self, message_id: int, login: str, emoji: str) -> bool:
        """Add ``login``'s ``emoji`` to a message, or remove it if present; True when it was added."""
        r = s.message_reactions
        with self.atomic() as conn:
            mc = s.messages.c
            msg = conn.execute(select(mc.conversation_id, mc.deleted, mc.kind).where(mc.id == message_id)).first()
            if msg is None:
                raise NotFound(_("No message {message_id}.").format(message_id=message_id))
            if msg.deleted:
                raise InvalidInput(_("This message was deleted; it takes no reactions."))
            key = (r.c.message_id == message_id, r.c.login == login, r.c.emoji == emoji)
            removed = conn.execute(delete(r).where(*key)).rowcount
            if not removed:
                conn.execute(insert(r).values(message_id=message_id, login=login, emoji=emoji, created_at=utcnow()))
            self.append_event(
                conn,
                EventKind.REACTIONS_CHANGED.value,
                conversation_id=int(msg.conversation_id),
                ref_id=message_id,
                payload={"who": login, "emoji": emoji, "added": not removed, **note_payload(msg.kind)},
            )
        return not removed

    def reactions_of(self, conversation_id: int, message_ids: Sequence[int]) -> dict[int, list[Reaction]]:
        """Reactions of messages of one conversation (one query): per message, emoji in first-use order with who
        chose them. Ids of other conversations' messages are left out."""
        if not message_ids:
            return {}
        with self.reading(single=True) as conn:
            rows = conn.execute(_REACTIONS_OF, {"ids": sorted(set(message_ids)), "cid": conversation_id}).all()
        grouped: dict[int, dict[str, list[str]]] = {}
        for mid, emoji, login in rows:
            grouped.setdefault(int(mid), {}).setdefault(emoji, []).append(login)
        return {
            mid: [Reaction(emoji=e, logins=tuple(who)) for e, who in by_emoji.items()]
            for mid, by_emoji in grouped.items()
        }
