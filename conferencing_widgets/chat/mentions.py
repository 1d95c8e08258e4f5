"""Mention use cases: check the ``@login``s of a text against the conversation's members, autocomplete, counts.

Only members can be mentioned. An unknown login and a non-member get the same answer, so a customer learns
nothing about people outside the conversation (and cannot pull in another company).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import InvalidInput, LimitExceeded
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.mentions import MAX_MENTIONS, mentioned_logins
from conferencing_widgets.core.model import Conversation, ConversationSummary, Message, User

if TYPE_CHECKING:
    from conferencing_widgets.store import Store

MAX_CANDIDATES = 20


class MentionUseCases:
    """Mentions, composed into the chat ``Service``."""

    if TYPE_CHECKING:  # provided by ``Service``
        store: Store
        user: User

        @property
        def login(self) -> str: ...
        def require_active(self) -> User: ...
        def require_readable(self, conversation_id: int) -> Conversation: ...
        def summary(self, conversation_id: int) -> ConversationSummary: ...

    def check_mentions(self, conversation: Conversation, body: str, *, note: bool = False) -> list[str]:
        """The logins ``body`` mentions, all members of ``conversation``; ``InvalidInput`` otherwise.

        The post path calls it before writing; an edit should too, then ``store.replace_mentions``. In an internal
        note (``note``) only those who may read notes count: a customer named there is never notified.
        """
        logins = mentioned_logins(body)
        if not logins:
            return []
        if len(logins) > MAX_MENTIONS:
            raise LimitExceeded(_("Mention at most {n} people in one message.").format(n=MAX_MENTIONS))
        members = set(conversation.members)
        enabled = {u.login for u in self.store.users(logins=[x for x in logins if x in members]) if not u.disabled}
        wrong = [x for x in logins if x not in enabled]
        if wrong:
            raise InvalidInput(
                _("@{login} is not a member of this conversation. Type @ and pick a member, or remove the @.").format(
                    login=wrong[0]
                )
            )
        if note:
            readers = {u.login for u in self.store.users(logins=logins) if policy.can_read_notes(u)}
            return [x for x in logins if x in readers]
        return logins

    def mention_candidates(self, conversation_id: int, prefix: str = "") -> list[User]:
        """Members whose login or name starts with ``prefix`` (for the composer's autocomplete), not me."""
        conv = self.require_readable(conversation_id)
        want = str(prefix).strip().lstrip("@").casefold()[:64]
        out = []
        for u in self.store.users(logins=conv.members):
            if u.login == self.login or u.disabled:
                continue
            names = [u.login.casefold(), *(part.casefold() for part in u.display_name.split())]
            if not want or any(n.startswith(want) for n in names) or u.display_name.casefold().startswith(want):
                out.append(u)
        out.sort(key=lambda u: u.display_name.casefold())
        return out[:MAX_CANDIDATES]

    def mentions_of(self, messages: Sequence[Message]) -> dict[int, list[str]]:
        """The stored mentions of messages already read through this service (for rendering)."""
        found: dict[int, list[str]] = self.store.mentions_of([m.id for m in messages if not m.deleted])
        return found

    def unread_mentions(self, conversation_ids: Sequence[int]) -> dict[int, int]:
        """Unread mentions of me per readable conversation (the tile badge); unreadable ids count nothing."""
        self.require_active()
        ids = [int(c) for c in conversation_ids]
        counts: dict[int, int] = self.store.unread_mentions(policy.read_scope(self.user), ids)
        return counts

    def mention_history(self, *, limit: int = 50) -> list[ConversationSummary]:
        """The history filtered to conversations that mention me, most recently mentioned first."""
        self.require_active()
        ids = self.store.mentioned_conversations(policy.read_scope(self.user), limit=max(1, min(int(limit), 200)))
        return [self.summary(cid) for cid in ids]
