"""The board view: ``WhiteboardView(boards, board_id)``, one board, live, in a notebook, the app or its own window.

A toolbar and a ``MultiCanvas`` with four layers (background image, stored strokes, others' strokes in progress,
the user's own stroke being drawn). It holds no business logic: every action calls one ``WhiteboardService``
method and draws the result. Pointer input lives in ``pointer.py``, following the store in ``sync.py``, the
canvas drawing in ``drawing.py`` and the toolbar in ``toolbar.py``.

Drawing happens only once the browser's canvas is ready (``on_client_ready``); every ready replays the whole
stored scene, because commands sent before a view exists are lost (STACK_NOTES).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import numpy as np
from ipycanvas import MultiCanvas, hold_canvas

from conferencing_widgets.chat.events import VisibleEvents
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.model import Whiteboard
from conferencing_widgets.ui.live import FeedFollower, FollowsFeed
from conferencing_widgets.ui.whiteboard.drawing import (
    BG,
    LIVE,
    OTHERS,
    STROKES,
    clear_layer,
    draw_others,
    draw_scene,
    reset_canvas_manager,
    set_view,
)
from conferencing_widgets.ui.whiteboard.html import error_html, head_html, info_html
from conferencing_widgets.ui.whiteboard.png import WhiteboardPngWidget
from conferencing_widgets.ui.whiteboard.pointer import PointerInput
from conferencing_widgets.ui.whiteboard.ready_nudge import ReadyNudge
from conferencing_widgets.ui.whiteboard.sync import SceneSync
from conferencing_widgets.ui.whiteboard.toolbar import TOOLS, Toolbar
from conferencing_widgets.whiteboard import geometry
from conferencing_widgets.whiteboard.service import PALETTE, WIDTHS, WhiteboardService
from conferencing_widgets.whiteboard.types import SceneRows, StrokeChange

log = logging.getLogger(__name__)
PROGRESS_STALE = 10.0
"""Seconds after which another user's unfinished stroke is no longer shown."""
MIN_ZOOM, MAX_ZOOM = 0.1, 8.0


