"""Ephemeral signals as one user may send and see them: typing and presence, with the rights checks.

The API the chat UI uses (``session.signals``):

- ``signal_typing(cid)`` while the user types (members who may post only; throttled, so call it on every
  keystroke), ``stop_typing(cid)`` when they send or clear the box;
- ``typing(cid)``: display names of the *others* typing now (readers only);
- ``mark_present(cid)`` / ``leave(cid)`` and ``present(cid)``: who else has the conversation open (readers);
- ``watch()``: a ``SignalSource`` for ``ui.live.SignalFollower``; ``follow(cid)`` the open conversation, and
  ``state()`` is what to render. It wakes only on that conversation's signals and at their expiry.

Signals never write an events row and expire on their own (``store/signals.py``). Reading filters by the same
rules as messages: a customer of another company gets ``NotFound``, never a name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import NotFound, PermissionDenied
from conferencing_widgets.core.i18n import _
from conferencing_widgets.store import Store
from conferencing_widgets.store import preferences as prefs_store
from conferencing_widgets.store.signals import Signal, SignalWatch

TYPING_TTL_S = 6.0
"""A typing signal ends this long after the last keystroke that refreshed it."""
TYPING_REFRESH_S = 2.0
"""Keystrokes within this long of the last write refresh nothing (one write per 2 s of typing at most)."""
PRESENCE_TTL_S = 60.0
"""Presence lasts this long; a page showing a conversation refreshes it (``mark_present``) about twice as often."""


@dataclass(frozen=True, kw_only=True)
class SignalState:
    """What a page shows for its open conversation."""

    conversation_id: int | None
    """The followed conversation (None: none)."""
    typing: list[str] = field(default_factory=list)
    """Display names of the other people typing, sorted."""
    present: list[str] = field(default_factory=list)
    """Display names of the other people who have the conversation open, sorted."""
    seen: list[tuple[str, int]] = field(default_factory=list)
    """(login, message id) of the others' recent ``seen`` signals: a wake-up for "seen by", which is re-read
    through ``chat/receipts.py`` (where the opt-out applies). Empty for a viewer who turned receipts off."""


class Signals:
    """Typing and presence for the user of a chat ``Service`` (rights in ``core/policy.py``)."""

    def __init__(self, chat: Service) -> None:
        self.chat = chat
        self._sent: dict[tuple[int, str], float] = {}
        """(conversation, kind) -> monotonic time of the last write, for throttling."""

    @property
    def store(self) -> Store:
        """The chat service's store."""
        return self.chat.store

    def _throttled(self, conversation_id: int, kind: str, every: float) -> bool:
        now = time.monotonic()
        last = self._sent.get((conversation_id, kind))
        if last is not None and now - last < every:
            return True
        self._sent[(conversation_id, kind)] = now
        return False

    # -- typing --

    def signal_typing(self, conversation_id: int) -> None:
        """This user is typing in the conversation. ``PermissionDenied`` if they may not post there."""
        conv = self.chat.require_writable(_conversation_id(conversation_id))
        if self._throttled(conv.id, "typing", TYPING_REFRESH_S):
            return
        self.store.signal(conv.id, self.chat.login, "typing", TYPING_TTL_S)

    def stop_typing(self, conversation_id: int) -> None:
        """This user stopped typing (sent, or cleared the box). Ending one's own signal needs no other right."""
        self.chat.require_active()
        cid = _conversation_id(conversation_id)
        self._sent.pop((cid, "typing"), None)
        self.store.clear_signal(cid, self.chat.login, "typing")

    def typing(self, conversation_id: int) -> list[str]:
        """Display names of the others typing in a conversation this user may read; ``NotFound`` otherwise."""
        return self._names(_conversation_id(conversation_id), "typing")

    # -- presence --

    def mark_present(self, conversation_id: int) -> None:
        """This user has the conversation open (readers only: ``NotFound`` otherwise). Throttled like typing."""
        conv = self.chat.require_readable(_conversation_id(conversation_id))
        if self._throttled(conv.id, "presence", PRESENCE_TTL_S / 3):
            return
        self.store.signal(conv.id, self.chat.login, "presence", PRESENCE_TTL_S)

    def leave(self, conversation_id: int) -> None:
        """This user closed the conversation."""
        self.chat.require_active()
        cid = _conversation_id(conversation_id)
        self._sent.pop((cid, "presence"), None)
        self.store.clear_signal(cid, self.chat.login, "presence")

    def present(self, conversation_id: int) -> list[str]:
        """Display names of the others who have this conversation open (readers only)."""
        return self._names(_conversation_id(conversation_id), "presence")

    # -- reading --

    def _names(self, conversation_id: int, kind: str) -> list[str]:
        return self._state_of(conversation_id, self.store.signals(conversation_id, kind=kind))[kind]

    def _state_of(self, conversation_id: int, found: list[Signal]) -> dict[str, list[str]]:
        """Names per kind among ``found``, after the rights checks: readers only, never oneself."""
        conv = self.chat.require_readable(conversation_id)
        logins = {x.login for x in found if x.login != self.chat.login}
        people = self.chat.people(logins) if logins else {}
        out: dict[str, list[str]] = {"typing": [], "presence": []}
        for x in found:
            user = people.get(x.login)
            if user is None or user.disabled:
                continue
            is_member = user.login in conv.members
            # Typing is shown only from people who may post; presence from anyone who may read.
            allowed = (
                policy.can_post(user, is_member=is_member)
                if x.kind == "typing"
                else policy.can_read_conversation(user, conv, is_member=is_member)
            )
            if allowed and x.kind in out:
                out[x.kind].append(user.display_name)
        return {k: sorted(v) for k, v in out.items()}

    def _seen_of(self, conversation_id: int, found: list[Signal]) -> list[tuple[str, int]]:
        """(login, message id) of the others' ``seen`` signals among ``found``, for a reader who shares receipts."""
        seen = [x for x in found if x.kind == "seen" and x.login != self.chat.login]
        if not seen:
            return []
        # A viewer who opted out gets no wake-up data either; the rights were checked by ``_state_of``.
        if prefs_store.preferences(self.store, self.chat.login).get("receipts", "on") == "off":
            return []
        conv = self.chat.require_readable(conversation_id)
        people = self.chat.people({x.login for x in seen})
        return sorted(
            (x.login, int(x.data["message_id"]))
            for x in seen
            if isinstance(x.data.get("message_id"), int)
            and (u := people.get(x.login)) is not None
            and not u.disabled
            and policy.can_read_conversation(u, conv, is_member=u.login in conv.members)
        )

    def watch(self) -> SignalSource:
        """A source that follows one conversation's signals at a time (``follow``); close it when done."""
        return SignalSource(self)


