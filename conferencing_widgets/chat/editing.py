"""Replies, edits, deletions and earlier versions: use cases of the chat ``Service`` (mixed into it).

Rights are in ``core/policy.py``. A message the user may not read is ``NotFound`` with the same words whether
it exists or not, so ids cannot be probed; a refused change writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conferencing_widgets.chat.cleaning import clean_body
from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import InvalidInput, NotFound, PermissionDenied
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Conversation, Message, MessageKind, MessageVersion, Reaction

if TYPE_CHECKING:
    from conferencing_widgets.core.config import Settings
    from conferencing_widgets.core.model import User
    from conferencing_widgets.store import Store

ACTIONS = ("reply", "edit", "delete", "react")
"""What a row may offer; ``message_actions`` says which of them one user may do."""


@dataclass(frozen=True, kw_only=True)
class MessageExtras:
    """What the rows of one page need besides their messages."""

    originals: dict[int, Message]
    """The messages replied to (and the page's own), by id."""
    reactions: dict[int, list[Reaction]]
    """Reactions per message id."""
    actions: dict[int, tuple[str, ...]]
    """Per message, which of ``ACTIONS`` this user may do."""


def _message_id(message_id: object) -> int:
    if isinstance(message_id, bool):
        raise NotFound(_("No message {id!r} that you can open.").format(id=message_id))
    try:
        value: int = int(message_id)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise NotFound(_("No message {id!r} that you can open.").format(id=message_id)) from exc
    return value


class EditingMixin:
    """Reply, edit, delete, versions, and the window around a message."""

    if TYPE_CHECKING:
        store: Store
        settings: Settings
        user: User

        def require_readable(self, conversation_id: int) -> Conversation: ...

        def check_mentions(self, conversation: Conversation, body: str, *, note: bool = False) -> list[str]: ...

        def visible_messages(self, messages: Iterable[Message]) -> list[Message]: ...

    def readable_message(self, message_id: int) -> tuple[Message, Conversation]:
        """A message and its conversation if this user may read it; ``NotFound`` otherwise (same words)."""
        mid = _message_id(message_id)
        try:
            message = self.store.get_message(mid)
            conv = self.require_readable(message.conversation_id)
            if not policy.can_see_message(self.user, message):
                raise NotFound(f"No message {mid}.")  # an internal note, for a customer: as if it did not exist
        except NotFound as exc:
            raise NotFound(_("No message {mid} that you can open.").format(mid=mid)) from exc
        return message, conv

    def _is_member(self, conv: Conversation) -> bool:
        return self.user.login in conv.members

    def check_reply(self, conv: Conversation, reply_to: object, *, note: bool = False) -> int | None:
        """The id a new message of ``conv`` replies to, checked: a live message of the same conversation.

        A reply quotes its original, so a reply to an internal note must be a note too (``note``)."""
        if reply_to is None:
            return None
        refused = InvalidInput("You can only reply to a message of this conversation.")
        try:
            original = self.store.get_message(_message_id(reply_to))
        except NotFound:
            raise refused from None
        if not policy.can_reply_to(conv, original) or not policy.can_see_message(self.user, original):
            raise refused
        if original.kind is MessageKind.NOTE and not note:
            raise InvalidInput(_("A reply to an internal note is internal too: switch on “Internal note” to send it."))
        if original.deleted:
            raise InvalidInput(_("That message was deleted; reply to another one."))
        return original.id

    def edit_message(self, message_id: int, body: str) -> Message:
        """Edit one's own text message (the old body is kept as a version); over-long text is refused."""
        message, conv = self.readable_message(message_id)
        if not policy.can_edit_message(self.user, message, is_member=self._is_member(conv)):
            if message.author != self.user.login:
                raise PermissionDenied(_("You can only edit your own messages."))
            if not policy.can_post(self.user, is_member=self._is_member(conv)):
                raise PermissionDenied(_("You can read this conversation but not write in it: you are not a member."))
            if message.deleted:
                raise InvalidInput(_("This message was deleted; it can no longer be edited."))
            raise InvalidInput(_("Only text messages can be edited."))
        text = clean_body(body, self.settings.max_message_chars)
        if text == message.body:
            return message  # nothing changed, so no version (an outbox resending an edit after a lost answer)
        # An edit may mention only members too, as a post does (and a note's customers are never notified).
        mentions = self.check_mentions(conv, text, note=message.kind is MessageKind.NOTE)
        with self.store.atomic():  # the new text and its mentions commit together
            edited = self.store.edit_message(message.id, text)
            self.store.replace_mentions(message.id, mentions)
        return edited

    def delete_message(self, message_id: int) -> Message:
        """Delete one's own message, or (admins) any message: text, versions and reactions go, a tombstone stays."""
        message, conv = self.readable_message(message_id)
        if message.deleted:
            return message
        if not policy.can_delete_message(self.user, message, is_member=self._is_member(conv), may_read=True):
            raise PermissionDenied(_("You can only delete your own messages."))
        with self.store.atomic():  # a tombstone mentions nobody
            deleted = self.store.delete_message(message.id, by=self.user.login)
            self.store.replace_mentions(message.id, [])
        return deleted

    def message_versions(self, message_id: int) -> list[MessageVersion]:
        """Earlier bodies of a message the user may read, oldest first."""
        message, _conv = self.readable_message(message_id)
        return self.store.message_versions(message.id)

    def messages_around(
        self,
        message_id: int,
        *,
        conversation_id: int | None = None,
        before: int | None = None,
        after: int | None = None,
    ) -> list[Message]:
        """The window of a readable message's conversation around it, oldest first (jump to a reply's original,
        open a search hit in context). With ``conversation_id``, a message of another conversation is ``NotFound``."""
        message, conv = self.readable_message(message_id)
        if conversation_id is not None and conv.id != conversation_id:
            raise NotFound(_("No message {message_id} in this conversation.").format(message_id=message_id))
        half = max(1, self.settings.page_size // 2)
        before = half if before is None else max(0, min(int(before), 1000))
        after = half if after is None else max(0, min(int(after), 1000))
        return self.visible_messages(self.store.messages_around(conv.id, message.id, before=before, after=after))

    def messages_by_id(self, conversation_id: int, message_ids: Sequence[int]) -> dict[int, Message]:
        """Messages of a readable conversation by id (others are left out): reply quotes, re-rendered rows."""
        conv = self.require_readable(conversation_id)
        found = self.store.messages_by_id(conv.id, [_message_id(i) for i in message_ids])
        return {m.id: m for m in self.visible_messages(found.values())}

    def message_extras(self, conversation_id: int, messages: Sequence[Message]) -> MessageExtras:
        """What a page of rows shows besides the messages, with one rights check: the originals replied to, the
        reactions and this user's actions."""
        return self._extras(self.require_readable(conversation_id), messages)

    def _extras(self, conv: Conversation, messages: Sequence[Message]) -> MessageExtras:
        shown = {m.id: m for m in self.visible_messages(messages) if m.conversation_id == conv.id}
        wanted = [m.reply_to_id for m in shown.values() if m.reply_to_id is not None and m.reply_to_id not in shown]
        found = self.store.messages_by_id(conv.id, wanted) if wanted else {}
        originals = {**shown, **{m.id: m for m in self.visible_messages(found.values())}}
        return MessageExtras(
            originals=originals,
            reactions=self.store.reactions_of(conv.id, list(shown)),
            actions=self._actions(conv, shown.values()),
        )

    def message_actions(self, conversation_id: int, messages: Iterable[Message]) -> dict[int, tuple[str, ...]]:
        """Per message, which of ``ACTIONS`` this user may do (the UI shows only these; the service checks anyway)."""
        return self._actions(self.require_readable(conversation_id), messages)

    def _actions(self, conv: Conversation, messages: Iterable[Message]) -> dict[int, tuple[str, ...]]:
        member = self._is_member(conv)
        may_post = policy.can_post(self.user, is_member=member)
        out: dict[int, tuple[str, ...]] = {}
        for m in messages:
            allowed = []
            if not m.deleted and may_post:
                allowed.append("reply")
            if policy.can_edit_message(self.user, m, is_member=member):
                allowed.append("edit")
            if policy.can_delete_message(self.user, m, is_member=member, may_read=True):
                allowed.append("delete")
            if not m.deleted and policy.can_react(self.user, is_member=member):
                allowed.append("react")
            out[m.id] = tuple(allowed)
        return out
