"""Drafts: what a user typed in a conversation and has not sent, kept on the server (``session.drafts``).

A draft follows its user to another page, a reload or another device, and is cleared when they post in that
conversation (a post hook, so every way of posting clears it). Only someone who may post in a conversation keeps
a draft there; its size is bounded like a message, and the text is stored as typed (it is text, never markup).
"""

from __future__ import annotations

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import InvalidInput, LimitExceeded, NotFound
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Conversation, Message
from conferencing_widgets.store import drafts as drafts_store


class Drafts:
    """The signed-in user's drafts, one per conversation."""

    def __init__(self, chat: Service) -> None:
        self.chat = chat

    def get(self, conversation_id: int) -> str:
        """The draft in a conversation the user may post in ("" if none); ``NotFound``/``PermissionDenied`` else."""
        conv = self.chat.require_writable(_conversation_id(conversation_id))
        return drafts_store.draft(self.chat.store, self.chat.login, conv.id)

    def save(self, conversation_id: int, text: str) -> str:
        """Keep ``text`` as the draft (blank text removes it); returns what is kept.

        ``InvalidInput`` for non-text, ``LimitExceeded`` above ``max_message_chars``; nothing is written then.
        """
        if not isinstance(text, str):
            raise InvalidInput(_("A draft must be text."))
        text = text.replace("\x00", "")
        limit = self.chat.settings.max_message_chars
        if len(text) > limit:
            raise LimitExceeded(
                _("The draft is {n} characters long; the limit is {limit}.").format(
                    n=f"{len(text):,}", limit=f"{limit:,}"
                )
            )
        conv = self.chat.require_writable(_conversation_id(conversation_id))
        kept = text if text.strip() else ""
        drafts_store.save_draft(self.chat.store, self.chat.login, conv.id, kept)
        return kept

    def clear(self, conversation_id: int) -> None:
        """Drop the draft of a conversation (ending one's own draft needs only an active account)."""
        self.chat.require_active()
        drafts_store.save_draft(self.chat.store, self.chat.login, _conversation_id(conversation_id), "")

    def after_post(self, conv: Conversation, message: Message) -> None:
        """Post hook: the author's draft in that conversation is sent, so it goes."""
        # Only a sent text empties the box; sharing a file or a board leaves the typed text alone.
        if message.author == self.chat.login and message.kind in policy.EDITABLE_KINDS:
            drafts_store.save_draft(self.chat.store, self.chat.login, conv.id, "")


def _conversation_id(value: object) -> int:
    # Only a real id: ``True`` or ``"1"`` from a page must not open conversation 1.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise NotFound(_("No conversation {cid!r}.").format(cid=str(value)[:40]))
    return value
