"""The cw-video button: opens the call window in the click itself, then points it at the room URL.

Its JavaScript (``assets/video.js``) opens the new window in the click (a later ``window.open`` is blocked), asks
Python to start or join the call and then sends that window to the URL Python answers with. When the window
closes, the user has left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anywidget
import traitlets
from ipywidgets import CallbackDispatcher

from conferencing_widgets.calls.service import JoinInfo
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.ui.calls.common import CSS
from conferencing_widgets.ui.strings import TranslatedView, view_js


class VideoButton(TranslatedView, anywidget.AnyWidget):
    """The cw-video button: opens the call window from the click, then sends it to the room URL."""

    _esm = view_js("video.js")
    _css = CSS
    label = traitlets.Unicode(help="Button text.").tag(sync=True)

    @traitlets.default("label")
    def _default_label(self) -> str:
        return _("Video call")

    hint = traitlets.Unicode(help="Button tooltip.").tag(sync=True)

    @traitlets.default("hint")
    def _default_hint(self) -> str:
        return _("Start a video conference in a new window")

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
            raise ConferencingError(_("Video calls are not available on this server."))
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
            self._cw_blocked(
                _("Your browser blocked the call window. Allow pop-ups for this site, then try again.")
            )


__all__ = ["VideoButton"]
