"""The "+" menu's Upload new file entry (CSS class ``cw-upload``).

Its JavaScript (``assets/upload.js``, with ``upload_http.js`` for the resumable endpoint and ``upload_outbox.js``
for files kept offline) opens the file chooser from the click itself. Each file then travels outside the kernel:
Python checks the upload (rights, size, name) and answers with a short-lived upload token; the browser sends the
bytes to the Voilà server's resumable endpoint (``voila/upload_handler.py``) in big HTTP PATCH requests, resumes
from the server's offset after a dropout or a page reload, and tells Python the attachment id once the server has
stored the file; Python checks it is this user's file in this conversation and refreshes the page.

Offline (issue 16): a file chosen while the page cannot reach the network or its kernel waits in the browser's
IndexedDB under the signed-in user's ``outbox_scope``, with the ``conversation_id`` open when it was chosen; once
the page is back (or after a reload) it asks for a token for that conversation (``token``, checked like any
resume) and goes the same way. Its client id comes from its uid, so a second try never stores it twice.

Fallback, where there is no endpoint (a notebook in JupyterLab, a server without ``voila.json``): the browser
sends the file in binary chunks over the kernel websocket (``begin`` with ``mode: "ws"``, ``chunk``, ``end``),
and Python passes them to an ``UploadSession`` of the file service.
"""

from __future__ import annotations

import collections
import logging
import uuid
from collections.abc import Callable
from typing import Any

import anywidget
import traitlets

from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Attachment, Conversation
from conferencing_widgets.files.resumable import UPLOAD_PATH
from conferencing_widgets.files.service import FileService, UploadSession, human_size
from conferencing_widgets.ui.files.style import FILES_CSS
from conferencing_widgets.ui.outbox import outbox_scope
from conferencing_widgets.ui.strings import TranslatedView, view_js

log = logging.getLogger(__name__)


UPLOAD_CHUNK_BYTES = 512 * 1024
"""Bytes per chunk the browser sends (well under the 10 MiB websocket frame limit). See benchmarks/upload_bench."""
UPLOAD_WINDOW = 2
"""Chunks in flight before the browser waits for an acknowledgement."""
HTTP_CHUNK_BYTES = 8 * 1024 * 1024
"""Bytes per PATCH request to the endpoint (a reverse proxy's client_max_body_size must allow it)."""


