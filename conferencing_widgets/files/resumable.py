"""Resumable uploads outside the kernel: the core of the tus 1.0 protocol, written plainly, for one server process.

No maintained Python tus *server* fits tornado (tuspy is a client; tusd is Go; the Python servers are FastAPI,
Flask or Django apps), so this is the small core: creation (declared size, metadata), an offset query, appending
at that offset, termination, plus a SHA-256 of the whole file checked at the end when the client declared one.
HTTP lives in ``voila/upload_handler.py``; this module knows no HTTP.

- An upload is created for one user and one conversation (from an upload token the kernel issued after its own
  check), after the files service's ``check_upload``: rights, declared size against the limit, file name.
- Its bytes are streamed to ``<data_dir>/uploads/<id>.part`` as they arrive, hashed and type-sniffed on the
  way (``content.ContentCheck``): nothing is held in memory, and a refused type or a byte beyond the declared
  size fails the upload at once (its files are removed).
- Rights are re-checked through the files service before each request's bytes are accepted, and once more at
  completion, when ``FileService.store_file`` moves the file into the blob store and posts its message in one
  transaction. A failed completion removes the upload; nothing is half-written anywhere.
- ``<id>.json`` beside it holds who, where, name and size, so uploads survive a restart of the server: the hash
  is then rebuilt from the partial file. Finished uploads keep their record (with the attachment id) until they
  expire, so a client whose last response was lost learns the result with an offset query.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.errors import (
    ConferencingError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    StorageError,
)
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.identity import parse_duration
from conferencing_widgets.core.model import Attachment
from conferencing_widgets.files.content import ContentCheck
from conferencing_widgets.files.names import endpoint_name
from conferencing_widgets.files.service import FileService, require_member_upload
from conferencing_widgets.files.tokens import UploadGrant, read_upload_token
from conferencing_widgets.store import Store
from conferencing_widgets.store.blobs import BlobStore

UPLOAD_PATH = "/conferencing/upload/"
"""Where the endpoint lives under Voilà's base URL (``voila/upload_handler.py``; the upload widget uses it)."""
STAGING_DIR = "uploads"
"""Folder under the data dir for partial uploads."""
MAX_OPEN_PER_USER = 16
"""Unfinished uploads one user may have at once (each holds a partial file)."""
MAX_METADATA_CHARS = 4096
SERVICE_TTL_S = 60.0
"""How long a user's chat service is reused between requests (rights are re-checked on every request)."""
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class UploadConflict(InvalidInput):
    """A request's offset is not where the upload stands (overlapping, missing or out-of-range bytes)."""


class ChecksumMismatch(InvalidInput):
    """The received bytes' SHA-256 is not the one the client declared."""


@dataclass
class UploadRecord:
    """What is persisted about one upload (``<id>.json``)."""

    id: str
    login: str
    conversation_id: int
    name: str
    size: int
    client_id: str
    created: float
    sha256: str = ""
    """The SHA-256 the client declared (optional): checked at completion."""
    attachment_id: int = 0
    """Set once the file is stored."""
    received_sha256: str = ""
    """The SHA-256 of the bytes received (set at completion)."""


class _Upload:
    """An upload in this process: its record, partial file, offset and running content check."""

    def __init__(self, record: UploadRecord, part: Path) -> None:
        self.record = record
        self.part = part
        self.offset = part.stat().st_size if part.exists() else 0
        self.check: ContentCheck | None = None
        self.writer: PatchWriter | None = None
        self.completing = False


