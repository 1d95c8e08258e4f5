"""Video calls for one signed-in user: start, join, leave, end, and the built-in call's signalling.

Rules (enforced here, whatever the UI shows):

- Whoever may read a conversation sees its calls: who started them, when, for how long, who took part.
  Only members start, join, leave or end a call, and only they ever get a URL into it. The room name is never
  handed out in call listings, and feed events carry neither it nor any token (see ``calls/store.py``).
- A call's starter and anyone who took part may end it for everyone (``core.policy.can_end_call``).
- Starting while a call is live joins that call instead of opening a second room.
- Signalling messages (built-in call) are accepted only from participants who are in the call, only for
  other participants in it, and only while it is live. Each is read only by its recipient.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from conferencing_widgets.calls import store as call_store
from conferencing_widgets.calls.providers import JoinRequest, VideoProvider, get_provider, info_url, parse_ice_servers
from conferencing_widgets.calls.store import CallSignal, Joined
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import ConferencingError, InvalidInput, LimitExceeded, PermissionDenied
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.identity import dashboard_url, parse_duration
from conferencing_widgets.core.model import Call, Conversation
from conferencing_widgets.store import utcnow

CALL_NOTEBOOK = "call.ipynb"
"""The dashboard that hosts the built-in call (and forwards members into other providers' rooms)."""
CALL_MESSAGE = "Started a video call."
"""Body of the stream message that announces a call."""
SIGNAL_KINDS = frozenset({"offer", "answer", "candidate", "bye"})
"""What a signalling message may be."""
MAX_SIGNAL_BYTES = 32 * 1024
"""Largest signalling message (an SDP with audio and video is about 5 KB)."""
SIGNALS_PER_MINUTE = 600
"""Per call page: ICE candidates come in bursts of a few dozen, never thousands."""
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True, kw_only=True)
class JoinInfo:
    """Where a member's new window goes."""

    call: Call
    """The call (room name removed)."""
    url: str
    """The provider's room URL, or the built-in call page."""
    provider: str
    """The provider's name."""
    started: bool
    """True when this request started the call, False when it joined a live one."""


def public_call(call: Call) -> Call:
    """The call without its room name, for listings and for readers who are not members."""
    return dataclasses.replace(call, room="")