class UploadWidget(TranslatedView, anywidget.AnyWidget):
    """The "+" menu's Upload new file entry: file chooser, chunked sending, progress bars."""

    _esm = view_js("upload_outbox.js", "upload_http.js", "upload.js")
    _css = FILES_CSS
    key = traitlets.Unicode(help="Unique id that ties the browser's upload queue to this widget.").tag(sync=True)
    label = traitlets.Unicode(help="Button text.").tag(sync=True)

    @traitlets.default("label")
    def _default_label(self) -> str:
        return _("Upload new file")

    disabled = traitlets.Bool(False, help="True while no conversation the user may post in is open.").tag(sync=True)
    max_bytes = traitlets.Int(0, help="Largest file accepted; bigger ones are refused before sending.").tag(sync=True)
    max_label = traitlets.Unicode("", help="The size limit in words, e.g. '100 MB'.").tag(sync=True)
    chunk_bytes = traitlets.Int(UPLOAD_CHUNK_BYTES, help="Bytes per chunk sent by the browser.").tag(sync=True)
    window = traitlets.Int(UPLOAD_WINDOW, help="Chunks in flight before the browser waits.").tag(sync=True)
    endpoint = traitlets.Unicode(UPLOAD_PATH, help="The resumable endpoint's path under Voila's base URL.").tag(
        sync=True
    )
    http_chunk_bytes = traitlets.Int(HTTP_CHUNK_BYTES, help="Bytes per PATCH request to the endpoint.").tag(sync=True)
    camera_label = traitlets.Unicode("", help="Text of the camera button on phones and tablets.").tag(sync=True)
    outbox_scope = traitlets.Unicode(
        "", help="The signed-in user's key for files kept offline in the browser (a hash of the login)."
    ).tag(sync=True)
    conversation_id = traitlets.Int(
        0, help="The open conversation (0: none): where a file chosen offline belongs."
    ).tag(sync=True)

    def __init__(self, files: FileService, conversation: Callable[[], Conversation | None], **kwargs: Any) -> None:
        limit = files.settings.max_upload_bytes
        # Read at call time, so a benchmark (or a deployment's startup code) can tune the module constants.
        kwargs.setdefault("chunk_bytes", UPLOAD_CHUNK_BYTES)
        kwargs.setdefault("window", UPLOAD_WINDOW)
        kwargs.setdefault("http_chunk_bytes", HTTP_CHUNK_BYTES)
        kwargs.setdefault("camera_label", _("Take a photo"))
        kwargs.setdefault("outbox_scope", outbox_scope(files.service.login))
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
        if kind == "begin" and content.get("mode") == "http":
            self._grant(uid, content)
        elif kind == "token":
            self._refresh(uid, content)
        elif kind == "uploaded":
            self._uploaded(uid, content)
        elif kind == "begin":
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

    def _grant(self, uid: str, content: dict[str, Any]) -> None:
        # Checked here first (rights, size, name): a refusal never costs a request to the endpoint.
        conv = self._conversation()
        if conv is None:
            self._reply({"type": "refused", "uid": uid, "message": _("Open a conversation first.")})
            return
        try:
            name, token = self.files.upload_token(conv.id, str(content.get("name", "")), content.get("size"))
        except ConferencingError as exc:
            self._reply({"type": "refused", "uid": uid, "message": str(exc)})
            return
        self._reply({"type": "token", "uid": uid, "token": token, "name": name, "conversation": conv.id})

    def _refresh(self, uid: str, content: dict[str, Any]) -> None:
        # A resumed upload (after a dropout or a reload) needs a token for the conversation it was started in.
        conversation = content.get("conversation")
        try:
            if not isinstance(conversation, int) or isinstance(conversation, bool):
                raise ConferencingError(_("This upload belongs to no conversation; upload the file again."))
            name, token = self.files.upload_token(conversation, str(content.get("name", "")), content.get("size"))
        except ConferencingError as exc:
            self._reply({"type": "refused", "uid": uid, "message": str(exc)})
            return
        self._reply({"type": "token", "uid": uid, "token": token, "name": name, "conversation": conversation})

    def _uploaded(self, uid: str, content: dict[str, Any]) -> None:
        # The server stored the file; trust only what the store says about it.
        conversation = content.get("conversation")
        try:
            if not isinstance(conversation, int) or isinstance(conversation, bool):
                raise ConferencingError(_("This upload belongs to no conversation."))
            att = self.files.uploaded(conversation, content.get("attachment"))
        except ConferencingError as exc:
            self._reply({"type": "failed", "uid": uid, "message": str(exc)})
            return
        self._reply({"type": "done", "uid": uid, "attachment": att.id})
        self._notify(att)

    def _notify(self, att: Attachment) -> None:
        for callback in self._done:
            try:
                callback(att)
            except Exception:  # noqa: BLE001 - the upload itself succeeded
                log.exception("upload callback failed")

    def _begin(self, uid: str, content: dict[str, Any]) -> None:
        # A file kept offline names the conversation it was chosen in; begin_upload checks the rights there.
        given = content.get("conversation")
        conv = self._conversation()
        if isinstance(given, int) and not isinstance(given, bool):
            conv_id = given
        elif conv is not None:
            conv_id = conv.id
        else:
            self._reply({"type": "refused", "uid": uid, "message": _("Open a conversation first.")})
            return
        if uid in self._uploads:
            return
        try:
            session = self.files.begin_upload(
                conv_id, str(content.get("name", "")), content.get("size"), client_id=f"upload-{uid[:32]}"
            )
        except ConferencingError as exc:
            self._reply({"type": "refused", "uid": uid, "message": str(exc)})
            return
        self._uploads[uid] = session
        self._reply({"type": "ready", "uid": uid})

    def _chunk(self, uid: str, content: dict[str, Any], buffers: list[Any]) -> None:
        session = self._uploads.get(uid)
        if session is None:
            self._reply({"type": "failed", "uid": uid, "message": _("This upload is no longer running; start again.")})
            return
        try:
            if len(buffers) != 1:
                raise ConferencingError(_("An upload chunk arrived without its data; upload the file again."))
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
            self._reply({"type": "failed", "uid": uid, "message": _("This upload is no longer running; start again.")})
            return
        try:
            att = session.finish()
        except ConferencingError as exc:
            self._reply({"type": "failed", "uid": uid, "message": str(exc)})
            return
        self._reply({"type": "done", "uid": uid, "attachment": att.id})
        self._notify(att)

    def close(self) -> None:
        """Cancel running uploads (their temporary files go) and close the widget."""
        for session in getattr(self, "_uploads", {}).values():
            session.cancel()
        self._uploads = {}
        super().close()


__all__ = ["HTTP_CHUNK_BYTES", "UPLOAD_CHUNK_BYTES", "UPLOAD_WINDOW", "UploadWidget"]
