"""Keeping a board view in step with the store: the feed's whiteboard events, others' strokes in progress, and
the strokes an edit touched.

New strokes of others are drawn as they are committed; their strokes in progress arrive as throttled
``wb_progress`` events and are shown in the author's colour with their name. Erase, clear, undo and redo events
are applied by re-reading the affected strokes' current state, so applying an event twice, or late, converges to
what the store holds.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from ipycanvas import MultiCanvas, hold_canvas

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.events import WHITEBOARD_EVENTS, EventKind
from conferencing_widgets.core.model import Event, Whiteboard
from conferencing_widgets.ui.whiteboard.drawing import STROKES, draw_scene
from conferencing_widgets.whiteboard.service import WhiteboardService
from conferencing_widgets.whiteboard.types import SceneRows, StrokeChange


class SceneSync:
    """Feed and edit handling of ``WhiteboardView`` (a mixin: it uses the view's state and drawing)."""

    boards: WhiteboardService
    service: Service
    board: Whiteboard
    read_only: bool
    sid: str
    scene: SceneRows
    canvas: MultiCanvas
    _others: dict[str, dict[str, Any]]

    if TYPE_CHECKING:  # provided by the view

        @property
        def ready(self) -> bool: ...
        def _show_error(self, message: str) -> None: ...
        def _update_info(self) -> None: ...
        def _update_undo(self) -> None: ...
        def _redraw_strokes(self) -> None: ...
        def _redraw_others(self) -> None: ...
        def _after_background(self) -> None: ...
        def refresh_background_choices(self) -> None: ...

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


__all__ = ["SceneSync"]
