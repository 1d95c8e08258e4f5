"""``ReadyNudge``: the invisible widget that makes sure a whiteboard page's canvas gets its first replay.

Drawing commands sent before a browser view of the canvas exists are lost (STACK_NOTES), so the board is drawn
only on the canvas's "client ready" event. This widget covers the rare page where that event is late or lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from conferencing_widgets.ui.strings import ASSETS

log = logging.getLogger(__name__)


class ReadyNudge(anywidget.AnyWidget):
    """Invisible: pokes the kernel a few times after the page renders until the canvas is ready (see its JS).

    Each nudge says whether the page shows the canvas. A page that shows it but whose "client ready" never reached
    the kernel after ``SHOWN_NUDGES`` nudges gets ``on_canvas_shown`` called: the view replays the scene then, so a
    lost "client ready" (the rare CI stall of issue 12) costs a second, not an empty board.

    On render the page says hello, and ``on_rendered`` is called: by then every model of the board exists in the
    page, so state sent again then cannot be dropped as an update sent during the page's load can be.
    """

    _esm = ASSETS / "ready_nudge.js"
    acknowledged = traitlets.Bool(False, help="Set by the kernel once the canvas is ready: the nudges stop.").tag(
        sync=True
    )
    nudges = traitlets.Int(0, help="Nudges received (for tests and diagnostics).")
    hellos = traitlets.Int(0, help="Hellos received: one per rendered view (for tests and diagnostics).")
    SHOWN_NUDGES = 3
    """Nudges (about 2.5 s after render) from a page showing the canvas before the kernel stops waiting."""

    def __init__(
        self,
        on_canvas_shown: Callable[[], None] | None = None,
        on_rendered: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._on_canvas_shown = on_canvas_shown
        self._on_rendered = on_rendered
        self._shown = 0
        self.on_msg(self._on_nudge)

    def _on_nudge(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "hello":
            self.hellos += 1
            if self._on_rendered is not None:
                self._on_rendered()
            return
        if content.get("type") != "nudge":
            return
        self.nudges += 1
        if self.acknowledged or content.get("canvas") is not True:
            return
        self._shown += 1
        if self._shown == self.SHOWN_NUDGES and self._on_canvas_shown is not None:
            log.warning(
                "whiteboard: the page shows the canvas but its client-ready event never arrived (%d nudges); "
                "replaying the board now",
                self.nudges,
            )
            self._on_canvas_shown()
