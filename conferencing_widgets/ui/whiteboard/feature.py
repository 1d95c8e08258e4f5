"""The whiteboard feature of the app and of its own window.

``install(app)`` adds the "+" menu's *Whiteboard session* (an anywidget that opens the new window from the
click itself), whiteboard rows in the stream, the PNG/open listener and the list of boards in area 3;
``whiteboard_page(boards, board_id)`` is the content of ``dashboards/whiteboard.ipynb``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as w
import traitlets

from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.events import WHITEBOARD_EVENTS, EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import escape_text
from conferencing_widgets.core.model import Event, MessageKind
from conferencing_widgets.ui.strings import TranslatedView, view_js
from conferencing_widgets.ui.style import app_style
from conferencing_widgets.ui.whiteboard.html import (
    in_voila,
    missing_html,
    page_base,
    whiteboard_message_html,
    whiteboards_section_html,
)
from conferencing_widgets.ui.whiteboard.png import CSS, WhiteboardPngWidget
from conferencing_widgets.ui.whiteboard.view import WhiteboardView
from conferencing_widgets.whiteboard.service import WhiteboardService

if TYPE_CHECKING:
    from conferencing_widgets.ui.app import ConferencingApp

SECTION_REFRESH_DELAY = 3.0
"""Area 3's thumbnails follow drawing at most this often (seconds)."""


class NewWhiteboardButton(TranslatedView, anywidget.AnyWidget):
    """The "+" menu's *Whiteboard session*: creates a board and opens it in a new window from the click itself."""

    _esm = view_js("whiteboard_new.js")
    _css = CSS
    label = traitlets.Unicode(help="Button text.").tag(sync=True)

    @traitlets.default("label")
    def _default_label(self) -> str:
        return _("Whiteboard session")

    disabled = traitlets.Bool(False, help="True while no conversation the user may draw in is open.").tag(sync=True)
    mode = traitlets.Unicode(
        "window", help="'window': open the board page in a new window; 'inline': Python shows it here."
    ).tag(sync=True)

    def __init__(self, handler: Callable[[], str | None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("cw-whiteboard-new")
        self._handler = handler
        self.replies: list[dict[str, Any]] = []
        """Messages sent to the browser (for tests)."""
        self.on_msg(self._on_custom)

    def _on_custom(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        req = content.get("req")
        if content.get("type") == "create" and isinstance(req, str) and 0 < len(req) <= 64:
            self.click(req)

    def click(self, req: str = "code") -> dict[str, Any]:
        """What a click does (the browser already opened the window): create the board, send its URL."""
        try:
            url = self._handler()
            reply: dict[str, Any] = {"type": "open", "req": req, "url": url} if url else {"type": "inline", "req": req}
        except ConferencingError as exc:
            reply = {"type": "error", "req": req, "message": str(exc)}
        self.replies.append(reply)
        self.send(reply)
        return reply


class WhiteboardFeature:
    """The whiteboard feature of one app: the "+" entry, the PNG/open listener, area 3's list, live refresh."""

    def __init__(self, app: ConferencingApp) -> None:
        self.app = app
        self.boards = app.session.boards
        self.inline: WhiteboardView | None = None
        self.inline_box = w.VBox()
        self.inline_box.add_class("cw-wb-inline")
        self.entry = NewWhiteboardButton(self.start, mode="window" if in_voila() else "inline")
        self.actions = WhiteboardPngWidget(self.boards, board=0, listen=True, on_open=self.open_inline)
        app.messages.set_plus_entry("whiteboard", self.entry)
        app.messages.extras.children = (*app.messages.extras.children, self.actions, self.inline_box)
        app.details.set_section_provider("whiteboards", partial(whiteboards_section_html, self.boards))
        app.messages.kind_renderers[MessageKind.WHITEBOARD] = partial(whiteboard_message_html, self.boards)
        app.add_event_hook(self._on_events)
        self._refresh_handle: asyncio.TimerHandle | None = None

    def start(self) -> str | None:
        """Start a board in the open conversation; its URL for the new window (None: shown inline)."""
        conv = self.app.conversation
        self.app.messages.toggle_plus_menu(False)
        try:
            if conv is None:
                raise ConferencingError(_("Open a conversation first."))
            board = self.boards.create(conv.id)
        except ConferencingError as exc:
            self.app.messages.error.value = escape_text(str(exc))
            raise
        self.app.messages.catch_up()
        self.app.details.refresh_section("whiteboards")
        self.app.messages.error.value = ""
        if self.entry.mode == "window":
            return self.boards.url(board.id, base_url=page_base())
        self.open_inline(board.id)
        return None

    def open_inline(self, board_id: int) -> None:
        """Show a board inside the app (JupyterLab)."""
        try:
            # Follow the feed only when the app does (tests drive both with refresh()).
            view = WhiteboardView(self.boards, board_id, live=self.app.live.running)
        except ConferencingError as exc:
            self.app.messages.error.value = escape_text(str(exc))
            return
        if self.inline is not None:
            self.inline.close()
        self.inline = view
        close = w.Button(description=_("Close whiteboard"))
        close.add_class("cw-wb-close")
        close.on_click(lambda _b: self.close_inline())
        self.inline_box.children = [close, view]

    def close_inline(self) -> None:
        """Close the inline board."""
        if self.inline is not None:
            self.inline.close()
        self.inline = None
        self.inline_box.children = []

    def _on_events(self, app: ConferencingApp, events: list[Event]) -> None:
        conv = app.conversation
        if conv is None:
            return
        mine = [e for e in events if e.conversation_id == conv.id and e.kind in WHITEBOARD_EVENTS]
        if any(e.kind == EventKind.WHITEBOARD for e in mine):
            app.details.refresh_section("whiteboards")
        elif any(e.kind in (EventKind.WB_STROKE, EventKind.WB_CHANGE) for e in mine):
            self._refresh_later()

    def _refresh_later(self) -> None:
        # Thumbnails follow drawing at most every few seconds: re-rendering them per stroke would keep the kernel
        # busy for nothing.
        if self._refresh_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.app.details.refresh_section("whiteboards")
            return

        def run() -> None:
            self._refresh_handle = None
            self.app.details.refresh_section("whiteboards")

        self._refresh_handle = loop.call_later(SECTION_REFRESH_DELAY, run)


def install(app: ConferencingApp) -> WhiteboardFeature:
    """Add whiteboards to one app: the "+" entry, board rows in the stream, area 3's list."""
    return WhiteboardFeature(app)


def whiteboard_page(boards: WhiteboardService, board_id: int | str | None) -> w.Widget:
    """The board window's content (``dashboards/whiteboard.ipynb``), or a clear "cannot be opened"."""
    try:
        view = WhiteboardView(boards, board_id or 0)
    except ConferencingError as exc:
        body = w.HTML(missing_html(str(exc)))
        page = w.VBox([app_style(), body])
        page.add_class("cw-wb-missing")
        return page
    page = w.VBox([app_style(), view])
    page.add_class("cw-whiteboard-page")
    return page


__all__ = ["NewWhiteboardButton", "WhiteboardFeature", "install", "whiteboard_page"]
