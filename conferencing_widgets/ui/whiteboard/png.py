"""PNG downloads of boards: one anywidget per board view (its own button) or per app (answers the
``data-cw-wb-png`` / ``data-cw-wb-open`` controls of the stream and area 3). The kernel renders the PNG
(rights checked by the service) and sends the bytes over the comm; the browser saves them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.ui.strings import ASSETS, TranslatedView, view_js
from conferencing_widgets.whiteboard.service import WhiteboardService, png_file_name

CSS = ASSETS / "whiteboard.css"
"""The feature's stylesheet, carried by its anywidgets."""


class WhiteboardPngWidget(TranslatedView, anywidget.AnyWidget):
    """PNG downloads: its own button for ``board``, and clicks on ``data-cw-wb-png`` / ``data-cw-wb-open``."""

    _esm = view_js("whiteboard_png.js")
    _css = CSS
    board = traitlets.Int(0, help="The board its button downloads (0: no button, only the listener).").tag(sync=True)
    label = traitlets.Unicode(help="Button text.").tag(sync=True)

    @traitlets.default("label")
    def _default_label(self) -> str:
        return _("Download PNG")

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


__all__ = ["ASSETS", "CSS", "WhiteboardPngWidget"]