class PatchWriter:
    """Appends one request's body to an upload. Create with ``ResumableUploads.open_patch``; always ``close``."""

    def __init__(self, uploads: ResumableUploads, upload: _Upload) -> None:
        self._uploads = uploads
        self._upload = upload
        try:
            self._fh: IO[bytes] | None = upload.part.open("ab")
        except OSError as exc:
            uploads._remove(upload.record.id)
            raise StorageError(
                _("The upload could not be received right now. Nothing was shared; try again later."),
                detail=f"opening {upload.part}: {exc}",
            ) from exc
        self.superseded = False
        self.failed: ConferencingError | None = None
        if upload.writer is not None:
            upload.writer.superseded = True  # a resumed client took over from a connection that died silently
            upload.writer.close()
        upload.writer = self

    @property
    def offset(self) -> int:
        """Where the upload stands."""
        return self._upload.offset

    @property
    def complete(self) -> bool:
        """Whether every declared byte has arrived."""
        return self._upload.offset == self._upload.record.size

    def write(self, data: bytes | memoryview) -> None:
        """Append the next bytes; a byte beyond the declared size or a refused type fails the whole upload."""
        if self.failed is not None:
            raise self.failed
        if self.superseded or self._fh is None:
            raise UploadConflict(_("Another request resumed this upload; this one stops here."))
        up = self._upload
        view = memoryview(data).cast("B")
        if up.offset + len(view) > up.record.size:
            self._fail(
                LimitExceeded(
                    _("{name} sent more bytes than announced ({size:,}).").format(
                        name=up.record.name, size=up.record.size
                    )
                )
            )
        try:
            self._fh.write(view)
        except OSError as exc:
            self._fail(
                StorageError(
                    _("The upload could not be received right now. Nothing was shared; try again later."),
                    detail=f"writing {up.part}: {exc}",
                )
            )
        assert up.check is not None  # set by open_patch
        try:
            up.check.feed(view)
        except InvalidInput as exc:
            self._fail(exc)
        up.offset += len(view)

    def _fail(self, exc: ConferencingError) -> None:
        self.failed = exc
        self.close()
        self._uploads._remove(self._upload.record.id)
        raise exc

    def close(self) -> None:
        """Flush what arrived (it stays for a resume) and let the upload go."""
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None
        if self._upload.writer is self:
            self._upload.writer = None


def parse_metadata(header: str | None) -> dict[str, str]:
    """tus ``Upload-Metadata``: ``key base64,key2 base64``; ``InvalidInput`` when malformed."""
    if not header:
        return {}
    if len(header) > MAX_METADATA_CHARS:
        raise InvalidInput(_("Upload-Metadata is too long."))
    out: dict[str, str] = {}
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        if len(parts) > 2 or not parts[0] or not parts[0].isascii() or not parts[0].isprintable():
            raise InvalidInput(_("Upload-Metadata is malformed: use 'key base64value' pairs separated by commas."))
        try:
            value = base64.b64decode(parts[1], validate=True).decode("utf-8") if len(parts) == 2 else ""
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidInput(
                _("Upload-Metadata value of {key!r} is not base64 of UTF-8 text.").format(key=parts[0])
            ) from exc
        out[parts[0]] = value
    return out


def require_plain_name(name: str) -> str:
    """A declared file name, or ``InvalidInput`` if it holds a path, a NUL, control or bidi-override characters.

    The kernel's path cleans such names for display; the endpoint refuses them: a browser declares the name the
    kernel returned (``endpoint_name``), so only a hand-made request carries one.
    """
    if not name or name != endpoint_name(name) or name in (".", "..") or "\x00" in name:
        raise InvalidInput(
            _("The file name contains a path, control or text-direction characters; rename the file and retry.")
        )
    return name


