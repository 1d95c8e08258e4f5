"""The video feature of one app: the cw-video button, call rows in the stream, calls in area 3's Media section.

``install(app)`` wires it in; every action goes to the app's ``CallService`` (``app.session.calls``), which checks
the rights whatever the page shows.
"""

from __future__ import annotations

import contextlib
import logging
from functools import partial
from typing import TYPE_CHECKING

import ipywidgets as w

from conferencing_widgets.calls.service import JoinInfo
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import escape_text
from conferencing_widgets.core.model import Conversation, Event, MessageKind
from conferencing_widgets.ui.calls.button import VideoButton
from conferencing_widgets.ui.calls.common import ui_base_url
from conferencing_widgets.ui.calls.html import call_message_html, calls_section_html, info_html

if TYPE_CHECKING:
    from conferencing_widgets.ui.app import ConferencingApp

log = logging.getLogger(__name__)


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
            hint=_("Start a video conference in a new window (or join the one running)"),
        )
        self.button.add_class("cw-video")
        messages.toolbar.children = tuple(self.button if c is old else c for c in messages.toolbar.children)
        messages.video = self.button
        # Where to learn more about the video tool: a short line right under the toolbar with the button.
        self.info = w.HTML(info_html(self.calls))
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
            raise ConferencingError(_("Open a conversation first."))
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
        with contextlib.suppress(ConferencingError):
            mid = self.calls.call_message_id(call_id)
            if mid is not None:
                self.app.messages.refresh_rows([mid])
        self.app.details.refresh_section("media")

    def _on_events(self, app: ConferencingApp, events: list[Event]) -> None:
        open_id = app.conversation.id if app.conversation else None
        rows: list[int] = []
        for e in events:
            if e.kind != EventKind.CALL or e.conversation_id != open_id:
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


__all__ = ["VideoFeature", "install"]
