"""Reactions: toggling one's own emoji on a message and reading who reacted (mixed into the chat ``Service``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from conferencing_widgets.chat.emoji import clean_emoji
from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import PermissionDenied
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Conversation, Message, Reaction

if TYPE_CHECKING:
    from conferencing_widgets.core.model import User
    from conferencing_widgets.store import Store


class ReactionsMixin:
    """``react`` toggles; ``reactions`` reads them for a page of rows."""

    if TYPE_CHECKING:
        store: Store
        user: User

        def require_readable(self, conversation_id: int) -> Conversation: ...

        def readable_message(self, message_id: int) -> tuple[Message, Conversation]: ...

    def react(self, message_id: int, emoji: str) -> bool:
        """Toggle this user's ``emoji`` on a message; True when added, False when taken back.

        Needs read and post rights in the message's conversation; the emoji must be one emoji.
        """
        message, conv = self.readable_message(message_id)
        if not policy.can_react(self.user, is_member=self.user.login in conv.members):
            raise PermissionDenied(_("You can read this conversation but not react in it: you are not a member."))
        return self.store.toggle_reaction(message.id, self.user.login, clean_emoji(emoji))

    def reactions(self, conversation_id: int, message_ids: Sequence[int]) -> dict[int, list[Reaction]]:
        """Reactions of messages of a readable conversation, per message id."""
        conv = self.require_readable(conversation_id)
        return self.store.reactions_of(conv.id, [int(i) for i in message_ids])