class ResumableUploads:
    """Every resumable upload of one server process (the Voilà server). Thread-safe for the calls marked so."""

    def __init__(self, settings: Settings, store: Store, *, blobs: BlobStore | None = None) -> None:
        self.settings = settings
        self.store = store
        self.blobs = blobs
        self.staging = (settings.data_dir / STAGING_DIR).resolve()
        self.staging.mkdir(parents=True, exist_ok=True)
        self.expiry_s = parse_duration(settings.upload_expiry).total_seconds()
        self._uploads: dict[str, _Upload] = {}
        self._services: dict[str, tuple[float, Service]] = {}
        self._lock = threading.Lock()
        self._load()

    # -- bookkeeping -----------------------------------------------------------------------------------

    def _paths(self, upload_id: str) -> tuple[Path, Path]:
        return self.staging / f"{upload_id}.json", self.staging / f"{upload_id}.part"

    def _load(self) -> None:
        for meta in self.staging.glob("*.json"):
            try:
                record = UploadRecord(**json.loads(meta.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                meta.unlink(missing_ok=True)
                continue
            if _UPLOAD_ID.match(record.id) and meta.stem == record.id:
                self._uploads[record.id] = _Upload(record, self._paths(record.id)[1])
        self.sweep()

    def _save(self, record: UploadRecord) -> None:
        meta, _ = self._paths(record.id)
        tmp = meta.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(record)), encoding="utf-8")
        os.replace(tmp, meta)

    def _remove(self, upload_id: str) -> None:
        with self._lock:
            up = self._uploads.pop(upload_id, None)
        if up is not None and up.writer is not None:
            up.writer.close()
        for path in self._paths(upload_id):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)

    def sweep(self, now: float | None = None) -> int:
        """Remove uploads older than ``upload_expiry`` (finished or not); how many went."""
        cutoff = (time.time() if now is None else now) - self.expiry_s
        with self._lock:
            old = [k for k, u in self._uploads.items() if u.record.created < cutoff and u.writer is None]
        for upload_id in old:
            self._remove(upload_id)
        return len(old)

    def _service(self, login: str) -> Service:
        # One chat service per user for a minute: building one reads the user and the vendor group. Every
        # rights check still re-reads the user (disabled?) and the conversation (still a member?).
        now = time.monotonic()
        with self._lock:
            cached = self._services.get(login)
            if cached is not None and now - cached[0] < SERVICE_TTL_S:
                return cached[1]
        service = Service(self.store, login, self.settings)
        with self._lock:
            self._services[login] = (now, service)
            if len(self._services) > 256:
                self._services.pop(next(iter(self._services)))
        return service

    def _files(self, login: str) -> FileService:
        return FileService(self._service(login), self.blobs)

    def grant(self, token: str | None) -> UploadGrant:
        """The grant of an upload token; ``InvalidLink`` when missing, tampered or expired."""
        return read_upload_token(token, self.settings.secret)

    def _get(self, grant: UploadGrant, upload_id: str) -> _Upload:
        up = self._uploads.get(upload_id) if _UPLOAD_ID.match(str(upload_id)) else None
        if up is None:
            raise NotFound(_("No such upload: it finished long ago, expired or was cancelled. Upload the file again."))
        if up.record.login != grant.login or up.record.conversation_id != grant.conversation_id:
            raise PermissionDenied(_("This upload belongs to another user or conversation."))
        return up

    # -- the protocol ----------------------------------------------------------------------------------

    def create(self, grant: UploadGrant, length: object, metadata: dict[str, str]) -> UploadRecord:
        """A new upload (blocking: checks rights in the store). Size, name and rights are refused up front."""
        self.sweep()
        name = require_plain_name(metadata.get("filename", ""))
        client_id = metadata.get("client_id") or ""
        if client_id and (len(client_id) > 64 or not client_id.isprintable()):
            raise InvalidInput(_("The upload's client id must be 1 to 64 printable characters."))
        declared = metadata.get("sha256", "").lower()
        if declared and not _SHA256.match(declared):
            raise InvalidInput(_("The declared sha256 must be 64 hex digits."))
        size = int(length) if isinstance(length, str) and length.isascii() and length.isdigit() else length
        conv, clean, size = self._files(grant.login).check_upload(grant.conversation_id, name, size)
        with self._lock:
            open_ones = [u for u in self._uploads.values() if u.record.login == grant.login]
            if sum(1 for u in open_ones if not u.record.attachment_id) >= MAX_OPEN_PER_USER:
                raise LimitExceeded(
                    _("At most {n} unfinished uploads at once; finish or cancel some.").format(n=MAX_OPEN_PER_USER)
                )
            record = UploadRecord(
                id=uuid.uuid4().hex,
                login=grant.login,
                conversation_id=conv.id,
                name=clean,
                size=size,
                client_id=client_id or f"upload-{uuid.uuid4().hex[:24]}",
                created=time.time(),
                sha256=declared,
            )
            meta, part = self._paths(record.id)
            part.touch()
            self._save(record)
            self._uploads[record.id] = _Upload(record, part)
        return record

    def status(self, grant: UploadGrant, upload_id: str) -> tuple[UploadRecord, int]:
        """An upload's record and offset (non-blocking)."""
        up = self._get(grant, upload_id)
        return up.record, (up.record.size if up.record.attachment_id else up.offset)

    def authorise_patch(self, grant: UploadGrant, upload_id: str) -> None:
        """Re-check, through the files service, that the user may still upload here (blocking: reads the store)."""
        up = self._get(grant, upload_id)
        require_member_upload(self._service(grant.login), up.record.conversation_id)

    def open_patch(self, grant: UploadGrant, upload_id: str, offset: object, length: int | None) -> PatchWriter:
        """A writer for one request's body at ``offset``, after ``authorise_patch`` (call in the server's loop).

        ``UploadConflict`` unless ``offset`` is exactly where the upload stands; ``LimitExceeded`` when the
        request announces more bytes than the upload has left (the upload stays as it was). After a restart
        of the server the hash is rebuilt from the partial file here (a one-off read of what arrived).
        """
        up = self._get(grant, upload_id)
        if up.record.attachment_id or up.completing:
            raise UploadConflict(_("This upload is complete already."))
        if not isinstance(offset, int) or isinstance(offset, bool):
            text = str(offset)
            offset = int(text) if text.isascii() and text.isdigit() else -1
        if up.writer is not None:
            up.writer.superseded = True
            up.writer.close()
        if up.check is None or up.check.received != up.offset:
            up.offset = up.part.stat().st_size if up.part.exists() else 0
            check = ContentCheck(up.record.name, up.record.size, self.settings.allowed_types)
            check.feed_file(up.part, up.offset)
            up.check = check
        if offset != up.offset:
            raise UploadConflict(
                _(
                    "Upload-Offset {offset} is not where this upload stands ({at} of {size} bytes); "
                    "ask for the offset (HEAD) and resume from there."
                ).format(offset=offset, at=up.offset, size=up.record.size)
            )
        if length is not None and offset + length > up.record.size:
            raise LimitExceeded(
                _("This request carries {n:,} bytes but only {left:,} are left to send.").format(
                    n=length, left=up.record.size - offset
                )
            )
        return PatchWriter(self, up)

    def complete(self, grant: UploadGrant, upload_id: str) -> UploadRecord:
        """Store a fully received upload and post its message (blocking); the finished record.

        Any failure removes the upload (nothing stays half-written) and raises; a second call while the first
        runs raises ``UploadConflict``, one after it returns the same record.
        """
        up = self._get(grant, upload_id)
        record = up.record
        if record.attachment_id:
            return record
        if up.offset != record.size or up.check is None or up.completing:
            raise UploadConflict(
                _("This upload is at {offset} of {size} bytes, not complete.").format(
                    offset=up.offset, size=record.size
                )
            )
        up.completing = True
        try:
            if up.writer is not None:
                up.writer.close()
            digest = up.check.hexdigest()
            if record.sha256 and digest != record.sha256:
                raise ChecksumMismatch(
                    _("{name} arrived with SHA-256 {digest}, not the declared {declared}. Upload it again.").format(
                        name=record.name, digest=digest, declared=record.sha256
                    )
                )
            media_type = up.check.final_type()
            attachment: Attachment = self._files(grant.login).store_file(
                record.conversation_id,
                name=record.name,
                path=up.part,
                size=record.size,
                media_type=media_type,
                sha256=digest,
                client_id=record.client_id,
            )
        except BaseException:
            self._remove(record.id)
            raise
        finally:
            up.completing = False
        record.attachment_id = attachment.id
        record.received_sha256 = digest
        up.part.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._save(record)
        return record

    def terminate(self, grant: UploadGrant, upload_id: str) -> None:
        """Cancel an unfinished upload (its bytes go); a finished one only loses its record."""
        self._get(grant, upload_id)
        self._remove(upload_id)


def describe(record: UploadRecord) -> dict[str, Any]:
    """A record as the endpoint reports it (no login)."""
    return {"id": record.id, "name": record.name, "size": record.size, "attachment": record.attachment_id or None}


__all__ = [
    "ChecksumMismatch",
    "PatchWriter",
    "ResumableUploads",
    "UploadConflict",
    "UploadRecord",
    "describe",
    "parse_metadata",
    "require_plain_name",
]