class WhiteboardView(FollowsFeed, PointerInput, SceneSync, w.VBox):
    """One board, live. ``WhiteboardView(session.boards, board_id)`` displays in a notebook or a dashboard.

    Tests and notebooks drive it without a browser: ``select_tool``, ``pointer_down/move/up`` (canvas pixels),
    ``undo``, ``redo``, ``clear_mine``, ``zoom_to_fit`` and ``refresh`` (apply feed events now).
    """

    def __init__(self, boards: WhiteboardService, board_id: int | str, *, live: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.boards = boards
        self.service = boards.service
        self.board: Whiteboard = self.boards.board(board_id)
        self.read_only = not self.boards.can_draw(self.board.id)
        self.sid = uuid.uuid4().hex[:16]
        """This view's drawing session id: its own progress events are not drawn twice."""
        # Take the feed position before reading the scene: what happens in between arrives twice, harmlessly.
        self.live = FeedFollower(VisibleEvents(self.service), self.apply_events, name=f"whiteboard {board_id}")
        self.scene: SceneRows = self.boards.scene(self.board.id)
        self.zoom = 1.0
        self.offset = (0.0, 0.0)
        self.tool = "pen"
        self.color = PALETTE[0]
        self.width = WIDTHS[1]
        self.ready_count = 0
        """How many times a browser view of the canvas became ready (each replays the scene)."""
        self.last_replay: dict[str, float] = {}
        """Timing of the last full replay: seconds to build and send it, and the commands sent."""
        self._gesture: dict[str, Any] | None = None
        self._touch_last: tuple[float, float] = (0.0, 0.0)
        self._erase_action: int | None = None
        self._others: dict[str, dict[str, Any]] = {}
        self._names: dict[str, str] = {}
        self._bg_widget: w.Image | None = None
        self._bg_rect: tuple[int, int, int, int] | None = None
        self.add_class("cw-whiteboard")
        self._build()
        self._load_background()
        self._update_undo()
        self._update_info()
        if live:
            self.start_live()

    # -- widgets ----------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.head = w.HTML(head_html(self.board, self._name(self.board.created_by)))
        self.png = WhiteboardPngWidget(self.boards, board=self.board.id)
        self.toolbar = Toolbar(self, png=self.png, read_only=self.read_only)
        bar = self.toolbar
        self.tool_buttons, self.color_buttons, self.width_buttons = (
            bar.tool_buttons,
            bar.color_buttons,
            bar.width_buttons,
        )
        self.text_input = bar.text_input
        self.undo_button, self.redo_button, self.clear_button = bar.undo_button, bar.redo_button, bar.clear_button
        self.bg_select, self.bg_set, self.bg_remove, self.bg_upload = (
            bar.bg_select,
            bar.bg_set,
            bar.bg_remove,
            bar.bg_upload,
        )
        self.error = w.HTML()
        self.error.add_class("cw-error")
        self.info = w.HTML()
        self.info.add_class("cw-wb-info")
        self.canvas = MultiCanvas(
            4,
            width=geometry.PAGE_WIDTH,
            height=geometry.PAGE_HEIGHT,
            layout=w.Layout(width=f"{geometry.PAGE_WIDTH}px", height=f"{geometry.PAGE_HEIGHT}px"),
        )
        self.canvas.add_class("cw-whiteboard-canvas")
        self.canvas.on_client_ready(self._on_ready)
        self.canvas.on_mouse_down(self.pointer_down)
        self.canvas.on_mouse_move(self.pointer_move)
        self.canvas.on_mouse_up(self.pointer_up)
        self.canvas.on_mouse_out(self._pointer_out)
        self.canvas.on_touch_start(self._touch_start)
        self.canvas.on_touch_move(self._touch_move)
        self.canvas.on_touch_end(self._touch_end)
        self.canvas.on_touch_cancel(lambda _t: self.cancel_gesture())
        self.nudge = ReadyNudge(on_canvas_shown=self._on_ready, on_rendered=self._on_rendered)
        self.children = [self.head, *bar.rows, self.error, self.canvas, self.info, self.nudge]
        bar.mark(self.tool, self.color, self.width)
        if not self.read_only:
            self.refresh_background_choices()

    def _name(self, login: str) -> str:
        if login not in self._names:
            found = self.service.people([login])
            self._names[login] = found[login].display_name if login in found else login
        return self._names[login]

    def _show_error(self, message: str) -> None:
        text = error_html(message)
        if self.error.value != text:
            self.error.value = text

    def _update_info(self) -> None:
        drawing = sorted({self._name(o["author"]) for o in self._others.values()})
        html = info_html(strokes=len(self.scene), ready=self.ready_count, zoom=self.zoom, drawing=drawing)
        if self.info.value != html:
            self.info.value = html

    def _update_undo(self) -> None:
        if self.read_only:
            return
        try:
            state = self.boards.undo_state(self.board.id)
        except ConferencingError:
            return
        self.undo_button.disabled = not state.can_undo
        self.redo_button.disabled = not state.can_redo

    # -- tool selection -----------------------------------------------------------------------------------

    def select_tool(self, tool: str) -> None:
        """Pick a tool: pen, line, arrow, rect, ellipse, text or eraser."""
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        self.cancel_gesture()
        self.tool = tool
        self.toolbar.mark(self.tool, self.color, self.width)

    def select_color(self, color: str) -> None:
        """Pick a pen colour (``#rrggbb``)."""
        self.color = color
        self.toolbar.mark(self.tool, self.color, self.width)

    def select_width(self, width: float) -> None:
        """Pick a line width."""
        self.width = float(width)
        self.toolbar.mark(self.tool, self.color, self.width)

    def to_board(self, px: float, py: float) -> tuple[float, float]:
        """Canvas pixels to board units."""
        ox, oy = self.offset
        return (float(px) - ox) / self.zoom, (float(py) - oy) / self.zoom

    # -- drawing ------------------------------------------------------------------------------------------

    def _on_ready(self) -> None:
        self.ready_count += 1
        self.nudge.acknowledged = True
        try:
            self.redraw()
        except Exception:
            # ipywidgets hands a callback's error to the kernel's IOPub, which no Voila page shows: log it.
            log.exception("whiteboard %s: replay on client ready failed", self.board.id)
            raise
        finally:
            self._update_info()

    def _on_rendered(self) -> None:
        # The page has built every model of the board only now: what _on_ready sent earlier may have been
        # dropped (ready_nudge.js), so send that state again. The strokes need no resend: they go to the canvas
        # manager, which exists before any canvas does.
        if self.ready:
            self.nudge.send_state("acknowledged")
            self.info.send_state("value")

    @property
    def ready(self) -> bool:
        """Whether a browser view is there to draw on (commands sent before that are lost)."""
        return self.ready_count > 0

    def redraw(self) -> None:
        """Replay the whole scene: background, strokes, others' strokes in progress."""
        if not self.ready:
            return
        started = time.perf_counter()
        reset_canvas_manager(self.canvas)
        with hold_canvas():
            for index in (BG, STROKES, OTHERS, LIVE):
                layer = self.canvas[index]
                clear_layer(layer)
                set_view(layer, self.zoom, self.offset)
            self._draw_background()
            commands = draw_scene(self.canvas[STROKES], self.scene)
            self._draw_others()
        self.last_replay = {"seconds": time.perf_counter() - started, "commands": float(commands)}

    def _redraw_strokes(self) -> None:
        if not self.ready:
            return
        layer = self.canvas[STROKES]
        with hold_canvas():
            clear_layer(layer)
            draw_scene(layer, self.scene)

    def _draw_background(self) -> None:
        if self._bg_widget is not None and self._bg_rect is not None and self.board.background_attachment_id:
            x, y, bw, bh = self._bg_rect
            self.canvas[BG].draw_image(self._bg_widget, x, y, bw, bh)

    def _load_background(self) -> None:
        try:
            found = self.boards.background_png(self.board.id)
        except ConferencingError as exc:
            self._show_error(str(exc))
            found = None
        if found is None:
            self._bg_widget, self._bg_rect = None, None
            return
        png, rect = found
        if self._bg_widget is None or self._bg_widget.value != png:
            # A new widget per picture: the draw command then waits for exactly this image in the browser,
            # where changing the old widget's value could race with the command that draws it.
            if self._bg_widget is not None:
                self._bg_widget.close()
            self._bg_widget = w.Image(value=png, format="png")
        self._bg_rect = rect

    def _draw_others(self) -> None:
        now = time.monotonic()
        for key in [k for k, o in self._others.items() if now - o["seen"] > PROGRESS_STALE]:
            del self._others[key]
        draw_others(self.canvas[OTHERS], self._others, self._name)

    def _redraw_others(self) -> None:
        if not self.ready:
            return
        with hold_canvas():
            clear_layer(self.canvas[OTHERS])
            self._draw_others()

    # -- actions -------------------------------------------------------------------------------------------

    def _act(self, action: Callable[[], Any], *, added: bool = False, gesture: dict[str, Any] | None = None) -> Any:
        try:
            result = action()
        except ConferencingError as exc:
            self._show_error(str(exc))
            if gesture is not None:
                self._end_progress(gesture)
                self._clear_live()
            return None
        if added:
            self._add_local(SceneRows.from_strokes([result]))
            if gesture is not None:
                self._clear_live()
        elif isinstance(result, StrokeChange):
            self.apply_change(result)
        self._update_undo()
        self._update_info()
        return result

    def undo(self) -> None:
        """Undo your own last action (never anyone else's)."""
        if not self.read_only:
            self._act(lambda: self.boards.undo(self.board.id))

    def redo(self) -> None:
        """Redo what you undid last."""
        if not self.read_only:
            self._act(lambda: self.boards.redo(self.board.id))

    def clear_mine(self) -> None:
        """Remove all your strokes (one undoable action)."""
        if not self.read_only:
            self._act(lambda: self.boards.clear_mine(self.board.id))

    def zoom_to_fit(self) -> None:
        """Zoom and pan so the whole drawing (and the background) fills the canvas."""
        boxes = []
        bounds = geometry.content_bounds(self.scene)
        if bounds is not None:
            boxes.append(bounds)
        if self._bg_rect is not None:
            x, y, bw, bh = self._bg_rect
            boxes.append((x, y, x + bw, y + bh))
        if not boxes:
            self.zoom_reset()
            return
        arr = np.asarray(boxes, np.float64)
        x0, y0, x1, y1 = arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max()
        margin = 16.0
        bw, bh = max(1.0, x1 - x0), max(1.0, y1 - y0)
        zoom = min((geometry.PAGE_WIDTH - 2 * margin) / bw, (geometry.PAGE_HEIGHT - 2 * margin) / bh)
        self.zoom = float(min(MAX_ZOOM, max(MIN_ZOOM, zoom)))
        self.offset = (
            (geometry.PAGE_WIDTH - bw * self.zoom) / 2 - x0 * self.zoom,
            (geometry.PAGE_HEIGHT - bh * self.zoom) / 2 - y0 * self.zoom,
        )
        self.redraw()
        self._update_info()

    def zoom_reset(self) -> None:
        """Show the page at 100 %."""
        self.zoom, self.offset = 1.0, (0.0, 0.0)
        self.redraw()
        self._update_info()

    # -- backgrounds ----------------------------------------------------------------------------------------

    def refresh_background_choices(self) -> None:
        """List the conversation's images and PDFs in the background chooser."""
        try:
            files = self.boards.background_choices(self.board.id)
        except ConferencingError:
            files = []
        self.toolbar.set_background_choices([(f"{a.name[:60]} ({a.media_type.split('/')[-1]})", a.id) for a in files])

    def set_background(self, attachment_id: int | None) -> None:
        """Draw a file shared in this conversation under the strokes (None removes the background)."""
        if self._act(lambda: self.boards.set_background(self.board.id, attachment_id)) is not None:
            self._after_background()

    def upload_background(self, name: str, data: bytes) -> None:
        """Share a new PNG/JPEG/PDF in the conversation and make it the background."""
        if self._act(lambda: self.boards.upload_background(self.board.id, name, data)) is not None:
            self._after_background()
            self.refresh_background_choices()

    def on_background_upload(self, change: dict[str, Any]) -> None:
        files = change.get("new") or ()
        if not files:
            return
        item = files[0]
        name = item.get("name", "background") if isinstance(item, dict) else getattr(item, "name", "background")
        content = item.get("content", b"") if isinstance(item, dict) else getattr(item, "content", b"")
        self.upload_background(str(name), bytes(content))
        self.bg_upload.value = ()  # free the bytes; the file is in the blob store now

    def _after_background(self) -> None:
        self.board = self.boards.board(self.board.id)
        self._load_background()
        if self.ready:
            layer = self.canvas[BG]
            with hold_canvas():
                clear_layer(layer)
                self._draw_background()

    # -- live ---------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop following and close the widgets."""
        self.stop_live()
        for child in (
            getattr(self, "png", None),
            getattr(self, "canvas", None),
            getattr(self, "_bg_widget", None),
            getattr(self, "nudge", None),
        ):
            if child is not None:
                child.close()
        super().close()


__all__ = ["ReadyNudge", "WhiteboardView"]
