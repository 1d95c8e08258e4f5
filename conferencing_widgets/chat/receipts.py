"""Read receipts: "Seen by Alice, Tom" under a conversation's latest message (``session.receipts``).

Built from the read marks that already exist (``store/messages.py`` ``mark_read``). The preference ``receipts``
(``chat/preferences.py``) decides both ways, as in Zulip: a user who turns it off shares no receipt and sees none.
Only readers of the conversation see receipts, and only receipts of people who may still read it.

Live: read marks are private events (only the reader's own pages are woken), so a page that marks a message
read also sends a short ephemeral ``seen`` signal on the conversation (``announce``; no row stays, see
``store/signals.py``). Other pages wake on it through their ``SignalFollower`` and re-read ``seen_by``, which
applies every rule; the signal itself carries only the message id.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conferencing_widgets.chat.preferences import Preferences
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core import policy
from conferencing_widgets.store import receipts as receipts_store

SEEN_TTL_S = 30.0
"""How long a ``seen`` signal lives: long enough to wake every page, short enough to leave nothing behind."""


@dataclass(frozen=True, kw_only=True)
class SeenBy:
    """Who has seen the latest message of a conversation."""

    message_id: int | None = None
    """The conversation's latest message (None: no message, or receipts are off for the viewer)."""
    names: list[str] = field(default_factory=list)
    """Display names of the others who read it, sorted (never the viewer, never its author)."""


class Receipts:
    """Read receipts for the user of a chat ``Service``."""

    def __init__(self, chat: Service, preferences: Preferences | None = None) -> None:
        self.chat = chat
        self.preferences = preferences or Preferences(chat)
        self._announced: dict[int, int] = {}
        """conversation -> the last message id announced from this session (one signal per new mark)."""

    def enabled(self) -> bool:
        """Whether this user shares (and so sees) read receipts."""
        return self.preferences.get("receipts") != "off"

    def seen_by(self, conversation_id: int) -> SeenBy:
        """Who else has seen the latest message of a conversation this user may read (``NotFound`` otherwise)."""
        conv = self.chat.require_readable(conversation_id)
        if not self.enabled():
            return SeenBy()
        latest = receipts_store.latest_message(self.chat.store, conv.id)
        if latest is None:
            return SeenBy()
        message_id, author = latest
        marks = receipts_store.shared_read_marks(self.chat.store, conv.id, at_least=message_id)
        logins = {x for x in marks if x not in (self.chat.login, author)}
        people = self.chat.people(logins) if logins else {}
        names = sorted(
            u.display_name
            for u in people.values()
            if not u.disabled and policy.can_read_conversation(u, conv, is_member=u.login in conv.members)
        )
        return SeenBy(message_id=message_id, names=names)

    def announce(self, conversation_id: int, message_id: int) -> bool:
        """Wake the other pages of a conversation after this user read up to ``message_id``; True if signalled.

        Nothing is sent when the user turned receipts off, may not read the conversation, or announced it already.
        """
        conv = self.chat.require_readable(conversation_id)
        if self._announced.get(conv.id) == int(message_id) or not self.enabled():
            return False
        self._announced[conv.id] = int(message_id)
        self.chat.store.signal(conv.id, self.chat.login, "seen", SEEN_TTL_S, {"message_id": int(message_id)})
        return True
