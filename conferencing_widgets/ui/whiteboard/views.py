"""Whiteboards in the app and in their own window: the ipycanvas board, the "+" entry, rows and area 3's list.

``WhiteboardView(service, board_id)`` is the board: a toolbar and a ``MultiCanvas`` with four layers
(background image, stored strokes, others' strokes in progress, the user's own stroke being drawn). It holds
no business logic: every action calls one ``WhiteboardService`` method and draws the result.

- Drawing happens only once the browser's canvas is ready (``on_client_ready``); every ready replays the whole
  stored scene, because commands sent before a view exists are lost (STACK_NOTES).
- Replay is batched: consecutive polylines of one width go out as one ``stroke_styled_line_segments`` command
  (per-polyline colours, drawing order kept); labels break the batches. The shapes are the same polylines the
  Pillow export draws (``whiteboard_render``), so the PNG looks like the screen.
- Live: the view follows the store's feed (like the app does). New strokes of others are drawn as they are
  committed; their strokes in progress arrive as throttled ``wb_progress`` events and are shown in the author's
  colour with their name. Erase, clear, undo and redo events are applied by re-reading the affected strokes'
  current state, so applying an event twice, or late, converges to what the store holds.

The dashboard page ``dashboards/whiteboard.ipynb`` calls ``whiteboard_dashboard()``; the app gets the "+" entry
(an anywidget that opens the new window from the click itself), whiteboard rows in the stream and the list of
boards in area 3 through ``install``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import math
import os
import time
import uuid
from collections.abc import Callable
from functools import partial
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as w
import numpy as np
import traitlets
from ipycanvas import MultiCanvas, hold_canvas

from conferencing_widgets.chat.events import VisibleEvents
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.events import WHITEBOARD_EVENTS, EventKind
from conferencing_widgets.core.markup import escape_text
from conferencing_widgets.core.model import Conversation, Event, Message, MessageKind, Whiteboard
from conferencing_widgets.ui.live import FeedFollower
from conferencing_widgets.ui.style import app_style
from conferencing_widgets.whiteboard import geometry as render
from conferencing_widgets.whiteboard.service import PALETTE, WIDTHS, WhiteboardService, png_file_name
from conferencing_widgets.whiteboard.types import SceneRows, StrokeChange

if TYPE_CHECKING:
    from conferencing_widgets.ui.app import ConferencingApp

log = logging.getLogger(__name__)

ASSETS = Path(__file__).parent.parent / "assets"

BG, STROKES, OTHERS, LIVE = range(4)
"""The canvas layers, bottom to top (the top one receives the pointer events)."""
TOOLS = ("pen", "line", "arrow", "rect", "ellipse", "text", "eraser")
TOOL_LABELS = {
    "pen": "Pen",
    "line": "Line",
    "arrow": "Arrow",
    "rect": "Rectangle",
    "ellipse": "Ellipse",
    "text": "Text",
    "eraser": "Eraser",
}
COLOR_NAMES = {
    "#1f1f1f": "black",
    "#e03131": "red",
    "#1971c2": "blue",
    "#2f9e44": "green",
    "#f08c00": "orange",
    "#9c36b5": "purple",
}
PROGRESS_INTERVAL = 0.05
"""Seconds between progress events of a stroke being drawn (others see it move at this rate)."""
PROGRESS_STALE = 10.0
"""Seconds after which another user's unfinished stroke is no longer shown."""
ERASER_RADIUS = 8.0
"""Eraser reach in screen pixels."""
SECTION_REFRESH_DELAY = 3.0
"""Area 3's thumbnails follow drawing at most this often (seconds)."""
BOARDS_LISTED = 20
"""Boards shown in area 3 (newest first); the rest are counted."""
MIN_ZOOM, MAX_ZOOM = 0.1, 8.0

_CSS = """
.cw-whiteboard { gap: 4px; }
.cw-whiteboard .cw-wb-toolbar { flex-wrap: wrap; gap: 2px; align-items: center; }
.cw-whiteboard .cw-wb-toolbar .widget-button { width: auto; min-width: 32px; padding: 0 8px; }
.cw-whiteboard .cw-wb-swatch { width: 28px !important; min-width: 28px !important; }
.cw-whiteboard .cw-wb-selected { outline: 2px solid #1f6feb; outline-offset: -2px; font-weight: 600; }
.cw-whiteboard canvas.cw-whiteboard-canvas { box-shadow: 0 0 0 1px #c8c8c8; touch-action: none; cursor: crosshair;
  background: #fff; margin: 1px; }
.cw-whiteboard canvas.cw-whiteboard-canvas:focus { outline: none; }
.cw-whiteboard .cw-wb-head { display: flex; gap: 10px; align-items: baseline; }
.cw-wb-card { display: flex; gap: 8px; align-items: center; }
.cw-wb-list { list-style: none; padding: 0; margin: 0; display: flex; flex-direction: column; gap: 8px; }
.cw-wb-item { display: grid; grid-template-columns: 100px 1fr; gap: 6px; align-items: start; }
.cw-wb-thumb { width: 100px; height: 64px; object-fit: contain; border: 1px solid #ddd; background: #fff; }
.cw-wb-actions { display: flex; gap: 6px; flex-wrap: wrap; margin-top: 2px; }
.cw-wb-new-root { display: inline-block; }
.cw-wb-new-note:empty, .cw-wb-png-status:empty { display: none; }
"""


