"""Editing and deleting messages, their earlier versions, and the window of messages around one message.

Every change appends its event in the same transaction (audience: the message's conversation), so every open
page on every server re-renders the row. Deleting empties the body and drops the versions and reactions: the
text is gone from the store, and only a tombstone (author, time, ``deleted``) stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Message, MessageVersion
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.audience import note_payload
from conferencing_widgets.store.base import utcnow
from conferencing_widgets.store.messages import MessageQueries


class EditQueries(MessageQueries):
    """Edits, deletions, versions and "messages around" (the store checks integrity, never rights)."""

    def edit_message(self, message_id: int, body: str, *, at: datetime | None = None) -> Message:
        """Replace a message's body, keeping the old one as a version; an unchanged body writes nothing."""
        m = s.messages
        with self.atomic() as conn:
            r = conn.execute(select(m).where(m.c.id == message_id)).first()
            if r is None:
                raise NotFound(_("No message {message_id}.").format(message_id=message_id))
            if r.deleted:
                raise InvalidInput(_("This message was deleted; it can no longer be edited."))
            if r.body == body:
                return self._message(r)
            now = at or utcnow()
            conn.execute(
                s.message_versions.insert().values(
                    message_id=message_id, body=r.body, written_at=r.edited_at or r.created_at, replaced_at=now
                )
            )
            row = conn.execute(
                update(m).where(m.c.id == message_id).values(body=body, edited_at=now).returning(*m.c)
            ).one()
            self.append_event(
                conn,
                EventKind.MESSAGE_EDITED.value,
                conversation_id=int(r.conversation_id),
                ref_id=message_id,
                payload=note_payload(r.kind),
            )
        return self._message(row)

    def delete_message(self, message_id: int, *, by: str) -> Message:
        """Turn a message into a tombstone: body, versions and reactions are removed; deleting twice is a no-op."""
        m = s.messages
        with self.atomic() as conn:
            r = conn.execute(select(m).where(m.c.id == message_id)).first()
            if r is None:
                raise NotFound(_("No message {message_id}.").format(message_id=message_id))
            if r.deleted:
                return self._message(r)
            conn.execute(delete(s.message_versions).where(s.message_versions.c.message_id == message_id))
            conn.execute(delete(s.message_reactions).where(s.message_reactions.c.message_id == message_id))
            row = conn.execute(
                update(m).where(m.c.id == message_id).values(body="", deleted=True).returning(*m.c)
            ).one()
            # ``by`` says whether it was the author or a moderator; it is a login, never message text.
            self.append_event(
                conn,
                EventKind.MESSAGE_DELETED.value,
                conversation_id=int(r.conversation_id),
                ref_id=message_id,
                payload={"by": by, **note_payload(r.kind)},
            )
        return self._message(row)

    def message_versions(self, message_id: int) -> list[MessageVersion]:
        """Earlier bodies of a message, oldest first (empty for a message never edited or deleted)."""
        v = s.message_versions
        with self.reading() as conn:
            rows = conn.execute(select(v).where(v.c.message_id == message_id).order_by(v.c.id)).all()
        return [
            MessageVersion(
                message_id=int(r.message_id), body=r.body, written_at=r.written_at, replaced_at=r.replaced_at
            )
            for r in rows
        ]

    def messages_by_id(self, conversation_id: int, message_ids: Sequence[int]) -> dict[int, Message]:
        """The messages with these ids in that conversation (one query; others are left out)."""
        if not message_ids:
            return {}
        m = s.messages
        q = select(m).where(m.c.conversation_id == conversation_id, m.c.id.in_(sorted(set(message_ids))))
        with self.reading() as conn:
            rows = conn.execute(q).all()
        return {int(r.id): self._message(r) for r in rows}

    def messages_around(
        self, conversation_id: int, message_id: int, *, before: int = 25, after: int = 25
    ) -> list[Message]:
        """Up to ``before`` messages before ``message_id``, that message, and up to ``after`` after it, in order.

        Empty when the message is not in that conversation. Two keyset scans on ``(conversation_id, id)``.
        """
        m = s.messages
        with self.reading() as conn:
            found = conn.execute(
                select(m.c.id).where(m.c.id == message_id, m.c.conversation_id == conversation_id)
            ).first()
            if found is None:
                return []
            older = conn.execute(
                select(m).where(m.c.conversation_id == conversation_id, m.c.id < message_id)
                .order_by(m.c.id.desc()).limit(before)
            ).all()
            newer = conn.execute(
                select(m).where(m.c.conversation_id == conversation_id, m.c.id >= message_id)
                .order_by(m.c.id).limit(after + 1)
            ).all()
        return [self._message(r) for r in reversed(older)] + [self._message(r) for r in newer]