class CallService:
    """Calls for one signed-in user (``Session.calls``)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.settings = service.settings
        self._signal_times: list[datetime] = []

    # -- reading ------------------------------------------------------------------------------------------

    @property
    def provider(self) -> VideoProvider:
        """The provider new calls use (``Settings.video_provider``)."""
        return get_provider(self.settings.video_provider)

    def calls(self, conversation_id: int, *, limit: int = 20) -> list[Call]:
        """A readable conversation's calls, newest first (without room names)."""
        conv = self.service.require_readable(conversation_id)
        return [public_call(c) for c in call_store.calls_of(self.service.store, conv.id, limit=limit)]

    def live_call(self, conversation_id: int) -> Call | None:
        """The readable conversation's live call, if any (without room name)."""
        conv = self.service.require_readable(conversation_id)
        live = call_store.live_call(self.service.store, conv.id)
        return None if live is None else public_call(live)

    def call(self, call_id: int) -> Call:
        """A call of a readable conversation (without room name)."""
        call, _ = self._readable(call_id)
        return public_call(call)

    def is_member(self, call: Call) -> bool:
        """Whether this user may start, join and end calls of ``call``'s conversation."""
        try:
            return self.service.can_post(call.conversation_id)
        except Exception:  # noqa: BLE001 - NotFound and friends all mean "no"
            return False

    def present(self, call_id: int) -> list[str]:
        """Logins in a readable call right now."""
        call, _ = self._readable(call_id)
        return call_store.present(self.service.store, call.id)

    def may_end(self, call: Call) -> bool:
        """Whether this user may end ``call`` for everyone (what ``end`` checks, for the UI to show or hide)."""
        return policy.can_end_call(self.service.user, call) and self.is_member(call)

    def may_leave(self, call: Call, *, present: Collection[str] | None = None) -> bool:
        """Whether Leave applies to this user: they are in the live ``call`` now.

        ``present`` (from :meth:`present`) saves a query when the caller has it already.
        """
        here = self.present(call.id) if present is None else present
        return call.live and self.service.login in here

    def call_message_id(self, call_id: int) -> int | None:
        """Id of the stream message that announced a readable call (None if it has none)."""
        call, _ = self._readable(call_id)
        return call_store.call_message_id(self.service.store, call.id)

    def provider_of(self, call: Call) -> VideoProvider:
        """The provider that holds ``call`` (``InvalidInput`` when it is no longer registered)."""
        return get_provider(call.provider)

    def provider_label(self, call: Call) -> str:
        """The name shown for ``call``'s provider ("Jitsi Meet"); its stored key if no longer registered."""
        try:
            return self.provider_of(call).label
        except ConferencingError:
            return call.provider

    def info_url(self) -> str | None:
        """The "how the video tool works" link if a usable http(s) URL is configured."""
        return info_url(self.settings)

    def join_link(self, call_id: int, *, base_url: str | None = None) -> str | None:
        """A signed link to the call page for a Join control; None when links cannot be signed (no secret)."""
        if not self.settings.secret:
            return None
        try:
            return self.call_page_url(call_id, base_url=base_url)
        except ConferencingError:
            return None

    def _readable(self, call_id: int) -> tuple[Call, Conversation]:
        try:
            cid = int(call_id)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(_("Not a call id: {call_id!r}.").format(call_id=call_id)) from exc
        call = call_store.get_call(self.service.store, cid)
        return call, self.service.require_readable(call.conversation_id)

    def _member_call(self, call_id: int) -> Call:
        call, conv = self._readable(call_id)
        if self.service.login not in conv.members or not self.service.can_post(conv.id):
            raise PermissionDenied(_("Only members of this conversation can take part in its calls."))
        return call

    # -- starting and joining ---------------------------------------------------------------------------

    def start(self, conversation_id: int, *, base_url: str | None = None) -> JoinInfo:
        """Start a call in a conversation the user is a member of (or join the live one)."""
        conv = self.service.require_writable(conversation_id)
        live = call_store.live_call(self.service.store, conv.id)
        if live is not None:
            return self.join(live.id, base_url=base_url)
        provider = self.provider
        provider.check(self.settings)
        if provider.runs_in_call_page and not self.settings.secret:
            raise InvalidInput(_("The built-in call page needs CONFERENCING_SECRET to sign its links. Set it first."))
        call, _message = call_store.create_call(
            self.service.store,
            conversation_id=conv.id,
            provider=provider.name,
            room=provider.new_room(),
            started_by=self.service.login,
            body=CALL_MESSAGE,
            # The built-in page records its visitor when they press Join; other providers are entered at once.
            join=not provider.runs_in_call_page,
        )
        return JoinInfo(
            call=public_call(call),
            url=self._url(provider, call, base_url),
            provider=provider.name,
            started=True,
        )

    def join(self, call_id: int, *, base_url: str | None = None) -> JoinInfo:
        """The URL into a live call for a member (recorded as a participant unless the call page does that)."""
        call = self._member_call(call_id)
        if not call.live:
            raise InvalidInput(_("This call has ended. Start a new one with the video button."))
        provider = get_provider(call.provider)
        provider.check(self.settings)
        if not provider.runs_in_call_page:
            call = call_store.join_call(self.service.store, call.id, self.service.login).call
        return JoinInfo(
            call=public_call(call), url=self._url(provider, call, base_url), provider=provider.name, started=False
        )

    def _url(self, provider: VideoProvider, call: Call, base_url: str | None) -> str:
        page = self.call_page_url(call.id, base_url=base_url) if provider.runs_in_call_page else ""
        return provider.join_url(
            JoinRequest(call=call, user=self.service.user, settings=self.settings, call_page_url=page)
        )

    def call_page_url(self, call_id: int, *, base_url: str | None = None) -> str:
        """A signed link to the call page for this user (``base_url=""`` gives a path for a running dashboard)."""
        ttl: timedelta = parse_duration(self.settings.link_ttl)
        base = self.settings.base_url if base_url is None else base_url
        return dashboard_url(
            base, self.service.login, self.settings.secret, ttl, notebook=CALL_NOTEBOOK, call=int(call_id)
        )

    def enter(self, call_id: int) -> Joined:
        """The built-in call page's Join: record the user in the call; says who else is in it."""
        call = self._member_call(call_id)
        joined = call_store.join_call(self.service.store, call.id, self.service.login)
        return dataclasses.replace(joined, call=public_call(joined.call))

    def leave(self, call_id: int) -> Call:
        """Leave a call; it ends when fewer than two people remain in it."""
        call = self._member_call(call_id)
        return public_call(call_store.leave_call(self.service.store, call.id, self.service.login))

    def end(self, call_id: int) -> Call:
        """End a call for everyone: its starter or anyone who took part may."""
        call = self._member_call(call_id)
        if not policy.can_end_call(self.service.user, call):
            raise PermissionDenied(_("Only the starter or someone who took part can end this call."))
        return public_call(call_store.end_call(self.service.store, call.id, self.service.login))

    # -- built-in call -----------------------------------------------------------------------------------

    def ice_servers(self) -> list[dict[str, str]]:
        """STUN/TURN servers for the built-in call's peer connections."""
        return parse_ice_servers(self.settings.ice_servers)

    def _in_call(self, call_id: int) -> Call:
        call = self._member_call(call_id)
        if not call.live:
            raise InvalidInput(_("This call has ended."))
        if self.service.login not in call_store.present(self.service.store, call.id):
            raise PermissionDenied(_("Join the call first: only its participants exchange call messages."))
        return call

    def send_signal(
        self,
        call_id: int,
        *,
        session: str,
        to: str,
        kind: str,
        data: dict[str, Any],
        to_session: str | None = None,
    ) -> int:
        """Send one signalling message from this user's call page ``session`` to participant ``to``."""
        for name, value in (("session", session), ("to_session", to_session)):
            if value is not None and (not isinstance(value, str) or not _SESSION.match(value)):
                raise InvalidInput(_("The {name} must be 8 to 64 letters, digits, '-' or '_'.").format(name=name))
        if kind not in SIGNAL_KINDS:
            raise InvalidInput(
                _("Unknown signal kind {kind!r}: use one of {value}.").format(
                    kind=kind, value=", ".join(sorted(SIGNAL_KINDS))
                )
            )
        if not isinstance(data, dict):
            raise InvalidInput(_("A signal's data must be an object."))
        try:
            size = len(json.dumps(data, separators=(",", ":")).encode("utf-8"))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(_("A signal's data must be plain JSON.")) from exc
        if size > MAX_SIGNAL_BYTES:
            raise LimitExceeded(
                _("A call message is {size:,} bytes; the limit is {max_signal_bytes:,}.").format(
                    size=size, max_signal_bytes=MAX_SIGNAL_BYTES
                )
            )
        if not isinstance(to, str) or to == self.service.login:
            raise InvalidInput(_("Send call messages to another participant."))
        call = self._in_call(call_id)
        if to not in call_store.present(self.service.store, call.id):
            raise InvalidInput(_("{to!r} is not in this call.").format(to=to))
        now = utcnow()
        self._signal_times = [t for t in self._signal_times if t > now - timedelta(minutes=1)]
        if len(self._signal_times) >= SIGNALS_PER_MINUTE:
            raise LimitExceeded(_("Too many call messages; wait a moment."))
        self._signal_times.append(now)
        return call_store.add_signal(
            self.service.store,
            call=call,
            from_login=self.service.login,
            from_session=session,
            to_login=to,
            to_session=to_session,
            kind=kind,
            data=data,
        )

    def signals(self, call_id: int, *, session: str, after_id: int = 0) -> list[CallSignal]:
        """Signalling messages for this user's call page ``session`` after ``after_id``."""
        if not isinstance(session, str) or not _SESSION.match(session):
            raise InvalidInput(_("The session must be 8 to 64 letters, digits, '-' or '_'."))
        call = self._member_call(call_id)
        return call_store.signals_for(
            self.service.store, call.id, to_login=self.service.login, sessions=[session, None], after_id=after_id
        )


__all__ = ["CALL_MESSAGE", "CallService", "JoinInfo", "public_call"]
