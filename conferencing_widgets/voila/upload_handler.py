"""The resumable upload endpoint, served by the Voilà server process itself (tus 1.0 core over tornado).

Routes, under Voilà's base URL::

    OPTIONS /conferencing/upload/        what the server supports (Tus-Version, Tus-Max-Size)
    POST    /conferencing/upload/        create: Upload-Length, Upload-Metadata (filename, client_id, sha256)
    HEAD    /conferencing/upload/<id>    Upload-Offset (and Upload-Attachment once the file is stored)
    PATCH   /conferencing/upload/<id>    append at Upload-Offset (Content-Type application/offset+octet-stream)
    DELETE  /conferencing/upload/<id>    cancel

Every request carries ``Authorization: Bearer <upload token>`` (``files/tokens.py``, issued by the page's kernel
for one conversation); the use cases and every right are in ``files/resumable.py`` and the files service. Bodies
are streamed (``stream_request_body``) straight into the upload's partial file, so the kernel's message loop
never sees a byte and the server's memory stays flat. Store calls run on a thread, so kernel websockets
proxied by the same loop keep flowing.

How it is enabled: Voilà 0.5 run standalone loads no jupyter_server extensions (its tornado application is
built in ``Voila.start`` from ``Voila.init_handlers``). The one configurable object whose handlers it mounts is
the identity provider (``init_handlers`` extends with ``identity_provider.get_handlers()``), so ``voila.json``
sets ``Voila.identity_provider_class`` to ``UploadIdentityProvider``: jupyter_server's default
``PasswordIdentityProvider`` plus these routes. Nothing else about identity changes.

Errors answer with a status and ``{"error": "<sentence>"}``: 401 bad or missing token, 403 rights (or another
user's / conversation's upload), 404 unknown upload, 409 offset conflict, 412 missing Tus-Resumable, 413 size,
415 refused type or content type, 460 checksum mismatch, 400 other bad input, 503 storage.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import tornado.ioloop
import tornado.web
from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.utils import url_path_join
from tornado.http1connection import HTTP1Connection

from conferencing_widgets.core.config import Settings, load_settings
from conferencing_widgets.core.errors import (
    ConferencingError,
    InvalidInput,
    InvalidLink,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    StorageError,
)
from conferencing_widgets.core.i18n import _
from conferencing_widgets.files.content import TypeRefused
from conferencing_widgets.files.resumable import (
    UPLOAD_PATH,
    ChecksumMismatch,
    PatchWriter,
    ResumableUploads,
    UploadConflict,
    UploadRecord,
    parse_metadata,
)
from conferencing_widgets.files.tokens import UploadGrant
from conferencing_widgets.store import Store

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
BODY_HEADROOM = 1 << 20
"""Bytes a PATCH body may run past the upload's remaining size before tornado itself cuts the connection."""
_ID = r"([0-9a-f]{32})"

_UPLOADS: ResumableUploads | None = None
_UPLOADS_LOCK = threading.Lock()


def uploads(settings: Settings | None = None) -> ResumableUploads:
    """The process-wide uploads, from the ``CONFERENCING_*`` environment Voilà was started with."""
    global _UPLOADS
    with _UPLOADS_LOCK:
        if _UPLOADS is None:
            settings = settings or load_settings()
            _UPLOADS = ResumableUploads(settings, Store(settings.store_url))
        return _UPLOADS


def set_uploads(instance: ResumableUploads | None) -> None:
    """Use ``instance`` for this process (tests serve the handlers from their own tornado app)."""
    global _UPLOADS
    with _UPLOADS_LOCK:
        _UPLOADS = instance


def status_of(exc: ConferencingError) -> int:
    """The HTTP status for an error of the use cases (most specific class first)."""
    for cls, status in (
        (InvalidLink, 401),
        (PermissionDenied, 403),
        (NotFound, 404),
        (UploadConflict, 409),
        (LimitExceeded, 413),
        (TypeRefused, 415),
        (ChecksumMismatch, 460),
        (InvalidInput, 400),
        (StorageError, 503),
    ):
        if isinstance(exc, cls):
            return status
    return 500


