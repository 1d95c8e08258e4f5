"""The file viewer: ONE panel for every preview and download of the app (CSS class ``cw-viewer``).

A click on any ``data-cw-file`` element of the app asks Python, which checks the rights (through the file service)
and sends the bytes over the comm (a Voila kernel cannot add HTTP routes); the browser (``assets/viewer.js``) turns
them into a Blob URL.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from typing import Any

import anywidget

from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import safe_filename_display
from conferencing_widgets.core.model import Attachment
from conferencing_widgets.files.service import FileService, human_size
from conferencing_widgets.ui.files.style import FILES_CSS
from conferencing_widgets.ui.files.tables import table_preview_html
from conferencing_widgets.ui.strings import TranslatedView, view_js

VIEW_CHUNK_BYTES = 2 * 1024 * 1024
"""Bytes per message when sending a file to the browser."""


class FileViewerWidget(TranslatedView, anywidget.AnyWidget):
    """One panel for every preview and download. ``open_file(id)`` does what a click on a file does."""

    _esm = view_js("viewer.js")
    _css = FILES_CSS

    def __init__(self, files: FileService, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("cw-viewer")
        self.service = files.service
        self.files = files
        self._req = 0
        self.shown: dict[str, Any] | None = None
        """The last preview sent (for tests): name, kind, media_type, ..."""
        self.replies: collections.deque[dict[str, Any]] = collections.deque(maxlen=32)
        self.on_msg(self._on_custom)

    def _on_custom(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        ref = content.get("id")
        if kind == "closed":
            self.shown = None
        elif not isinstance(ref, int) or isinstance(ref, bool):
            return  # a malformed id from the page: ignore it
        elif kind == "open":
            self.open_file(ref)
        elif kind == "download":
            self.download_file(ref)

    def _error(self, message: str) -> None:
        self.shown = None
        msg = {"type": "error", "message": message}
        self.replies.append(msg)
        self.send(msg)

    def open_file(self, attachment_id: int) -> None:
        """Show a file: an image, PDF or video inline, text as text, a CSV/TSV file as a table preview (server-made
        HTML, escaped), anything else as a download."""
        try:
            preview = self.files.preview(attachment_id)
        except ConferencingError as exc:
            self._error(str(exc))
            return
        att = preview.attachment
        self._req += 1
        streaming = preview.kind in ("image", "pdf", "video")
        note = ""
        if preview.kind == "download":
            note = _("This kind of file is not shown here; it is downloaded under its original name.")
        table_html = table_preview_html(preview.table, att.name) if preview.table is not None else ""
        self.shown = {
            "type": "show",
            "req": self._req,
            "id": att.id,
            "name": safe_filename_display(att.name, 300),
            "download_name": preview.download_name,
            "media_type": att.media_type,
            "size": att.size,
            "size_text": human_size(att.size),
            "kind": preview.kind,
            "text": preview.text,
            "truncated": preview.truncated,
            "streaming": streaming,
            "note": note,
            "table_html": table_html,
        }
        self.replies.append(self.shown)
        self.send(self.shown)
        if streaming:
            self._stream(self._req, att)
        elif preview.kind == "download":
            self.download_file(att.id)

    def download_file(self, attachment_id: int) -> None:
        """Send a file's exact bytes for the browser to save under its original name."""
        try:
            preview = self.files.preview(attachment_id)
        except ConferencingError as exc:
            self._error(str(exc))
            return
        self._req += 1
        msg = {
            "type": "save",
            "req": self._req,
            "download_name": preview.download_name,
            "size": preview.attachment.size,
        }
        self.replies.append(msg)
        self.send(msg)
        self._stream(self._req, preview.attachment)

    def _stream(self, req: int, att: Attachment) -> None:
        try:
            _att, chunks = self.files.iter_bytes(att.id, VIEW_CHUNK_BYTES)
        except ConferencingError as exc:
            self._error(str(exc))
            return
        messages = self._messages(req, chunks)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            for content, buffers in messages:  # no event loop (tests, scripts): send at once
                self.send(content, buffers)
            return

        async def pace() -> None:
            # One chunk per loop turn, so other messages (clicks, chat) are served during a big download.
            for content, buffers in messages:
                self.send(content, buffers)
                await asyncio.sleep(0)

        loop.create_task(pace())

    def _messages(self, req: int, chunks: Iterator[bytes]) -> Iterator[tuple[dict[str, Any], list[bytes]]]:
        try:
            pending = next(chunks, None)
            seq = 0
            while pending is not None:
                following = next(chunks, None)
                yield {"type": "bytes", "req": req, "seq": seq, "last": following is None}, [pending]
                pending, seq = following, seq + 1
        except ConferencingError as exc:
            yield {"type": "error", "req": req, "message": str(exc)}, []

    def hide(self) -> None:
        """Close the panel."""
        self.shown = None
        self.send({"type": "hide"})


__all__ = ["VIEW_CHUNK_BYTES", "FileViewerWidget"]
