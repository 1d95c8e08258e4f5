"""Video calls in the app: the cw-video button, call rows in the stream, calls in area 3, and the call page.

- ``VideoButton`` replaces ``app.messages.video`` (CSS class ``cw-video``). Its JavaScript opens the new
  window in the click itself (a later ``window.open`` is blocked), asks Python to start or join the call and
  then points the window at the URL Python answers with. When that window closes, the user has left.
- Call messages render with a Join link for members while the call is live (plus Leave / End call); readers
  who are not members see only who called, when and for how long: never a room name or a token.
- ``calls_section_html`` lists a conversation's calls (date, duration, participants) for area 3's Media section.
- ``call_dashboard`` builds ``dashboards/call.ipynb``: for the built-in provider the WebRTC call page (its
  signalling travels through the store's live feed), for others a page that records the member as a
  participant and forwards the browser to the meeting.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as w
import traitlets
from ipywidgets import CallbackDispatcher

from conferencing_widgets.calls.providers import get_provider, info_url
from conferencing_widgets.calls.service import CallService, JoinInfo
from conferencing_widgets.calls.store import CALL_EVENT, SIGNAL_EVENT
from conferencing_widgets.chat.events import VisibleEvents
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.errors import ConferencingError, NotFound
from conferencing_widgets.core.markup import escape_text
from conferencing_widgets.core.model import Call, Conversation, Event, Message, MessageKind
from conferencing_widgets.ui.denied import denied_page
from conferencing_widgets.ui.live import FeedFollower
from conferencing_widgets.ui.style import app_style

if TYPE_CHECKING:
    from conferencing_widgets.ui.app import ConferencingApp

log = logging.getLogger(__name__)

ASSETS = Path(__file__).parent.parent / "assets"
CALLS_LISTED = 20
"""Calls listed in area 3 (newest first)."""

_CSS = """
.cw-video-root { display: inline-flex; flex-direction: column; align-items: flex-start; }
.cw-video-button { cursor: pointer; padding: 4px 10px; border-radius: 4px; border: 1px solid #2d6cdf;
  background: #2d6cdf; color: #fff; font: inherit; }
.cw-video-button:disabled { background: #aab7cf; border-color: #aab7cf; cursor: default; }
.cw-video-info-line { font-size: 11px; margin: -2px 0 4px; }
.cw-video-info-line a { color: var(--jp-content-link-color, #1a5bb8); }
.cw-call-card { display: flex; flex-direction: column; gap: 4px; }
.cw-call-actions { display: flex; gap: 6px; flex-wrap: wrap; }
.cw-call-actions a, .cw-call-actions button { font: inherit; font-size: 12px; padding: 2px 10px; border-radius: 4px;
  border: 1px solid #2d6cdf; background: #fff; color: #2d6cdf; cursor: pointer; text-decoration: none; }
.cw-call-actions a.cw-call-join { background: #1f8a4c; border-color: #1f8a4c; color: #fff; }
.cw-media-calls { margin: 2px 0; padding-left: 18px; }
.cw-call-root { font-family: var(--jp-ui-font-family, sans-serif); display: flex; flex-direction: column; gap: 8px;
  max-width: 1100px; }
.cw-call-head { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; }
.cw-call-title { font-size: 18px; font-weight: 600; }
.cw-call-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 8px; }
.cw-call-tile { position: relative; background: #111; border-radius: 6px; overflow: hidden; min-height: 160px; }
.cw-call-tile video { width: 100%; height: 100%; object-fit: cover; display: block; }
.cw-call-name { position: absolute; left: 6px; bottom: 6px; color: #fff; background: rgba(0,0,0,.55);
  padding: 1px 6px; border-radius: 3px; font-size: 12px; }
.cw-call-peer-state { position: absolute; right: 6px; top: 6px; color: #fff; font-size: 12px; }
.cw-call-controls { display: flex; gap: 8px; }
.cw-call-controls button { font: inherit; padding: 6px 14px; border-radius: 4px; border: 1px solid #888;
  cursor: pointer; background: #fff; }
.cw-call-controls .cw-call-join-button { background: #1f8a4c; border-color: #1f8a4c; color: #fff; }
.cw-call-controls .cw-call-hangup { background: #c0392b; border-color: #c0392b; color: #fff; }
.cw-call-controls button[hidden], .cw-call-tile[hidden], .cw-error[hidden] { display: none; }
"""


def ui_base_url() -> str | None:
    """Base for links to other dashboards: the serving Voilà's own base path; None (``Settings.base_url``) elsewhere."""
    # Voilà puts its base path (e.g. "/") in every kernel's environment; a relative link then works behind any proxy.
    return os.environ.get("VOILA_BASE_URL")


def format_duration(span: timedelta | None) -> str:
    """``45 s``, ``12 min``, ``1 h 05 min``; ``live`` for a call that has not ended."""
    if span is None:
        return "live"
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _names(service: Service, logins: list[str] | tuple[str, ...]) -> list[str]:
    people = service.people(logins)
    return [people[x].display_name if x in people else x for x in logins]


def _when(call: Call) -> str:
    at = call.started_at
    return f'<time datetime="{at.isoformat()}">{at.strftime("%Y-%m-%d %H:%M")} UTC</time>'


# -- HTML pieces (trusted templates, escaped values) ------------------------------------------------------


def call_message_html(calls: CallService, message: Message) -> str:
    """A call message in the stream: who called and its state; Join / Leave / End call for members."""
    service = calls.service
    try:
        call = calls.call(int(message.ref_id or 0))
    except ConferencingError:
        return '<em class="cw-muted">This call is no longer available.</em>'
    who = escape_text(", ".join(_names(service, [call.started_by])))
    try:
        label = get_provider(call.provider).label
    except ConferencingError:
        label = call.provider
    head = f'<div><strong>Video call</strong> <span class="cw-muted">· {escape_text(label)} · '
    if not call.live:
        people = escape_text(", ".join(_names(service, call.participants)) or "nobody joined")
        return (
            f'<div class="cw-call-card cw-call-ended" data-call="{call.id}">{head}ended · '
            f"{escape_text(format_duration(call.duration))}</span></div>"
            f'<div class="cw-muted">Started by {who} · Participants: {people}</div></div>'
        )
    here = calls.present(call.id)
    in_call = escape_text(", ".join(_names(service, here)) or "nobody yet")
    actions = ""
    if calls.is_member(call):
        actions = _join_control(calls, call)
        if service.login in here:
            actions += _row_button("cw-call-leave", "call-leave", call.id, "Leave")
        if service.login == call.started_by or service.login in call.participants:
            actions += _row_button("cw-call-end", "call-end", call.id, "End call")
        actions = f'<div class="cw-call-actions">{actions}</div>'
    return (
        f'<div class="cw-call-card cw-call-live" data-call="{call.id}">{head}live</span></div>'
        f'<div class="cw-muted">Started by {who} · In the call: {in_call}</div>{actions}</div>'
    )


def _row_button(css: str, action: str, call_id: int, text: str) -> str:
    return f'<button type="button" class="{css}" data-action="{action}" data-ref="{int(call_id)}">{text}</button>'


def _join_control(calls: CallService, call: Call) -> str:
    """A link to the call page (opens from the click itself); a row button when links cannot be signed."""
    if calls.settings.secret:
        try:
            href = calls.call_page_url(call.id, base_url=ui_base_url())
            return f'<a class="cw-call-join" href="{escape_text(href)}" target="_blank" rel="noopener">Join</a>'
        except ConferencingError:
            pass
    return _row_button("cw-call-join", "call-join", call.id, "Join")


def info_html(settings: Settings) -> str:
    """The "more information" link under the video button (empty when no usable URL is configured)."""
    url = info_url(settings)
    if url is None:
        return ""
    return (
        f'<div class="cw-video-info-line cw-muted">Video calls: <a href="{escape_text(url)}" target="_blank" '
        'rel="noopener noreferrer">how the video tool works</a></div>'
    )


def calls_section_html(service: CallService, conversation: Conversation) -> str:
    """The conversation's calls for area 3's Media section: date, duration and participants (may be empty)."""
    calls = service.calls(conversation.id, limit=CALLS_LISTED)
    if not calls:
        return ""
    people = service.service.people({p for c in calls for p in (*c.participants, c.started_by)})

    def name(login: str) -> str:
        return people[login].display_name if login in people else login

    items = []
    for call in calls:
        parts = ", ".join(name(p) for p in call.participants) or "nobody joined"
        items.append(
            f'<li class="cw-media-call" data-call="{call.id}">{_when(call)} · '
            f'<span class="cw-call-duration">{escape_text(format_duration(call.duration))}</span> · '
            f'<span class="cw-call-participants">{escape_text(parts)}</span></li>'
        )
    return f'<div class="cw-section-subtitle cw-muted">Calls</div><ul class="cw-media-calls">{"".join(items)}</ul>'


# -- the button -------------------------------------------------------------------------------------------


class VideoButton(anywidget.AnyWidget):
    """The cw-video button: opens the call window from the click, then sends it to the room URL."""

    _esm = ASSETS / "video.js"
    _css = _CSS
    label = traitlets.Unicode("Video call", help="Button text.").tag(sync=True)
    hint = traitlets.Unicode("Start a video conference in a new window", help="Button tooltip.").tag(sync=True)
    disabled = traitlets.Bool(False, help="True while no conversation the user may post in is open.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cw_start: Callable[[], JoinInfo] | None = None
        self._cw_closed = CallbackDispatcher()
        self._cw_blocked = CallbackDispatcher()
        self.last_join: JoinInfo | None = None
        self.on_msg(self._on_custom)

    def on_start(self, handler: Callable[[], JoinInfo]) -> None:
        """``handler() -> JoinInfo`` starts or joins the call (raises ``ConferencingError`` to refuse)."""
        self._cw_start = handler

    def on_closed(self, callback: Callable[[int], None], remove: bool = False) -> None:
        """Register ``callback(call_id)`` for a call window the user closed."""
        self._cw_closed.register_callback(callback, remove=remove)

    def on_blocked(self, callback: Callable[[str], None], remove: bool = False) -> None:
        """Register ``callback(message)`` for a call window the browser refused to open."""
        self._cw_blocked.register_callback(callback, remove=remove)

    def _run(self) -> JoinInfo:
        if self._cw_start is None:
            raise ConferencingError("Video calls are not available on this server.")
        info = self._cw_start()
        self.last_join = info
        return info

    def click(self) -> JoinInfo:
        """Press the button from code: start or join, then ask the browser to open the window (may be blocked)."""
        info = self._run()
        self.open_url(info.url, info.call.id)
        return info

    def open_url(self, url: str, call_id: int) -> None:
        """Ask the browser to open ``url`` now (outside a click: pop-up blockers may refuse)."""
        self.send({"type": "open-now", "url": url, "call": int(call_id)})

    def window_closed(self, call_id: int) -> None:
        """The browser reports that the window of ``call_id`` was closed (fire from code in tests)."""
        self._cw_closed(int(call_id))

    def _on_custom(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        if kind == "start" and isinstance(content.get("req"), int):
            try:
                info = self._run()
            except ConferencingError as exc:
                self.send({"type": "error", "req": content["req"], "message": str(exc)})
                return
            self.send({"type": "open", "req": content["req"], "url": info.url, "call": info.call.id})
        elif kind == "closed" and isinstance(content.get("call"), int):
            self.window_closed(content["call"])
        elif kind == "blocked":
            # Our own sentence from video.js; the area escapes it anyway.
            self._cw_blocked("Your browser blocked the call window. Allow pop-ups for this site, then try again.")


# -- wiring into the app ----------------------------------------------------------------------------------


class VideoFeature:
    """The video feature of one app."""

    def __init__(self, app: ConferencingApp) -> None:
        self.app = app
        self.calls = app.session.calls
        self.calls_html = partial(calls_section_html, self.calls)
        """Safe HTML of the open conversation's calls, for area 3's Media section."""
        messages = app.messages
        old = messages.video
        self.button = VideoButton(
            disabled=bool(getattr(old, "disabled", True)),
            hint="Start a video conference in a new window (or join the one running)",
        )
        self.button.add_class("cw-video")
        messages.toolbar.children = tuple(self.button if c is old else c for c in messages.toolbar.children)
        messages.video = self.button
        # Where to learn more about the video tool: a short line right under the toolbar with the button.
        self.info = w.HTML(info_html(app.service.settings))
        self.info.add_class("cw-video-info")
        if self.info.value:
            messages.extras.children = (*messages.extras.children, self.info)
        messages.set_video_handler(self._start_from_code)
        self.button.on_start(self._start)
        self.button.on_closed(self._window_closed)
        self.button.on_blocked(self._error)
        messages.stream.on_action(self._on_action)
        app.add_event_hook(self._on_events)

    def _error(self, text: str) -> None:
        self.app.messages.error.value = escape_text(text)

    def _start(self) -> JoinInfo:
        conv = self.app.conversation
        if conv is None:
            raise ConferencingError("Open a conversation first.")
        try:
            info = self.calls.start(conv.id, base_url=ui_base_url())
        except ConferencingError as exc:
            self._error(str(exc))
            raise
        self.app.messages.error.value = ""
        # The new call message arrives through the feed too; show it now for the starter.
        self.app.messages.catch_up()
        return info

    def _start_from_code(self, _conversation: Conversation) -> None:
        self.button.click()

    def _window_closed(self, call_id: int) -> None:
        try:
            self.calls.leave(call_id)
        except ConferencingError as exc:
            log.info("leaving call %s after its window closed: %s", call_id, exc)

    def _on_action(self, action: str, ref: int) -> None:
        try:
            if action == "call-leave":
                self.calls.leave(ref)
            elif action == "call-end":
                self.calls.end(ref)
            elif action == "call-join":
                info = self.calls.join(ref, base_url=ui_base_url())
                self.button.open_url(info.url, info.call.id)
            else:
                return
        except ConferencingError as exc:
            self._error(str(exc))
            return
        self.app.messages.error.value = ""
        self._refresh_call(ref)

    def _refresh_call(self, call_id: int) -> None:
        from conferencing_widgets.calls.store import call_message_id

        with contextlib.suppress(ConferencingError):
            mid = call_message_id(self.app.service.store, call_id)
            if mid is not None:
                self.app.messages.refresh_rows([mid])
        self.app.details.refresh_section("media")

    def _on_events(self, app: ConferencingApp, events: list[Event]) -> None:
        open_id = app.conversation.id if app.conversation else None
        rows: list[int] = []
        for e in events:
            if e.kind != CALL_EVENT or e.conversation_id != open_id:
                continue
            mid = e.payload.get("message_id")
            if isinstance(mid, int) and mid not in rows:
                rows.append(mid)
        if rows:
            app.messages.refresh_rows(rows)
            app.details.refresh_section("media")


def install(app: ConferencingApp) -> VideoFeature:
    """Add video calls to one app: the button, call rows in the stream, and calls in area 3's Media section.

    The files feature's Media section lists calls through ``VideoFeature.calls_html`` when the app passes it on;
    until then this feature owns the section.
    """
    feature = VideoFeature(app)
    app.messages.kind_renderers[MessageKind.CALL] = partial(call_message_html, feature.calls)
    app.details.set_section_provider("media", feature.calls_html)
    return feature


# -- the call page ----------------------------------------------------------------------------------------


class CallWidget(anywidget.AnyWidget):
    """The built-in call's page: preview, Join, peer videos, mute / camera off / hang up."""

    _esm = ASSETS / "call.js"
    _css = _CSS
    title = traitlets.Unicode("Video call", help="Heading.").tag(sync=True)
    me = traitlets.Unicode("", help="The visitor's login.").tag(sync=True)
    names = traitlets.Dict(help="Display names of the conversation's members by login.").tag(sync=True)
    ice_servers: traitlets.List[dict[str, str]] = traitlets.List(
        help="RTCIceServer dicts (STUN/TURN) from the settings."
    ).tag(sync=True)
    state = traitlets.Unicode("lobby", help="lobby, joining, in-call, left or ended.").tag(sync=True)
    error = traitlets.Unicode("", help="Last error, shown on the page.").tag(sync=True)


class CallSession:
    """One visitor's built-in call page: relays signalling between the browser and the store's feed."""

    def __init__(self, calls: CallService, call: Call, *, live: bool = True) -> None:
        self.calls = calls
        self.call = call
        self.service = calls.service
        self.session = secrets.token_urlsafe(12)
        self.cursor = 0
        self.joined = False
        self.ended = False
        self.live = FeedFollower(
            VisibleEvents(self.service), self.apply_events, name=f"call {call.id}", done=lambda: self.ended
        )
        conv = self.service.conversation(call.conversation_id)
        self.widget = CallWidget(
            title=f"Video call · {conv.title}",
            me=self.service.login,
            names={u.login: u.display_name for u in self.service.members(conv.id)},
            ice_servers=calls.ice_servers(),
        )
        self.widget.add_class("cw-call")
        self.widget.on_msg(self._on_custom)
        if live:
            self.start_live()

    # -- browser -> store --------------------------------------------------------------------------------

    def _on_custom(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        try:
            if kind == "join":
                self.join()
            elif kind == "signal":
                to_session, data = content.get("to_session"), content.get("data")
                self.calls.send_signal(
                    self.call.id,
                    session=self.session,
                    to=str(content.get("to", "")),
                    to_session=to_session if isinstance(to_session, str) else None,
                    kind=str(content.get("kind", "")),
                    data=data if isinstance(data, dict) else {},
                )
            elif kind == "hangup":
                self.hang_up()
        except ConferencingError as exc:
            self.widget.error = str(exc)
            if kind == "join":
                self.widget.state = "lobby"
                self.widget.send({"type": "failed"})

    def join(self) -> list[str]:
        """The Join button: enter the call; the browser then offers a connection to everyone already in it."""
        joined = self.calls.enter(self.call.id)
        self.cursor = max(self.cursor, joined.cursor)
        self.joined = True
        self.widget.error = ""
        self.widget.state = "in-call"
        self.widget.send({"type": "joined", "others": joined.others})
        self.deliver()
        return joined.others

    def hang_up(self) -> Call:
        """Leave the call (it ends when fewer than two remain)."""
        self.joined = False
        call = self.calls.leave(self.call.id)
        self.widget.state = "ended" if not call.live else "left"
        return call

    # -- store -> browser --------------------------------------------------------------------------------

    def deliver(self) -> int:
        """Send the browser the signals addressed to it since the last delivery; how many."""
        if not self.joined:
            return 0
        items = self.calls.signals(self.call.id, session=self.session, after_id=self.cursor)
        if items:
            self.cursor = items[-1].id
            self.widget.send(
                {
                    "type": "signals",
                    "items": [
                        {
                            "id": s.id,
                            "from": s.from_login,
                            "from_session": s.from_session,
                            "kind": s.kind,
                            "data": s.data,
                        }
                        for s in items
                    ],
                }
            )
        return len(items)

    def apply_events(self, events: list[Event]) -> None:
        """React to feed events: new signals for this page, people leaving, the call ending."""
        fetch = False
        for e in events:
            if e.kind == SIGNAL_EVENT and e.payload.get("call") == self.call.id:
                fetch = fetch or e.payload.get("to") == self.service.login
            elif e.kind == CALL_EVENT and e.ref_id == self.call.id:
                action, who = e.payload.get("action"), e.payload.get("login")
                if action == "end" and not self.ended:
                    self.ended = True
                    self.joined = False
                    self.widget.state = "ended"
                    self.widget.send({"type": "ended", "text": "The call has ended."})
                elif action == "leave" and isinstance(who, str) and who != self.service.login:
                    self.widget.send({"type": "peer-left", "login": who})
        if fetch:
            try:
                self.deliver()
            except ConferencingError as exc:
                self.widget.error = str(exc)

    def refresh(self) -> int:
        """Apply everything new in the feed now (tests without a running loop)."""
        return self.live.refresh()

    def start_live(self) -> None:
        """Follow the feed in the kernel's event loop (until the call ends)."""
        self.live.start()


class CallRedirect(anywidget.AnyWidget):
    """Sends the browser to a provider's meeting URL (the visitor is already recorded as a participant)."""

    _esm = ASSETS / "call_redirect.js"
    url = traitlets.Unicode("", help="The meeting URL (for this member only).").tag(sync=True)
    label = traitlets.Unicode("the meeting", help="The provider's name.").tag(sync=True)


def _message_page(title: str, text: str, css: str) -> w.VBox:
    body = w.HTML(f"<h2>{escape_text(title)}</h2><p>{escape_text(text)}</p>")
    page = w.VBox([app_style(), body])
    page.add_class(css)
    return page


def call_page(calls: CallService, call_id: int | str | None, *, live: bool = True) -> w.Widget:
    """The call window's content for the user of ``calls`` and the call ``call_id``."""
    try:
        call = calls.call(int(str(call_id)))
    except (ValueError, NotFound):
        return denied_page("This call link is not valid. Open the call from its conversation instead.")
    if not calls.is_member(call):
        return denied_page("Only members of this conversation can join its calls.")
    if not call.live:
        return _message_page("This call has ended", "Start a new call from the conversation.", "cw-call-ended")
    try:
        provider = get_provider(call.provider)
        if not provider.runs_in_call_page:
            info = calls.join(call.id, base_url=ui_base_url())
            return w.VBox([app_style(), CallRedirect(url=info.url, label=provider.label)])
        session = CallSession(calls, call, live=live)
    except ConferencingError as exc:
        return _message_page("The call cannot be opened", str(exc), "cw-call-error")
    page = w.VBox([app_style(), session.widget])
    page.add_class("cw-call-page")
    page.call_session = session  # type: ignore[attr-defined]
    return page




