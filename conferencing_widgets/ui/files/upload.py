"""The "+" menu's Upload new file entry (CSS class ``cw-upload``).

Its JavaScript (``assets/upload.js``) opens the file chooser from the click itself and sends each file in binary
chunks, a few in flight, so no websocket frame comes near the limit and the kernel stays responsive. Python only
passes the chunks to an ``UploadSession`` of the file service and acknowledges them.
"""

from __future__ import annotations

import collections
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.model import Attachment, Conversation
from conferencing_widgets.files.service import FileService, UploadSession, human_size
from conferencing_widgets.ui.files.style import FILES_CSS

log = logging.getLogger(__name__)

ASSETS = Path(__file__).parent.parent / "assets"

UPLOAD_CHUNK_BYTES = 512 * 1024
"""Bytes per chunk the browser sends (well under the 10 MiB websocket frame limit). See benchmarks/upload_bench."""
UPLOAD_WINDOW = 2
"""Chunks in flight before the browser waits for an acknowledgement."""


class UploadWidget(anywidget.AnyWidget):
    """The "+" menu's Upload new file entry: file chooser, chunked sending, progress bars."""

    _esm = ASSETS / "upload.js"
    _css = FILES_CSS
    key = traitlets.Unicode(help="Unique id that ties the browser's upload queue to this widget.").tag(sync=True)
    label = traitlets.Unicode("Upload new file", help="Button text.").tag(sync=True)
    disabled = traitlets.Bool(False, help="True while no conversation the user may post in is open.").tag(sync=True)
    max_bytes = traitlets.Int(0, help="Largest file accepted; bigger ones are refused before sending.").tag(sync=True)
    max_label = traitlets.Unicode("", help="The size limit in words, e.g. '100 MB'.").tag(sync=True)
    chunk_bytes = traitlets.Int(UPLOAD_CHUNK_BYTES, help="Bytes per chunk sent by the browser.").tag(sync=True)
    window = traitlets.Int(UPLOAD_WINDOW, help="Chunks in flight before the browser waits.").tag(sync=True)

    def __init__(self, files: FileService, conversation: Callable[[], Conversation | None], **kwargs: Any) -> None:
        limit = files.settings.max_upload_bytes
        # Read at call time, so a benchmark (or a deployment's startup code) can tune the module constants.
        kwargs.setdefault("chunk_bytes", UPLOAD_CHUNK_BYTES)
        kwargs.setdefault("window", UPLOAD_WINDOW)
        super().__init__(key=uuid.uuid4().hex, max_bytes=limit, max_label=human_size(limit), **kwargs)
        self.add_class("cw-upload")
        self.service = files.service
        self.files = files
        self._conversation = conversation
        self._uploads: dict[str, UploadSession] = {}
        self._done: list[Callable[[Attachment], None]] = []
        self.replies: collections.deque[dict[str, Any]] = collections.deque(maxlen=32)
        """The last messages sent to the browser (for tests and debugging)."""
        self.on_msg(self._on_custom)

    def on_uploaded(self, callback: Callable[[Attachment], None]) -> None:
        """Register ``callback(attachment)`` for each finished upload."""
        self._done.append(callback)

    def _reply(self, msg: dict[str, Any]) -> None:
        self.replies.append(msg)
        self.send(msg)

    # -- what the browser sends -----------------------------------------------------------------------

    def receive(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        """Handle one message from the browser (also how tests drive an upload without one)."""
        kind = content.get("type")
        uid = content.get("uid")
        if not isinstance(uid, str) or not uid or len(uid) > 64:
            return
        if kind == "begin":
            self._begin(uid, content)
        elif kind == "chunk":
            self._chunk(uid, content, buffers or [])
        elif kind == "end":
            self._end(uid)
        elif kind == "cancel":
            session = self._uploads.pop(uid, None)
            if session is not None:
                session.cancel()

    def _on_custom(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        self.receive(content, buffers)

    def _begin(self, uid: str, content: dict[str, Any]) -> None:
        conv = self._conversation()
        if conv is None:
            self._reply({"type": "refused", "uid": uid, "message": "Open a conversation first."})
            return
        if uid in self._uploads:
            return
        try:
            session = self.files.begin_upload(
                conv.id, str(content.get("name", "")), content.get("size"), client_id=f"upload-{uid[:32]}"
            )
        except ConferencingError as exc:
            self._reply({"type": "refused", "uid": uid, "message": str(exc)})
            return
        self._uploads[uid] = session
        self._reply({"type": "ready", "uid": uid})

    def _chunk(self, uid: str, content: dict[str, Any], buffers: list[Any]) -> None:
        session = self._uploads.get(uid)
        if session is None:
            self._reply({"type": "failed", "uid": uid, "message": "This upload is no longer running; start again."})
            return
        try:
            if len(buffers) != 1:
                raise ConferencingError("An upload chunk arrived without its data; upload the file again.")
            received = session.write(buffers[0], content.get("offset"))
        except ConferencingError as exc:
            self._uploads.pop(uid, None)
            session.cancel()
            self._reply({"type": "failed", "uid": uid, "message": str(exc)})
            return
        self.send({"type": "ack", "uid": uid, "received": received})

    def _end(self, uid: str) -> None:
        session = self._uploads.pop(uid, None)
        if session is None:
            self._reply({"type": "failed", "uid": uid, "message": "This upload is no longer running; start again."})
            return
        try:
            att = session.finish()
        except ConferencingError as exc:
            self._reply({"type": "failed", "uid": uid, "message": str(exc)})
            return
        self._reply({"type": "done", "uid": uid, "attachment": att.id})
        for callback in self._done:
            try:
                callback(att)
            except Exception:  # noqa: BLE001 - the upload itself succeeded
                log.exception("upload callback failed")

    def close(self) -> None:
        """Cancel running uploads (their temporary files go) and close the widget."""
        for session in getattr(self, "_uploads", {}).values():
            session.cancel()
        self._uploads = {}
        super().close()


__all__ = ["UPLOAD_CHUNK_BYTES", "UPLOAD_WINDOW", "UploadWidget"]