def in_voila() -> bool:
    """Whether this kernel serves a Voilà dashboard (links then open the board page in a new window)."""
    return "VOILA_PREHEAT" in os.environ or "VOILA_BASE_URL" in os.environ or "QUERY_STRING" in os.environ


def page_base() -> str:
    """The base of links to other dashboards of this server: a path, so it works behind any proxy prefix."""
    return os.environ.get("VOILA_BASE_URL", "").rstrip("/")


def _reset_canvas_manager(canvas: MultiCanvas) -> None:
    # The manager remembers the last canvas it switched to; a new browser view does not. Forget it, so the first
    # command of a replay switches explicitly (otherwise strokes can land on the wrong layer or nowhere).
    manager = getattr(canvas[0], "_canvas_manager", None)
    if manager is not None and hasattr(manager, "_current_canvas"):
        manager._current_canvas = None


def _rgb_array(colors: list[str]) -> np.ndarray:
    out = np.zeros((len(colors), 3), np.uint8)
    cache: dict[str, tuple[int, int, int]] = {}
    for i, c in enumerate(colors):
        rgb = cache.get(c)
        if rgb is None:
            rgb = cache[c] = render.hex_rgb(c)
        out[i] = rgb
    return out


def draw_scene(layer: Any, scene: SceneRows) -> int:
    """Draw a scene's strokes on an ipycanvas layer in a few batched commands; returns the command count."""
    if not len(scene):
        return 0
    geo = render.scene_geometry(scene)
    colors = _rgb_array(scene.colors)
    widths = scene.widths
    owners = geo.stroke.tolist()
    counts = geo.counts
    starts = geo.starts.tolist()
    labels = geo.labels
    points = geo.points.astype(np.float32)
    commands = 0
    j, li, n = 0, 0, len(owners)
    while j < n or li < len(labels):
        next_label = labels[li][0] if li < len(labels) else math.inf
        if j < n and owners[j] < next_label:
            width = widths[owners[j]]
            k = j + 1
            while k < n and widths[owners[k]] == width and owners[k] < next_label:
                k += 1
            end = starts[k - 1] + int(counts[k - 1])
            layer.line_width = float(width)
            layer.stroke_styled_line_segments(
                points[starts[j] : end], colors[geo.stroke[j:k]], 1, points_per_line_segment=counts[j:k]
            )
            commands += 2
            j = k
        else:
            i, x, y, text = labels[li]
            layer.font = _font_css(float(widths[i]))
            layer.fill_style = scene.colors[i]
            layer.fill_text(text, x, render.text_baseline(y, float(widths[i])))
            commands += 3
            li += 1
    return commands


def _font_css(width: float) -> str:
    return f"{render.text_size(width):g}px '{render.FONT_FAMILY}', sans-serif"


# -- the board ------------------------------------------------------------------------------------------------