@tornado.web.stream_request_body
class UploadHandler(tornado.web.RequestHandler):
    """tus core: creation, offset, append, termination."""

    _grant: UploadGrant | None = None
    _writer: PatchWriter | None = None
    _error: ConferencingError | None = None

    def check_xsrf_cookie(self) -> None:
        # Authorised by a bearer token in a header, never by a cookie: a cross-site form cannot forge it.
        return

    def set_default_headers(self) -> None:
        self.set_header("Tus-Resumable", TUS_VERSION)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def _fail(self, exc: ConferencingError) -> None:
        status = status_of(exc)
        if status >= 500:
            log.warning("upload endpoint: %s", getattr(exc, "detail", None) or exc)
        self.clear_header("Upload-Offset")
        self.set_status(status, reason="Checksum Mismatch" if status == 460 else None)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": str(exc)}))

    def _token(self) -> str | None:
        auth = self.request.headers.get("Authorization", "")
        return auth[7:].strip() if auth.startswith("Bearer ") else None

    def _report(self, record: UploadRecord, offset: int) -> None:
        self.set_header("Upload-Offset", str(offset))
        self.set_header("Upload-Length", str(record.size))
        if record.attachment_id:
            self.set_header("Upload-Attachment", str(record.attachment_id))
            self.set_header("Upload-Sha256", record.received_sha256)

    def _body_limit(self, size: int) -> None:
        connection = self.request.connection
        if isinstance(connection, HTTP1Connection):
            connection.set_max_body_size(size)

    async def _blocking(self, fn: Any, *args: Any) -> Any:
        return await tornado.ioloop.IOLoop.current().run_in_executor(None, fn, *args)

    # -- before the body -------------------------------------------------------------------------------

    async def prepare(self) -> None:
        self._body_limit(0)
        if self.request.method == "OPTIONS":
            return
        try:
            if self.request.headers.get("Tus-Resumable") != TUS_VERSION:
                self.set_status(412)
                self.finish(json.dumps({"error": f"Send Tus-Resumable: {TUS_VERSION}."}))
                return
            self._grant = uploads().grant(self._token())
            if self.request.method == "PATCH":
                await self._prepare_patch()
        except ConferencingError as exc:
            self._fail(exc)

    async def _prepare_patch(self) -> None:
        assert self._grant is not None
        upload_id = self.path_args[0] if self.path_args else ""
        if self.request.headers.get("Content-Type") != "application/offset+octet-stream":
            raise TypeRefused(_("Send the bytes as Content-Type: application/offset+octet-stream."))
        raw_length = self.request.headers.get("Content-Length")
        length = int(raw_length) if raw_length and raw_length.isdigit() else None
        up = uploads()
        await self._blocking(up.authorise_patch, self._grant, upload_id)
        self._writer = up.open_patch(self._grant, upload_id, self.request.headers.get("Upload-Offset"), length)
        record, offset = up.status(self._grant, upload_id)
        # Headroom: tornado cuts a body at this limit before delivering the bytes, but the writer must see a
        # byte beyond the declared size to fail the upload (it always does: tornado delivers <= 64 KiB at a time).
        self._body_limit(record.size - offset + BODY_HEADROOM)

    def data_received(self, chunk: bytes) -> None:
        if self._writer is None or self._error is not None:
            return  # a refused request: its body is dropped
        try:
            self._writer.write(chunk)
        except ConferencingError as exc:
            self._error = exc

    def on_connection_close(self) -> None:
        # A dropped connection keeps what arrived: the client resumes from the offset.
        if self._writer is not None:
            self._writer.close()

    def on_finish(self) -> None:
        if self._writer is not None:
            self._writer.close()

    # -- the methods -----------------------------------------------------------------------------------

    def options(self, *_args: str) -> None:
        self.set_header("Tus-Version", TUS_VERSION)
        self.set_header("Tus-Extension", "creation,termination")
        self.set_header("Tus-Max-Size", str(uploads().settings.max_upload_bytes))
        self.set_status(204)

    async def post(self, *args: str) -> None:
        if args and args[0]:
            self._fail(InvalidInput(_("Create uploads at the endpoint itself, not at an upload's address.")))
            return
        assert self._grant is not None
        try:
            meta = parse_metadata(self.request.headers.get("Upload-Metadata"))
            record = await self._blocking(
                uploads().create, self._grant, self.request.headers.get("Upload-Length", ""), meta
            )
        except ConferencingError as exc:
            self._fail(exc)
            return
        self.set_status(201)
        self.set_header("Location", url_path_join(self.request.path, record.id))
        self._report(record, 0)

    def head(self, upload_id: str = "") -> None:
        assert self._grant is not None
        try:
            record, offset = uploads().status(self._grant, upload_id)
        except ConferencingError as exc:
            self.set_status(status_of(exc))  # HEAD answers carry no body
            return
        self._report(record, offset)

    async def patch(self, upload_id: str = "") -> None:
        assert self._grant is not None and self._writer is not None
        writer, self._writer = self._writer, None
        writer.close()
        try:
            if self._error is not None:
                raise self._error
            up = uploads()
            record, offset = up.status(self._grant, upload_id)
            if writer.complete:
                record = await self._blocking(up.complete, self._grant, upload_id)
                offset = record.size
        except ConferencingError as exc:
            self._fail(exc)
            return
        self.set_status(204)
        self._report(record, offset)

    async def delete(self, upload_id: str = "") -> None:
        assert self._grant is not None
        try:
            uploads().terminate(self._grant, upload_id)
        except ConferencingError as exc:
            self._fail(exc)
            return
        self.set_status(204)


def upload_handlers(base_url: str = "/") -> list[tuple[str, Any]]:
    """The endpoint's routes under ``base_url``."""
    root = url_path_join(base_url, UPLOAD_PATH)
    return [(root + r"?()", UploadHandler), (url_path_join(root, _ID), UploadHandler)]


class UploadIdentityProvider(PasswordIdentityProvider):
    """jupyter_server's default identity provider, plus the upload endpoint's routes (see the module docstring)."""

    def get_handlers(self) -> list[tuple[str, object]]:
        base_url = str(getattr(self.parent, "base_url", "/") or "/")
        return [*super().get_handlers(), *upload_handlers(base_url)]


__all__ = [
    "UPLOAD_PATH",
    "UploadHandler",
    "UploadIdentityProvider",
    "set_uploads",
    "status_of",
    "upload_handlers",
    "uploads",
]
