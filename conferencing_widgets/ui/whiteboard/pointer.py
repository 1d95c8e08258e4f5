"""Pointer input of a board view: pen strokes and shapes drawn with the mouse or a finger, labels, the eraser.

The stroke being drawn is shown on the top canvas layer at once and sent to other windows as throttled
progress events; on release it is stored through the service (which checks and simplifies it) and drawn on
the strokes layer. A drag too small for its shape is dropped quietly (the service says which are).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import numpy as np
from ipycanvas import MultiCanvas, hold_canvas

from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Whiteboard
from conferencing_widgets.ui.whiteboard.drawing import LIVE, clear_layer, draw_outline
from conferencing_widgets.whiteboard.service import WhiteboardService
from conferencing_widgets.whiteboard.types import SceneRows, StrokeChange

PROGRESS_INTERVAL = 0.05
"""Seconds between progress events of a stroke being drawn (others see it move at this rate)."""
ERASER_RADIUS = 8.0
"""Eraser reach in screen pixels."""


class PointerInput:
    """Mouse and touch handling of ``WhiteboardView`` (a mixin: it uses the view's state and actions)."""

    boards: WhiteboardService
    board: Whiteboard
    read_only: bool
    sid: str
    tool: str
    color: str
    width: float
    zoom: float
    scene: SceneRows
    canvas: MultiCanvas
    text_input: w.Text
    _gesture: dict[str, Any] | None
    _touch_last: tuple[float, float]
    _erase_action: int | None

    if TYPE_CHECKING:  # provided by the view

        @property
        def ready(self) -> bool: ...
        def to_board(self, px: float, py: float) -> tuple[float, float]: ...
        def _show_error(self, message: str) -> None: ...
        def _act(
            self, action: Callable[[], Any], *, added: bool = False, gesture: dict[str, Any] | None = None
        ) -> Any: ...
        def apply_change(self, change: StrokeChange | None) -> None: ...
        def _update_undo(self) -> None: ...

    def pointer_down(self, px: float, py: float) -> None:
        """Mouse button or finger down at canvas pixel (px, py)."""
        if self.read_only:
            self._show_error(_("This whiteboard is read-only for you: only members of the conversation can draw."))
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
                    clear_layer(live)
                    draw_outline(live, g["tool"], np.asarray(g["points"]).reshape(-1, 2), g["width"])
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
            clear_layer(self.canvas[LIVE])

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


__all__ = ["ERASER_RADIUS", "PROGRESS_INTERVAL", "PointerInput"]
