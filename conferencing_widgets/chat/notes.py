"""Internal notes in case chats: vendor staff write them, only vendor staff read them (mixed into the chat ``Service``).

A note is a message of kind ``MessageKind.NOTE``. The rules are ``policy.can_read_notes`` / ``can_write_note``;
every read path of the service drops notes for customers (in SQL where a page or a count is at stake, here for
single messages), and the store gives a note's events a staff-only audience, so a customer's page is not even
woken by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import InvalidInput, PermissionDenied
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Conversation, Message, MessageKind

if TYPE_CHECKING:
    from conferencing_widgets.core.model import User


class NotesMixin:
    """Who sees and writes notes, and the filters the other use cases apply."""

    if TYPE_CHECKING:
        user: User

        def post(
            self,
            conversation_id: int,
            body: str,
            *,
            client_id: str | None = None,
            kind: MessageKind = MessageKind.TEXT,
            ref_id: int | None = None,
            reply_to: int | None = None,
        ) -> Message: ...

        def require_readable(self, conversation_id: int) -> Conversation: ...

    @property
    def sees_notes(self) -> bool:
        """Whether this user reads internal notes (vendor staff)."""
        return policy.can_read_notes(self.user)

    def can_write_note(self, conversation_id: int) -> bool:
        """Whether the composer may offer "Internal note" here (the service checks again on posting)."""
        conv = self.require_readable(conversation_id)
        return policy.can_write_note(self.user, conv, is_member=self.user.login in conv.members)

    def post_note(
        self, conversation_id: int, body: str, *, client_id: str | None = None, reply_to: int | None = None
    ) -> Message:
        """Post an internal note: vendor staff who may post in a service case chat; nobody else sees it."""
        return self.post(conversation_id, body, client_id=client_id, kind=MessageKind.NOTE, reply_to=reply_to)

    @staticmethod
    def check_kind(kind: object) -> MessageKind:
        """A message kind from a caller (a plain string from a page is accepted); ``InvalidInput`` otherwise."""
        try:
            return MessageKind(kind)
        except ValueError as exc:
            raise InvalidInput(_("Unknown message kind {kind}.").format(kind=repr(kind)[:40])) from exc

    def require_note_writer(self, conv: Conversation) -> None:
        """``PermissionDenied`` (nothing is written) unless this user may write a note in ``conv``."""
        if policy.can_write_note(self.user, conv, is_member=self.user.login in conv.members):
            return
        if not policy.can_read_notes(self.user):
            raise PermissionDenied(_("Only vendor staff can write internal notes."))
        raise PermissionDenied(_("Internal notes are for service case chats only."))

    def visible_messages(self, messages: Iterable[Message]) -> list[Message]:
        """``messages`` without the notes this user may not read."""
        if self.sees_notes:
            return list(messages)
        return [m for m in messages if m.kind is not MessageKind.NOTE]