class WhiteboardPngWidget(anywidget.AnyWidget):
    """PNG downloads: its own button for ``board``, and clicks on ``data-cw-wb-png`` / ``data-cw-wb-open``."""

    _esm = ASSETS / "whiteboard_png.js"
    _css = _CSS
    board = traitlets.Int(0, help="The board its button downloads (0: no button, only the listener).").tag(sync=True)
    label = traitlets.Unicode("Download PNG", help="Button text.").tag(sync=True)
    listen = traitlets.Bool(
        False, help="Also answer clicks on data-cw-wb-png / data-cw-wb-open elements of the app (one per app)."
    ).tag(sync=True)

    def __init__(
        self, boards: WhiteboardService, *, on_open: Callable[[int], None] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.add_class("cw-wb-download")
        self.boards = boards
        self._on_open = on_open
        self.sent: list[dict[str, Any]] = []
        """Messages sent to the browser (for tests): ``png`` with ``name`` and ``size``, or ``error``."""
        self.on_msg(self._on_custom)

    def _on_custom(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        ref = content.get("id")
        if not isinstance(ref, int) or isinstance(ref, bool):
            return
        if content.get("type") == "png":
            self.download(ref)
        elif content.get("type") == "open" and self._on_open is not None:
            self._on_open(ref)

    def download(self, board_id: int) -> bytes | None:
        """Render a board's PNG (rights checked) and send it to the browser to save; returns the bytes."""
        try:
            board = self.boards.board(board_id)
            png = self.boards.png(board.id)
        except ConferencingError as exc:
            msg: dict[str, Any] = {"type": "error", "message": str(exc)}
            self.sent.append(msg)
            self.send(msg)
            return None
        msg = {"type": "png", "name": png_file_name(board), "size": len(png)}
        self.sent.append(msg)
        self.send(msg, [png])
        return png


class ReadyNudge(anywidget.AnyWidget):
    """Invisible: pokes the kernel a few times after the page renders until the canvas is ready (see its JS)."""

    _esm = ASSETS / "ready_nudge.js"
    acknowledged = traitlets.Bool(False, help="Set by the kernel once the canvas is ready: the nudges stop.").tag(
        sync=True
    )
    nudges = traitlets.Int(0, help="Nudges received (for tests and diagnostics).")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._on_nudge)

    def _on_nudge(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "nudge":
            self.nudges += 1


class WhiteboardView(w.VBox):
    """One board, live. ``WhiteboardView(session.boards, board_id)`` displays in a notebook or a dashboard.

    Tests and notebooks drive it without a browser: ``select_tool``, ``pointer_down/move/up`` (canvas pixels),
    ``undo``, ``redo``, ``clear_mine``, ``zoom_to_fit`` and ``refresh`` (apply feed events now).
    """

    def __init__(
        self, boards: WhiteboardService, board_id: int | str, *, live: bool = True, **kwargs: Any
    ) -> None:
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
        board = self.board
        who = self._name(board.created_by)
        self.head = w.HTML(
            f'<div class="cw-wb-head"><strong class="cw-wb-title">{escape_text(board.title)}</strong>'
            f'<span class="cw-muted">started by {escape_text(who)} · '
            f'<time datetime="{board.created_at.isoformat()}">{board.created_at.strftime("%Y-%m-%d %H:%M")}</time>'
            "</span></div>"
        )
        self.tool_buttons: dict[str, w.Button] = {}
        for name in TOOLS:
            b = w.Button(description=TOOL_LABELS[name], tooltip=TOOL_LABELS[name])
            b.add_class("cw-wb-tool")
            b.add_class(f"cw-wb-tool-{name}")
            b.on_click(lambda _b, name=name: self.select_tool(name))
            self.tool_buttons[name] = b
        self.color_buttons: dict[str, w.Button] = {}
        for color in PALETTE:
            b = w.Button(description="", tooltip=COLOR_NAMES.get(color, color))
            b.style.button_color = color
            b.add_class("cw-wb-color")
            b.add_class("cw-wb-swatch")
            b.add_class(f"cw-wb-color-{COLOR_NAMES.get(color, color.lstrip('#'))}")
            b.on_click(lambda _b, color=color: self.select_color(color))
            self.color_buttons[color] = b
        self.width_buttons: dict[float, w.Button] = {}
        for width in WIDTHS:
            b = w.Button(description=f"{width:g}", tooltip=f"Line width {width:g}")
            b.add_class("cw-wb-width")
            b.add_class(f"cw-wb-width-{int(width)}")
            b.on_click(lambda _b, width=width: self.select_width(width))
            self.width_buttons[width] = b
        self.text_input = w.Text(placeholder="Label text, then click the board", layout=w.Layout(width="200px"))
        self.text_input.add_class("cw-wb-text")
        self.undo_button = self._button("Undo", "cw-wb-undo", "Undo your last action", self.undo)
        self.redo_button = self._button("Redo", "cw-wb-redo", "Redo what you undid", self.redo)
        self.clear_button = self._button("Clear mine", "cw-wb-clear-mine", "Remove all your strokes", self.clear_mine)
        self.fit_button = self._button("Fit", "cw-wb-fit", "Zoom to fit the drawing", self.zoom_to_fit)
        self.zoom_reset_button = self._button("100%", "cw-wb-zoom-reset", "Show the page at 100 %", self.zoom_reset)
        self.png = WhiteboardPngWidget(self.boards, board=self.board.id)
        self.bg_select = w.Dropdown(options=[("(choose a shared file)", 0)], value=0, layout=w.Layout(width="220px"))
        self.bg_select.add_class("cw-wb-bg-select")
        self.bg_set = self._button("Set background", "cw-wb-bg-set", "Draw the chosen file under the strokes", None)
        self.bg_set.on_click(lambda _b: self.set_background(self.bg_select.value or None))
        self.bg_remove = self._button("Remove background", "cw-wb-bg-remove", "", lambda: self.set_background(None))
        self.bg_upload = w.FileUpload(
            accept="image/png,image/jpeg,application/pdf,.png,.jpg,.jpeg,.pdf",
            multiple=False,
            description="Upload background",
        )
        self.bg_upload.add_class("cw-wb-bg-upload")
        self.bg_upload.observe(self._on_upload, names="value")
        self.error = w.HTML()
        self.error.add_class("cw-error")
        self.info = w.HTML()
        self.info.add_class("cw-wb-info")
        self.canvas = MultiCanvas(
            4,
            width=render.PAGE_WIDTH,
            height=render.PAGE_HEIGHT,
            layout=w.Layout(width=f"{render.PAGE_WIDTH}px", height=f"{render.PAGE_HEIGHT}px"),
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
        view_tools = [self.fit_button, self.zoom_reset_button, self.png]
        if self.read_only:
            badge = w.HTML('<span class="cw-wb-readonly cw-muted">Read only: you are not a member of this chat.</span>')
            toolbar = w.HBox([badge, *view_tools])
            rows: list[w.Widget] = [toolbar]
        else:
            toolbar = w.HBox(
                [
                    *self.tool_buttons.values(),
                    *self.color_buttons.values(),
                    *self.width_buttons.values(),
                    self.text_input,
                ]
            )
            actions = w.HBox(
                [
                    self.undo_button,
                    self.redo_button,
                    self.clear_button,
                    *view_tools,
                    self.bg_select,
                    self.bg_set,
                    self.bg_remove,
                    self.bg_upload,
                ]
            )
            actions.add_class("cw-wb-toolbar")
            rows = [toolbar, actions]
        toolbar.add_class("cw-wb-toolbar")
        self.nudge = ReadyNudge()
        self.children = [self.head, *rows, self.error, self.canvas, self.info, self.nudge]
        self._mark_selection()
        if not self.read_only:
            self.refresh_background_choices()

    @staticmethod
    def _button(label: str, css: str, tooltip: str, action: Callable[[], Any] | None) -> w.Button:
        b = w.Button(description=label, tooltip=tooltip)
        b.add_class(css)
        if action is not None:
            b.on_click(lambda _b: action())
        return b

    def _mark_selection(self) -> None:
        for name, b in self.tool_buttons.items():
            (b.add_class if name == self.tool else b.remove_class)("cw-wb-selected")
        for color, b in self.color_buttons.items():
            (b.add_class if color == self.color else b.remove_class)("cw-wb-selected")
        for width, b in self.width_buttons.items():
            (b.add_class if width == self.width else b.remove_class)("cw-wb-selected")

    def _name(self, login: str) -> str:
        if login not in self._names:
            found = self.service.people([login])
            self._names[login] = found[login].display_name if login in found else login
        return self._names[login]

    def _show_error(self, message: str) -> None:
        text = f"<span>{escape(message)}</span>" if message else ""
        if self.error.value != text:
            self.error.value = text

    def _update_info(self) -> None:
        drawing = sorted({self._name(o["author"]) for o in self._others.values()})
        parts = [
            f'<span class="cw-wb-count" data-strokes="{len(self.scene)}" data-ready="{self.ready_count}">'
            f"{len(self.scene)} strokes</span>"
        ]
        parts.append(f'<span class="cw-wb-zoom">{round(self.zoom * 100)} %</span>')
        if drawing:
            parts.append(f'<span class="cw-wb-drawing">{escape_text(", ".join(drawing))} drawing…</span>')
        html = '<div class="cw-muted">' + " · ".join(parts) + "</div>"
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
        self._mark_selection()

    def select_color(self, color: str) -> None:
        """Pick a pen colour (``#rrggbb``)."""
        self.color = color
        self._mark_selection()

    def select_width(self, width: float) -> None:
        """Pick a line width."""
        self.width = float(width)
        self._mark_selection()

    # -- coordinates --------------------------------------------------------------------------------------

    def to_board(self, px: float, py: float) -> tuple[float, float]:
        """Canvas pixels to board units."""
        ox, oy = self.offset
        return (float(px) - ox) / self.zoom, (float(py) - oy) / self.zoom

    def _set_view(self, layer: Any) -> None:
        ox, oy = self.offset
        layer.set_transform(self.zoom, 0, 0, self.zoom, ox, oy)
        layer.line_cap = "round"
        layer.line_join = "round"

    @staticmethod
    def _clear(layer: Any) -> None:
        # clear() clears under the current transform: reset it first.
        layer.save()
        layer.reset_transform()
        layer.clear()
        layer.restore()

    # -- drawing ------------------------------------------------------------------------------------------

    def _on_ready(self) -> None:
        self.ready_count += 1
        self.nudge.acknowledged = True
        self.redraw()
        self._update_info()

    @property
    def ready(self) -> bool:
        """Whether a browser view is there to draw on (commands sent before that are lost)."""
        return self.ready_count > 0

    def redraw(self) -> None:
        """Replay the whole scene: background, strokes, others' strokes in progress."""
        if not self.ready:
            return
        started = time.perf_counter()
        _reset_canvas_manager(self.canvas)
        with hold_canvas():
            for index in (BG, STROKES, OTHERS, LIVE):
                layer = self.canvas[index]
                self._clear(layer)
                self._set_view(layer)
            self._draw_background()
            commands = draw_scene(self.canvas[STROKES], self.scene)
            self._draw_others()
        self.last_replay = {"seconds": time.perf_counter() - started, "commands": float(commands)}

    def _redraw_strokes(self) -> None:
        if not self.ready:
            return
        layer = self.canvas[STROKES]
        with hold_canvas():
            self._clear(layer)
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
        layer = self.canvas[OTHERS]
        now = time.monotonic()
        for key in [k for k, o in self._others.items() if now - o["seen"] > PROGRESS_STALE]:
            del self._others[key]
        for o in self._others.values():
            pts = np.asarray(o["points"], np.float64).reshape(-1, 2)
            if not len(pts):
                continue
            lines = render.shape_polylines(o["shape"], pts if o["shape"] == "pen" else pts[[0, -1]], o["width"])
            layer.stroke_style = o["color"]
            layer.line_width = o["width"]
            for line in lines:
                if len(line) > 1:
                    layer.stroke_lines(line.astype(np.float32))
            layer.font = "12px sans-serif"
            layer.fill_style = o["color"]
            x, y = pts[-1]
            layer.fill_text(self._name(o["author"]), float(x) + 8, float(y) - 8)

    def _redraw_others(self) -> None:
        if not self.ready:
            return
        with hold_canvas():
            self._clear(self.canvas[OTHERS])
            self._draw_others()

    # -- pointer input --------------------------------------------------------------------------------------

    def pointer_down(self, px: float, py: float) -> None:
        """Mouse button or finger down at canvas pixel (px, py)."""
        if self.read_only:
            self._show_error("This whiteboard is read-only for you: only members of the conversation can draw.")
            return
        self.cancel_gesture()
        x, y = self.to_board(px, py)
        self._show_error("")
        if self.tool == "text":
            label = self.text_input.value
            self._act(
                lambda: self.boards.add_stroke(
                    self.board.id, "text", [x, y], color=self.color, width=self.width, text=label, sid=self.sid
                ),
                added=True,
            )
            return
        if self.tool == "eraser":
            self._erase_action = None
            self._gesture = {"tool": "eraser", "last": (px, py)}
            self._erase_at(x, y)
            return
        shape = "pen" if self.tool == "pen" else self.tool
        self._gesture = {
            "tool": shape,
            "points": [x, y],
            "pending": [x, y],
            "sent_at": 0.0,
            "events": [],
            "started": False,
            "color": self.color,
            "width": self.width,
        }
        if self.ready:
            live = self.canvas[LIVE]
            with hold_canvas():
                live.stroke_style = self.color
                live.line_width = self.width
                live.fill_style = self.color
                if shape == "pen":
                    live.fill_circle(x, y, self.width / 2)

    def pointer_move(self, px: float, py: float) -> None:
        """Pointer moved to canvas pixel (px, py)."""
        g = self._gesture
        if g is None:
            return
        if g["tool"] == "eraser":
            lx, ly = g["last"]
            if abs(px - lx) + abs(py - ly) >= 2:
                g["last"] = (px, py)
                self._erase_at(*self.to_board(px, py))
            return
        x, y = self.to_board(px, py)
        pts = g["points"]
        if g["tool"] == "pen":
            if abs(x - pts[-2]) + abs(y - pts[-1]) < 0.5 / self.zoom:
                return
            x0, y0 = pts[-2], pts[-1]
            pts.extend((x, y))
            g["pending"].extend((x, y))
            if self.ready:
                self.canvas[LIVE].stroke_line(x0, y0, x, y)
        else:
            g["points"] = [pts[0], pts[1], x, y]
            g["pending"] = list(g["points"])
            if self.ready:
                live = self.canvas[LIVE]
                with hold_canvas():
                    self._clear(live)
                    for line in render.shape_polylines(g["tool"], np.asarray(g["points"]).reshape(-1, 2), g["width"]):
                        live.stroke_lines(line.astype(np.float32))
        self._send_progress(g)

    def pointer_up(self, px: float, py: float) -> None:
        """Pointer released at canvas pixel (px, py): the stroke or shape is stored."""
        g = self._gesture
        if g is None:
            return
        if g["tool"] != "eraser":
            self.pointer_move(px, py)
        self._gesture = None
        if g["tool"] == "eraser":
            self._erase_action = None
            return
        pts = g["points"] if g["tool"] == "pen" else g["points"][:2] + g["points"][-2:]
        if self.boards.too_small(g["tool"], pts):
            self._end_progress(g)
            self._clear_live()
            return
        self._act(
            lambda: self.boards.add_stroke(
                self.board.id,
                g["tool"],
                pts,
                color=g["color"],
                width=g["width"],
                sid=self.sid,
                progress_event_ids=g["events"],
            ),
            added=True,
            gesture=g,
        )

    def _pointer_out(self, px: float, py: float) -> None:
        # Leaving the canvas ends the stroke where it left (a stroke never waits for a mouse-up that never comes).
        if self._gesture is not None:
            self.pointer_up(px, py)

    def _touch_start(self, touches: list[tuple[float, float]]) -> None:
        if touches:
            self._touch_last = touches[0]
            self.pointer_down(*touches[0])

    def _touch_move(self, touches: list[tuple[float, float]]) -> None:
        if touches:
            self._touch_last = touches[0]
            self.pointer_move(*touches[0])

    def _touch_end(self, touches: list[tuple[float, float]]) -> None:
        # touchend lists the fingers still down: the lifted one ended where it last moved.
        if not touches and self._gesture is not None:
            self.pointer_up(*self._touch_last)

    def cancel_gesture(self) -> None:
        """Drop a stroke being drawn without storing it."""
        g, self._gesture = self._gesture, None
        if g is not None and g["tool"] != "eraser":
            self._end_progress(g)
        self._erase_action = None
        self._clear_live()

    def _clear_live(self) -> None:
        if self.ready:
            self._clear(self.canvas[LIVE])

    def _send_progress(self, g: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - g["sent_at"] < PROGRESS_INTERVAL or not g["pending"]:
            return
        if not g["started"]:
            # A click or a twitch is no drawing to show: start telling others once the pointer really moved.
            x0, y0 = g["points"][0], g["points"][1]
            if max(abs(v - x0) for v in g["points"][0::2]) + max(abs(v - y0) for v in g["points"][1::2]) < 3:
                return
        first = not g["started"]
        points = g["pending"]
        if g["tool"] == "pen" and not first:
            points = g["points"][-len(points) - 2 :]  # the joint with the previous chunk, so no gap shows
        try:
            event_id = self.boards.progress(
                self.board.id,
                sid=self.sid,
                shape=g["tool"],
                points=points[-800:],
                color=g["color"],
                width=g["width"],
                start=first or g["tool"] != "pen",
            )
        except ConferencingError:
            return  # a preview only: the stroke itself is checked when it is stored
        g["sent_at"] = now
        g["pending"] = []
        g["started"] = True
        if event_id is not None:
            g["events"].append(event_id)

    def _end_progress(self, g: dict[str, Any]) -> None:
        if not g.get("started"):
            return
        with contextlib.suppress(ConferencingError):
            self.boards.progress(
                self.board.id, sid=self.sid, shape=g["tool"], points=[], color=g["color"], width=g["width"], end=True
            )

    def _erase_at(self, x: float, y: float) -> None:
        try:
            change = self.boards.erase_at(
                self.board.id,
                x,
                y,
                radius=ERASER_RADIUS / self.zoom,
                scene=self.scene,
                extend_action=self._erase_action,
            )
        except ConferencingError as exc:
            self._show_error(str(exc))
            return
        if change.action_id is not None:
            self._erase_action = change.action_id
        self.apply_change(change)
        self._update_undo()

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

    def _add_local(self, rows: SceneRows) -> None:
        known = np.isin(rows.ids, self.scene.ids)
        fresh = rows.select(~known) if known.any() else rows
        if not len(fresh):
            return
        append = not len(self.scene) or fresh.ids.min() > self.scene.ids.max()
        self.scene = self.scene.merge(fresh)
        if not self.ready:
            return
        if append:
            layer = self.canvas[STROKES]
            with hold_canvas():
                draw_scene(layer, fresh)
        else:
            self._redraw_strokes()

    def apply_change(self, change: StrokeChange | None) -> None:
        """Show an erase, clear, undo or redo (the store's current state of the strokes it touched)."""
        if change is None or change.empty:
            return
        self._sync_strokes(set(change.removed) | set(change.restored))

    def _sync_strokes(self, affected: set[int], *, added: set[int] | None = None) -> None:
        """Bring the affected strokes in line with the store (visible ones shown, hidden ones gone)."""
        wanted = affected | (added or set())
        if not wanted:
            return
        try:
            visible = self.boards.scene(self.board.id, ids=sorted(wanted))
        except ConferencingError as exc:
            self._show_error(str(exc))
            return
        gone = np.asarray(sorted(affected - set(visible.ids.tolist())), np.int64)
        if len(gone) and np.isin(gone, self.scene.ids).any():
            # Something disappeared: the strokes layer is drawn again from the updated scene.
            self.scene = self.scene.select(~np.isin(self.scene.ids, gone))
            self.scene = self.scene.merge(visible.select(~np.isin(visible.ids, self.scene.ids)))
            self._redraw_strokes()
        else:
            self._add_local(visible)
        self._update_info()

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
        bounds = render.content_bounds(self.scene)
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
        zoom = min((render.PAGE_WIDTH - 2 * margin) / bw, (render.PAGE_HEIGHT - 2 * margin) / bh)
        self.zoom = float(min(MAX_ZOOM, max(MIN_ZOOM, zoom)))
        self.offset = (
            (render.PAGE_WIDTH - bw * self.zoom) / 2 - x0 * self.zoom,
            (render.PAGE_HEIGHT - bh * self.zoom) / 2 - y0 * self.zoom,
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
        options = [("(choose a shared file)", 0)] + [
            (f"{a.name[:60]} ({a.media_type.split('/')[-1]})", a.id) for a in files
        ]
        if list(self.bg_select.options) != options:
            self.bg_select.options = options

    def set_background(self, attachment_id: int | None) -> None:
        """Draw a file shared in this conversation under the strokes (None removes the background)."""
        if self._act(lambda: self.boards.set_background(self.board.id, attachment_id)) is not None:
            self._after_background()

    def upload_background(self, name: str, data: bytes) -> None:
        """Share a new PNG/JPEG/PDF in the conversation and make it the background."""
        if self._act(lambda: self.boards.upload_background(self.board.id, name, data)) is not None:
            self._after_background()
            self.refresh_background_choices()

    def _on_upload(self, change: dict[str, Any]) -> None:
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
                self._clear(layer)
                self._draw_background()

    # -- live ---------------------------------------------------------------------------------------------

    def apply_events(self, events: list[Event]) -> None:
        """Apply a batch of feed events (only this board's are looked at)."""
        bid = self.board.id
        added: set[int] = set()
        affected: set[int] = set()
        reload = background = others = mine = files = False
        for e in events:
            if e.kind == EventKind.ATTACHMENT and e.conversation_id == self.board.conversation_id:
                files = True  # a new file in the chat may be chosen as background
            if e.kind not in WHITEBOARD_EVENTS or e.payload.get("board") != bid:
                continue
            if e.kind == EventKind.WB_STROKE and e.ref_id is not None:
                added.add(int(e.ref_id))
                sid = e.payload.get("sid")
                if sid and self._others.pop(str(sid), None) is not None:
                    others = True
                mine = mine or e.payload.get("author") == self.service.login
            elif e.kind == EventKind.WB_CHANGE:
                if e.payload.get("reload"):
                    reload = True
                else:
                    affected.update(int(i) for i in e.payload.get("removed", []) + e.payload.get("restored", []))
                mine = mine or e.payload.get("author") == self.service.login
            elif e.kind == EventKind.WB_PROGRESS:
                others = self._progress(e) or others
            elif e.kind == EventKind.WHITEBOARD and e.payload.get("what") == "background":
                background = True
        if reload:
            self.scene = self.boards.scene(bid)
            self._redraw_strokes()
        else:
            known = set(self.scene.ids.tolist())
            fresh = {i for i in added if i not in known}
            if fresh or affected:
                self._sync_strokes(affected, added=fresh)
        if background:
            self._after_background()
        if (background or files) and not self.read_only:
            self.refresh_background_choices()
        if others:
            self._redraw_others()
        if mine:
            self._update_undo()
        self._update_info()

    def _progress(self, e: Event) -> bool:
        p = e.payload
        sid = p.get("sid")
        if not isinstance(sid, str) or sid == self.sid:
            return False
        if p.get("end"):
            return self._others.pop(sid, None) is not None
        pts = p.get("points") or []
        entry = self._others.get(sid)
        if entry is None or p.get("start"):
            entry = self._others[sid] = {
                "author": str(p.get("author", "")),
                "shape": p.get("shape", "pen"),
                "color": p.get("color", "#000000"),
                "width": float(p.get("width", 2.0)),
                "points": [],
            }
            entry["points"] = list(pts)
        else:
            entry["points"].extend(pts)
        entry["seen"] = time.monotonic()
        return True

    def refresh(self) -> int:
        """Apply everything new in the feed now (tests and notebooks without a running loop)."""
        return self.live.refresh()

    def start_live(self) -> None:
        """Follow the feed in the kernel's event loop (keeps running after the cell finished)."""
        self.live.start()

    def close(self) -> None:
        """Stop following and close the widgets."""
        if hasattr(self, "live"):  # close() also runs from ipywidgets' __del__ on half-built objects
            self.live.stop()
        for child in (
            getattr(self, "png", None),
            getattr(self, "canvas", None),
            getattr(self, "_bg_widget", None),
            getattr(self, "nudge", None),
        ):
            if child is not None:
                child.close()
        super().close()


# -- the "+" entry -------------------------------------------------------------------------------------------


class NewWhiteboardButton(anywidget.AnyWidget):
    """The "+" menu's *Whiteboard session*: creates a board and opens it in a new window from the click itself."""

    _esm = ASSETS / "whiteboard_new.js"
    _css = _CSS
    label = traitlets.Unicode("Whiteboard session", help="Button text.").tag(sync=True)
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


# -- HTML for the stream and area 3 ----------------------------------------------------------------------------


def _open_control(boards: WhiteboardService, board: Whiteboard) -> str:
    """A link to the board page (dashboards), or an "open here" button (JupyterLab)."""
    if in_voila():
        try:
            url = boards.url(board.id, base_url=page_base())
        except ConferencingError:
            url = ""
        if url:
            return (
                f'<a class="cw-wb-open" href="{escape(url, quote=True)}" target="_blank" rel="noopener">'
                "Open whiteboard</a>"
            )
    return f'<button type="button" class="cw-wb-open" data-cw-wb-open="{board.id}">Open whiteboard</button>'


def _png_control(board: Whiteboard) -> str:
    return f'<button type="button" class="cw-wb-png" data-cw-wb-png="{board.id}">Download PNG</button>'


def whiteboard_message_html(boards: WhiteboardService, message: Message) -> str:
    """The stream row of a whiteboard message: its title, an Open link and a PNG download."""
    try:
        board = boards.board(message.ref_id) if message.ref_id is not None else None
    except ConferencingError:
        board = None
    if board is None or board.conversation_id != message.conversation_id:
        # A dangling or forged reference never reveals another conversation's board.
        return '<em class="cw-muted">This whiteboard is not available.</em>'
    return (
        f'<div class="cw-wb-card" data-board="{board.id}"><span>Started a whiteboard: '
        f"<strong>{escape_text(board.title)}</strong></span>"
        f'<span class="cw-wb-actions">{_open_control(boards, board)}{_png_control(board)}</span></div>'
    )


def whiteboards_section_html(boards: WhiteboardService, conversation: Conversation) -> str:
    """Area 3's Whiteboards section: thumbnail, title, who started it and when; open or download each."""
    service = boards.service
    items = boards.boards(conversation.id, limit=BOARDS_LISTED)
    if not items:
        return ""
    total = boards.count(conversation.id) if len(items) >= BOARDS_LISTED else len(items)
    people = service.people({b.created_by for b in items})
    rows = []
    for board in items:
        who = people[board.created_by].display_name if board.created_by in people else board.created_by
        try:
            thumb = base64.b64encode(boards.thumbnail(board)).decode("ascii")
            img = f'<img class="cw-wb-thumb" src="data:image/png;base64,{thumb}" alt="">'
        except ConferencingError:
            img = '<span class="cw-wb-thumb"></span>'
        rows.append(
            f'<li class="cw-wb-item" data-board="{board.id}">{img}<div>'
            f'<div class="cw-wb-item-title"><strong>{escape_text(board.title)}</strong></div>'
            f'<div class="cw-muted">by {escape_text(who)} · <time datetime="{board.created_at.isoformat()}">'
            f"{board.created_at.strftime('%Y-%m-%d %H:%M')}</time></div>"
            f'<div class="cw-wb-actions">{_open_control(boards, board)}{_png_control(board)}</div></div></li>'
        )
    more = (
        f'<div class="cw-muted">{total - len(items)} older whiteboards not shown.</div>' if total > len(items) else ""
    )
    return f'<ul class="cw-wb-list">{"".join(rows)}</ul>{more}'


# -- wiring into the app ----------------------------------------------------------------------------------------


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
                raise ConferencingError("Open a conversation first.")
            board = self.boards.create(conv.id)
        except ConferencingError as exc:
            self.app.messages.error.value = escape(str(exc))
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
            self.app.messages.error.value = escape(str(exc))
            return
        if self.inline is not None:
            self.inline.close()
        self.inline = view
        close = w.Button(description="Close whiteboard")
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


# -- the board page ----------------------------------------------------------------------------------------------


def whiteboard_page(boards: WhiteboardService, board_id: int | str | None) -> w.Widget:
    """The board window's content (``dashboards/whiteboard.ipynb``), or a clear "cannot be opened"."""
    try:
        view = WhiteboardView(boards, board_id or 0)
    except ConferencingError as exc:
        body = w.HTML(
            f'<h2>This whiteboard cannot be opened</h2><p class="cw-error">{escape(str(exc))}</p>'
            '<p class="cw-muted">Open it again from its conversation.</p>'
        )
        page = w.VBox([app_style(), body])
        page.add_class("cw-wb-missing")
        return page
    page = w.VBox([app_style(), view])
    page.add_class("cw-whiteboard-page")
    return page


__all__ = [
    "NewWhiteboardButton",
    "WhiteboardFeature",
    "WhiteboardPngWidget",
    "WhiteboardView",
    "draw_scene",
    "install",
    "whiteboard_page",
    "whiteboard_message_html",
    "whiteboards_section_html",
]
