"""The call window (``dashboards/call.ipynb``): the built-in WebRTC call page, or a forward into another room.

For the built-in provider the page is a ``CallWidget`` whose signalling travels through the store's live feed
(``CallSession`` relays it); for other providers the page records the member as a participant and sends the
browser to the meeting (``CallRedirect``).
"""

from __future__ import annotations

import secrets
from typing import Any

import anywidget
import ipywidgets as w
import traitlets

from conferencing_widgets.calls.service import CallService
from conferencing_widgets.chat.events import VisibleEvents
from conferencing_widgets.core.errors import ConferencingError, NotFound
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Call, Event
from conferencing_widgets.ui.calls.common import CSS, ui_base_url
from conferencing_widgets.ui.calls.html import message_page_html
from conferencing_widgets.ui.denied import denied_page
from conferencing_widgets.ui.live import FeedFollower, FollowsFeed
from conferencing_widgets.ui.strings import TranslatedView, view_js
from conferencing_widgets.ui.style import app_style


class CallWidget(TranslatedView, anywidget.AnyWidget):
    """The built-in call's page: preview, Join, peer videos, mute / camera off / hang up."""

    _esm = view_js("call.js")
    _css = CSS
    title = traitlets.Unicode(help="Heading.").tag(sync=True)

    @traitlets.default("title")
    def _default_title(self) -> str:
        return _("Video call")

    me = traitlets.Unicode("", help="The visitor's login.").tag(sync=True)
    names = traitlets.Dict(help="Display names of the conversation's members by login.").tag(sync=True)
    ice_servers: traitlets.List[dict[str, str]] = traitlets.List(
        help="RTCIceServer dicts (STUN/TURN) from the settings."
    ).tag(sync=True)
    state = traitlets.Unicode("lobby", help="lobby, joining, in-call, left or ended.").tag(sync=True)
    error = traitlets.Unicode("", help="Last error, shown on the page.").tag(sync=True)


class CallSession(FollowsFeed):
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
            title=_("Video call · {title}").format(title=conv.title),
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
            if e.kind == EventKind.CALL_SIGNAL and e.payload.get("call") == self.call.id:
                fetch = fetch or e.payload.get("to") == self.service.login
            elif e.kind == EventKind.CALL and e.ref_id == self.call.id:
                action, who = e.payload.get("action"), e.payload.get("login")
                if action == "end" and not self.ended:
                    self.ended = True
                    self.joined = False
                    self.widget.state = "ended"
                    self.widget.send({"type": "ended", "text": _("The call has ended.")})
                elif action == "leave" and isinstance(who, str) and who != self.service.login:
                    self.widget.send({"type": "peer-left", "login": who})
        if fetch:
            try:
                self.deliver()
            except ConferencingError as exc:
                self.widget.error = str(exc)


class CallRedirect(TranslatedView, anywidget.AnyWidget):
    """Sends the browser to a provider's meeting URL (the visitor is already recorded as a participant)."""

    _esm = view_js("call_redirect.js")
    url = traitlets.Unicode("", help="The meeting URL (for this member only).").tag(sync=True)
    label = traitlets.Unicode(help="The provider's name.").tag(sync=True)

    @traitlets.default("label")
    def _default_label(self) -> str:
        return _("the meeting")


def _message_page(title: str, text: str, css: str) -> w.VBox:
    page = w.VBox([app_style(), w.HTML(message_page_html(title, text))])
    page.add_class(css)
    return page


def call_page(calls: CallService, call_id: int | str | None, *, live: bool = True) -> w.Widget:
    """The call window's content for the user of ``calls`` and the call ``call_id``."""
    try:
        call = calls.call(int(str(call_id)))
    except (ValueError, NotFound):
        return denied_page(_("This call link is not valid. Open the call from its conversation instead."))
    if not calls.is_member(call):
        return denied_page(_("Only members of this conversation can join its calls."))
    if not call.live:
        return _message_page(_("This call has ended"), _("Start a new call from the conversation."), "cw-call-ended")
    try:
        provider = calls.provider_of(call)
        if not provider.runs_in_call_page:
            info = calls.join(call.id, base_url=ui_base_url())
            return w.VBox([app_style(), CallRedirect(url=info.url, label=provider.label)])
        session = CallSession(calls, call, live=live)
    except ConferencingError as exc:
        return _message_page(_("The call cannot be opened"), str(exc), "cw-call-error")
    page = w.VBox([app_style(), session.widget])
    page.add_class("cw-call-page")
    page.call_session = session
    return page


__all__ = ["CallRedirect", "CallSession", "CallWidget", "call_page"]
