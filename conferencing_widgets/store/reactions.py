"""Emoji reactions on messages: one row per (message, user, emoji); adding the same one again removes it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, select

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Reaction
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.audience import note_payload
from conferencing_widgets.store.base import StoreBase, utcnow


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
        r, m = s.message_reactions, s.messages
        q = (
            select(r.c.message_id, r.c.emoji, r.c.login)
            .select_from(r.join(m, m.c.id == r.c.message_id))
            .where(r.c.message_id.in_(sorted(set(message_ids))), m.c.conversation_id == conversation_id)
            .order_by(r.c.message_id, r.c.created_at, r.c.login)
        )
        with self.reading() as conn:
            rows = conn.execute(q).all()
        grouped: dict[int, dict[str, list[str]]] = {}
        for mid, emoji, login in rows:
            grouped.setdefault(int(mid), {}).setdefault(emoji, []).append(login)
        return {
            mid: [Reaction(emoji=e, logins=tuple(who)) for e, who in by_emoji.items()]
            for mid, by_emoji in grouped.items()
        }