class SignalSource:
    """What ``ui.live.SignalFollower`` follows: rights-checked state of one conversation at a time."""

    def __init__(self, signals: Signals) -> None:
        self._signals = signals
        self._watch: SignalWatch = signals.store.signal_watch()

    @property
    def conversation_id(self) -> int | None:
        return self._watch.conversation_id

    @property
    def wakeups(self) -> int:
        """Rings received (tests count them)."""
        return self._watch.wakeups

    def follow(self, conversation_id: int | None) -> None:
        """Follow this conversation's signals (``NotFound`` if the user may not read it); None stops."""
        if conversation_id is not None:
            conversation_id = _conversation_id(conversation_id)
            self._signals.chat.require_readable(conversation_id)
        self._watch.follow(conversation_id)

    def state(self) -> SignalState:
        """Who else types / is present now in the followed conversation."""
        cid = self._watch.conversation_id
        found = self._watch.read()
        if cid is None:
            return SignalState(conversation_id=None)
        try:
            names = self._signals._state_of(cid, found)
            seen = self._signals._seen_of(cid, found)
        except (NotFound, PermissionDenied):
            return SignalState(conversation_id=cid)  # no longer readable: show nothing
        return SignalState(conversation_id=cid, typing=names["typing"], present=names["presence"], seen=seen)

    async def wait(self) -> bool:
        """Until a signal of the followed conversation changes or expires (True after a ring)."""
        return await self._watch.wait()

    def close(self) -> None:
        self._watch.close()


def _conversation_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise NotFound(_("No conversation {value!r}.").format(value=value))
    try:
        cid = int(value)
    except ValueError as exc:
        raise NotFound(_("No conversation {value!r}.").format(value=value)) from exc
    if not 0 < cid < 2**63:
        raise NotFound(_("No conversation {value!r}.").format(value=value))
    return cid
