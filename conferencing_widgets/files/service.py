"""File sharing for one signed-in user: upload sessions, type detection, limits and every permission check.

Only members upload; whoever may read a conversation (members, and engineers/admins for case chats) may open
its files. An attachment of a conversation the user cannot read is reported as ``NotFound``, so ids cannot be
probed. Bytes are never trusted: the type is detected from the content, the size is counted as it arrives, and
the user's file name is kept as text only (content lives under its SHA-256 in the blob store).

An upload arrives in chunks (``begin_upload`` -> ``UploadSession.write`` ... -> ``finish``), spooled to a
local temporary file. ``finish`` stages the blob under a temporary key, then writes the attachment, its file
message and its feed event in one transaction whose last step moves the blob to its content address. Any
failure removes what was written, and ``cancel`` leaves nothing at all.
"""

from __future__ import annotations

import codecs
import collections
import contextlib
import hashlib
import io
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
from conferencing_widgets.core.model import Attachment, Call, Conversation
from conferencing_widgets.files import store as att_store
from conferencing_widgets.store.blobs import BlobStore

PreviewKind = Literal["image", "pdf", "video", "text", "download"]

MAX_NAME_CHARS = 200
"""File names longer than this are shortened (the extension is kept)."""
MAX_ACTIVE_UPLOADS = 8
"""Uploads one user session may have open at once (each holds a temporary file)."""
HEAD_BYTES = 64 * 1024
"""How much of the start of a file type detection looks at."""
PREVIEW_TEXT_BYTES = 64 * 1024
"""How much of a text file the viewer shows; the rest is a download."""
THUMB_SIZE = 160
"""Thumbnail edge in pixels (the list shows them at half size for sharp HiDPI rendering)."""
MAX_THUMB_PIXELS = 60_000_000
"""Images larger than this get no thumbnail (decompression bombs)."""

IMAGE_PREVIEW_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
"""Raster images the browser shows inline. SVG is not one of them: it can carry script."""
VIDEO_PREVIEW_TYPES = frozenset({"video/mp4", "video/webm", "video/ogg"})
"""Videos the browser plays inline."""
TEXT_PREVIEW_TYPES = frozenset({"text/plain", "text/csv"})
"""Text shown as text (never as HTML)."""
ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "application/xml",
        "text/xml",
        "application/javascript",
        "text/javascript",
    }
)
"""Content a browser would execute if rendered: always a download."""
_ACTIVE_MARKERS = ("<!doctype html", "<html", "<script", "<svg", "<?xml", "<iframe", "<body", "<head")
_CSV_EXTENSIONS = (".csv", ".tsv")


# -- sizes, names and types --------------------------------------------------------------------------


def human_size(n: int) -> str:
    """``1.5 MB`` style sizes (1 KB = 1024 bytes, as file managers show them)."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            if unit == "bytes":
                return f"{int(value)} byte" + ("" if int(value) == 1 else "s")
            return f"{value:.1f} {unit}".replace(".0 ", " ")
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover - loop always returns


def clean_file_name(name: object) -> str:
    """The name kept for display: no control, format (RTL override) or separator characters, at most 200.

    It is only ever shown as escaped text or offered as a download name; it is never a path.
    """
    text = unicodedata.normalize("NFC", str(name or ""))
    text = "".join(" " if ch in "\t\n\r\v\f" or unicodedata.category(ch) in ("Zl", "Zp") else ch for ch in text)
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split())
    if not text.strip(". "):
        return "unnamed file"
    if len(text) > MAX_NAME_CHARS:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 16 and stem:
            text = stem[: MAX_NAME_CHARS - len(ext) - 2] + "…." + ext
        else:
            text = text[: MAX_NAME_CHARS - 1] + "…"
    return text


def download_name(name: str) -> str:
    """A name a browser may save the file under: path separators and reserved characters replaced."""
    text = clean_file_name(name)
    text = "".join("_" if ch in '/\\:*?"<>|' else ch for ch in text).lstrip(". ")
    return text or "download"


def preview_kind(media_type: str) -> PreviewKind:
    """How the viewer shows a type. Active content (HTML, SVG, XML, script) is always a download."""
    if media_type in ACTIVE_TYPES:
        return "download"
    if media_type in IMAGE_PREVIEW_TYPES:
        return "image"
    if media_type == "application/pdf":
        return "pdf"
    if media_type in VIDEO_PREVIEW_TYPES:
        return "video"
    if media_type in TEXT_PREVIEW_TYPES:
        return "text"
    return "download"


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    if not head.isascii():
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            return False
    # Allow tabs, newlines and form feeds; other C0 controls mean binary.
    controls = sum(1 for b in head[:8192] if b < 32 and b not in (9, 10, 12, 13))
    return controls <= len(head[:8192]) // 100


def _looks_like_csv(head: bytes) -> bool:
    lines = [ln for ln in head[:8192].decode("utf-8", "ignore").splitlines()[:20] if ln.strip()]
    if len(lines) < 2:
        return False
    if len(head) >= 8192:
        lines = lines[:-1]  # the last line may be cut
    for sep in (",", ";", "\t"):
        counts = {ln.count(sep) for ln in lines}
        if len(counts) == 1 and counts.pop() >= 1:
            return True
    return False


def detect_media_type(head: bytes, name: str = "") -> str:
    """The media type of content whose first bytes are ``head``; the name only breaks ties among matches.

    Binary signatures come from puremagic; UTF-8 text is ``text/plain`` or ``text/csv``; text that is really
    markup (HTML, SVG, XML) is reported as such so it is never rendered.
    """
    import puremagic

    ext = Path(str(name)).suffix.lower()
    matches = []
    if head:
        with contextlib.suppress(puremagic.PureError, ValueError, IndexError, OSError):
            matches = [m for m in puremagic.magic_string(head) if m.mime_type]
    is_text = bool(head) and _looks_like_text(head)
    if is_text:
        sniff = head[:4096].decode("utf-8", "ignore").lstrip("\ufeff \t\r\n").lower()
        if sniff.startswith("<") and any(marker in sniff[:2048] for marker in _ACTIVE_MARKERS):
            if "<svg" in sniff[:2048]:
                return "image/svg+xml"
            if "<html" in sniff[:2048] or "<!doctype html" in sniff or "<script" in sniff[:2048]:
                return "text/html"
            return "application/xml"
        active = [m.mime_type for m in matches if m.mime_type in ACTIVE_TYPES]
        if active:
            return active[0]
        if ext in _CSV_EXTENSIONS or _looks_like_csv(head):
            return "text/csv"
        return "text/plain"
    if matches:
        best = max(m.confidence for m in matches)
        top = [m for m in matches if m.confidence == best]
        chosen = next((m for m in top if m.extension.lower() == ext), top[0])
        return str(chosen.mime_type)
    return "application/octet-stream"


def parse_allowed_types(allowed: str) -> tuple[str, ...]:
    """``"image/*, application/pdf"`` -> ``("image/*", "application/pdf")``."""
    return tuple(t.strip().lower() for t in str(allowed or "").split(",") if t.strip())


def type_allowed(media_type: str, allowed: tuple[str, ...]) -> bool:
    """Whether a type passes the allow-list (empty allows all; ``image/*`` allows every image)."""
    if not allowed:
        return True
    media_type = media_type.lower()
    return any(
        media_type == pat or (pat.endswith("/*") and media_type.startswith(pat[:-1])) or pat == "*/*" for pat in allowed
    )


# -- blob stores (one per location and process) ---------------------------------------------------------

_BLOB_STORES: dict[str, BlobStore] = {}
_BLOB_LOCK = threading.Lock()


def blob_store_for(settings: Settings) -> BlobStore:
    """The process-wide blob store for ``settings.blob_location``."""
    location = settings.blob_location
    with _BLOB_LOCK:
        blobs = _BLOB_STORES.get(location)
        if blobs is None:
            blobs = _BLOB_STORES[location] = BlobStore(location)
            # Once per process: temporary files of uploads whose kernel died long ago.
            with contextlib.suppress(Exception):
                blobs.sweep_temporary()
        return blobs


# -- uploads -------------------------------------------------------------------------------------------


class UploadSession:
    """One file arriving in chunks. Create with ``FileService.begin_upload``; ``finish`` or ``cancel`` it."""

    def __init__(
        self, files: FileService, conversation: Conversation, name: str, size: int, client_id: str | None
    ) -> None:
        self.files = files
        self.id = uuid.uuid4().hex
        self.conversation_id = conversation.id
        self.name = name
        self.size = size
        self.client_id = client_id
        self.received = 0
        self.state: Literal["open", "done", "cancelled", "failed"] = "open"
        self.media_type: str | None = None
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self._text: codecs.IncrementalDecoder | None = None
        self._text_ok = True
        self.path, self._fh = files.blobs.new_spool_file()

    @property
    def progress(self) -> float:
        """Fraction received, 0..1."""
        return 1.0 if self.size == 0 else self.received / self.size

    def _require_open(self) -> None:
        if self.state != "open":
            raise InvalidInput(f"The upload of {self.name} is {self.state}; start it again.")

    def write(self, data: bytes | bytearray | memoryview, offset: int | None = None) -> int:
        """Append a chunk (``offset`` must be where the last one ended); returns the bytes received so far."""
        self._require_open()
        view = memoryview(data).cast("B")
        if offset is not None and int(offset) != self.received:
            self._fail()
            raise InvalidInput(
                f"The upload of {self.name} lost a piece (expected offset {self.received}, got {offset}); "
                "upload it again."
            )
        if self.received + len(view) > self.size:
            self._fail()
            raise LimitExceeded(f"{self.name} sent more bytes than announced ({self.size:,}); upload it again.")
        try:
            self._fh.write(view)
        except OSError as exc:
            self._fail()
            raise StorageError(f"Could not write the upload to a temporary file: {exc}. Try again later.") from exc
        self._hash.update(view)
        self._track_text(view)
        self.received += len(view)
        if self.media_type is None and (len(self._head) >= HEAD_BYTES or self.received == self.size):
            self._check_type()
        return self.received

    def _track_text(self, view: memoryview) -> None:
        if len(self._head) < HEAD_BYTES:
            self._head += view[: HEAD_BYTES - len(self._head)]
        if not self._text_ok:
            return
        chunk = bytes(view)
        if b"\x00" in chunk:
            self._text_ok = False
        elif not chunk.isascii():
            if self._text is None:
                self._text = codecs.getincrementaldecoder("utf-8")()
            try:
                self._text.decode(chunk, final=False)
            except UnicodeDecodeError:
                self._text_ok = False

    def _check_type(self) -> None:
        media_type = detect_media_type(bytes(self._head), self.name)
        allowed = parse_allowed_types(self.files.settings.allowed_types)
        if not type_allowed(media_type, allowed):
            self._fail()
            raise InvalidInput(
                f"{self.name} is {media_type}, which this server does not accept. Allowed types: {', '.join(allowed)}."
            )
        self.media_type = media_type
        if not media_type.startswith("text/"):
            self._text_ok = False  # binary: no need to validate the rest as UTF-8

    def _final_type(self) -> str:
        media_type = self.media_type or detect_media_type(bytes(self._head), self.name)
        if media_type.startswith("text/") and media_type not in ACTIVE_TYPES:
            if self._text is not None and self._text_ok:
                try:
                    self._text.decode(b"", final=True)
                except UnicodeDecodeError:
                    self._text_ok = False
            if not self._text_ok:
                media_type = "application/octet-stream"
        return media_type

    def finish(self) -> Attachment:
        """Store the file and post its message; everything or nothing."""
        self._require_open()
        if self.received != self.size:
            self._fail()
            raise InvalidInput(
                f"The upload of {self.name} is incomplete ({self.received:,} of {self.size:,} bytes); upload it again."
            )
        try:
            self._fh.close()
            media_type = self._final_type()
            allowed = parse_allowed_types(self.files.settings.allowed_types)
            if not type_allowed(media_type, allowed):
                raise InvalidInput(
                    f"{self.name} is {media_type}, which this server does not accept. "
                    f"Allowed types: {', '.join(allowed)}."
                )
            attachment = self.files._commit(self, media_type, self._hash.hexdigest())
        except BaseException:
            self._fail()
            raise
        self.state = "done"
        self._cleanup()
        return attachment

    def cancel(self) -> None:
        """Stop the upload and remove what arrived; nothing is stored."""
        if self.state == "open":
            self.state = "cancelled"
        self._cleanup()

    def _fail(self) -> None:
        if self.state == "open":
            self.state = "failed"
        self._cleanup()

    def _cleanup(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()
        self.path.unlink(missing_ok=True)
        self.files._sessions.pop(self.id, None)


# -- the service ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Preview:
    """What the viewer needs to show an attachment."""

    attachment: Attachment
    """The file."""
    kind: PreviewKind
    """Image, PDF, video, text, or a plain download."""
    download_name: str
    """The name to save it under."""
    text: str = ""
    """For text files: the first part, decoded."""
    truncated: bool = False
    """For text files: whether there is more than ``text`` holds."""


@dataclass(frozen=True, kw_only=True)
class MediaItems:
    """Area 3's media section: images and videos, and calls."""

    items: list[Attachment]
    """Images and videos, newest first."""
    total: int
    """How many there are in all."""
    calls: list[Call]
    """The conversation's calls, newest first."""


_THUMBS: collections.OrderedDict[tuple[str, str, int], tuple[str, bytes] | None] = collections.OrderedDict()
_THUMB_LOCK = threading.Lock()


class FileService:
    """Files for one signed-in user (``Session.files``)."""

    def __init__(self, service: Service, blobs: BlobStore | None = None) -> None:
        self.service = service
        self.settings = service.settings
        self.blobs = blobs or blob_store_for(service.settings)
        self._sessions: dict[str, UploadSession] = {}

    # -- uploading -------------------------------------------------------------------------------------

    def check_upload(self, conversation_id: int, name: str, size: object) -> tuple[Conversation, str, int]:
        """Refuse an upload before any byte is sent: rights, size limit and name. Returns the clean values."""
        conv = require_member_upload(self.service, conversation_id)
        clean = clean_file_name(name)
        if isinstance(size, float) and size.is_integer():
            size = int(size)  # JSON numbers may arrive as floats
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidInput(f"The size of {clean} is not a valid number of bytes: {size!r}.")
        if size == 0:
            raise InvalidInput(f"{clean} is empty (0 bytes); choose a file with content.")
        limit = self.settings.max_upload_bytes
        if size > limit:
            raise LimitExceeded(
                f"{clean} is {human_size(size)}, larger than the limit of {human_size(limit)}. "
                "Share a smaller file (compress it or split it)."
            )
        return conv, clean, size

    def begin_upload(
        self, conversation_id: int, name: str, size: object, *, client_id: str | None = None
    ) -> UploadSession:
        """Start an upload of ``size`` bytes into a conversation the user is a member of."""
        conv, clean, size = self.check_upload(conversation_id, name, size)
        if client_id is not None:
            client_id = str(client_id)
            if not client_id or len(client_id) > 64 or not client_id.isprintable():
                raise InvalidInput("The upload's client id must be 1 to 64 printable characters.")
        if len(self._sessions) >= MAX_ACTIVE_UPLOADS:
            raise LimitExceeded(f"At most {MAX_ACTIVE_UPLOADS} uploads can run at once; wait for one to finish.")
        session = UploadSession(self, conv, clean, size, client_id)
        self._sessions[session.id] = session
        return session

    def session(self, upload_id: str) -> UploadSession:
        """An open upload of this user."""
        try:
            return self._sessions[str(upload_id)]
        except KeyError:
            raise NotFound("That upload is not running any more; start it again.") from None

    def cancel_all(self) -> None:
        """Cancel every open upload (the page went away)."""
        for session in list(self._sessions.values()):
            session.cancel()

    def upload_bytes(
        self, conversation_id: int, name: str, data: bytes, *, client_id: str | None = None, chunk_size: int = 1 << 20
    ) -> Attachment:
        """Upload a whole file held in memory (CLI, notebooks, tests) through the same checks as the browser."""
        session = self.begin_upload(conversation_id, name, len(data), client_id=client_id)
        try:
            view = memoryview(data)
            for start in range(0, len(view), chunk_size):
                session.write(view[start : start + chunk_size], start)
            return session.finish()
        finally:
            session.cancel()

    def _commit(self, session: UploadSession, media_type: str, sha256: str) -> Attachment:
        # Membership may have changed while the bytes arrived.
        require_member_upload(self.service, session.conversation_id)
        store = self.service.store
        staged = self.blobs.stage(session.path, sha256)
        finalising: list[bool] = []

        def finalise() -> None:
            finalising.append(True)
            self.blobs.finalise(staged)

        try:
            attachment, _message, fresh = att_store.add_attachment(
                store,
                conversation_id=session.conversation_id,
                uploader=self.service.login,
                name=session.name,
                media_type=media_type,
                size=session.size,
                sha256=sha256,
                body=f"Shared a file: {session.name} ({human_size(session.size)})",
                client_id=session.client_id,
                before_commit=finalise,
            )
        except BaseException as exc:
            self.blobs.discard(staged)
            if finalising:
                # The blob may be in place while its metadata is not: remove it unless another attachment
                # uses it (checked under the content's lock, so a concurrent upload's commit is never undone).
                with contextlib.suppress(ConferencingError):
                    att_store.delete_blob_if_unreferenced(store, self.blobs, sha256)
            if isinstance(exc, ConferencingError) or not isinstance(exc, Exception):
                raise
            raise StorageError(f"The file could not be saved: {exc}. Nothing was shared; try again.") from exc
        if not fresh:
            self.blobs.discard(staged)  # a retry of an upload that was already stored
        return attachment

    # -- reading ---------------------------------------------------------------------------------------

    def attachment(self, attachment_id: int) -> Attachment:
        """An attachment of a conversation the user may read; ``NotFound`` otherwise."""
        try:
            att = att_store.get_attachment(self.service.store, int(attachment_id))
            self.service.require_readable(att.conversation_id)
        except (TypeError, ValueError) as exc:
            raise NotFound(f"No file {attachment_id!r}.") from exc
        except NotFound:
            raise NotFound(f"No file {attachment_id} that you can open.") from None
        return att

    def attachments(self, conversation_id: int, *, limit: int = 50, before_id: int | None = None) -> list[Attachment]:
        """A readable conversation's files, newest first."""
        conv = self.service.require_readable(conversation_id)
        limit = max(1, min(int(limit), 500))
        return att_store.attachments_of(self.service.store, conv.id, limit=limit, before_id=before_id)

    def count(self, conversation_id: int) -> int:
        """How many files a readable conversation holds."""
        conv = self.service.require_readable(conversation_id)
        return att_store.count_attachments(self.service.store, conv.id)

    def media(self, conversation_id: int, *, limit: int = 24) -> MediaItems:
        """Images and videos (previewable ones) shared in a readable conversation, and its calls."""
        from conferencing_widgets.calls.service import CallService

        conv = self.service.require_readable(conversation_id)
        # Only types the viewer shows inline: SVG is an image too, but active content, so it stays in Files.
        kinds = sorted(IMAGE_PREVIEW_TYPES | VIDEO_PREVIEW_TYPES)
        store = self.service.store
        return MediaItems(
            items=att_store.attachments_of(store, conv.id, limit=limit, media_types=kinds),
            total=att_store.count_attachments(store, conv.id, media_types=kinds),
            # Through the call service, so room names never leave it (non-member engineers read these).
            calls=CallService(self.service).calls(conv.id),
        )

    def read(self, attachment_id: int, *, start: int = 0, length: int | None = None) -> tuple[Attachment, bytes]:
        """An attachment and its bytes (or a range of them)."""
        att = self.attachment(attachment_id)
        return att, self.blobs.read(att.sha256, start=max(0, int(start)), length=length)

    def iter_bytes(self, attachment_id: int, chunk_size: int = 4 << 20) -> tuple[Attachment, Iterator[bytes]]:
        """An attachment and its bytes in chunks (checked before the first chunk is read)."""
        att = self.attachment(attachment_id)
        return att, self.blobs.iter_chunks(att.sha256, chunk_size)

    def preview(self, attachment_id: int) -> Preview:
        """How to show an attachment; text files come with their first part decoded."""
        att = self.attachment(attachment_id)
        kind = preview_kind(att.media_type)
        text, truncated = "", False
        if kind == "text":
            head = self.blobs.read(att.sha256, length=PREVIEW_TEXT_BYTES)
            text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(head, final=False)
            truncated = att.size > len(head)
        return Preview(attachment=att, kind=kind, download_name=download_name(att.name), text=text, truncated=truncated)

    def thumbnail(self, attachment: Attachment, size: int = THUMB_SIZE) -> tuple[str, bytes] | None:
        """A small PNG/JPEG of an image attachment the user may read, or None (not an image, broken, huge).

        Thumbnails are re-encoded by Pillow, so no active content can pass through them. They are cached in
        the blob store next to the content.
        """
        if preview_kind(attachment.media_type) != "image":
            return None
        att = self.attachment(attachment.id)  # rights, and the stored record rather than the caller's copy
        key = (self.blobs.location, att.sha256, size)
        with _THUMB_LOCK:
            if key in _THUMBS:
                _THUMBS.move_to_end(key)
                return _THUMBS[key]
        made: tuple[str, bytes] | None
        cached = self.blobs.read_thumb(att.sha256, size)
        if cached is not None:
            made = ("image/png" if cached.startswith(b"\x89PNG") else "image/jpeg"), cached
        else:
            made = make_thumbnail(self.blobs.read(att.sha256), size)
            if made is not None:
                self.blobs.write_thumb(att.sha256, size, made[1])
        with _THUMB_LOCK:
            _THUMBS[key] = made
            if len(_THUMBS) > 512:
                _THUMBS.popitem(last=False)
        return made


def make_thumbnail(data: bytes, size: int = THUMB_SIZE) -> tuple[str, bytes] | None:
    """A ``size``-pixel thumbnail of image bytes (PNG if it has transparency, JPEG otherwise), or None."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_THUMB_PIXELS:
                    return None
                img.draft("RGB", (size, size))
                img.thumbnail((size, size))
                alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
                out = io.BytesIO()
                if alpha:
                    img.convert("RGBA").save(out, "PNG", optimize=True)
                    return "image/png", out.getvalue()
                img.convert("RGB").save(out, "JPEG", quality=82)
                return "image/jpeg", out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None


def read_attachment_bytes(service: Service, attachment_id: int) -> tuple[Attachment, bytes]:
    """An attachment and all its bytes, if ``service``'s user may read its conversation (else ``NotFound``).

    For other features, e.g. a whiteboard drawing a shared image as its background.
    """
    return FileService(service).read(attachment_id)


def require_member_upload(service: Service, conversation_id: int) -> Conversation:
    """The conversation if the user may upload into it (members only)."""
    try:
        return service.require_writable(conversation_id)
    except PermissionDenied as exc:
        raise PermissionDenied("Only members of this conversation can share files in it.") from exc


__all__ = [
    "FileService",
    "MediaItems",
    "Preview",
    "UploadSession",
    "blob_store_for",
    "clean_file_name",
    "detect_media_type",
    "download_name",
    "human_size",
    "make_thumbnail",
    "preview_kind",
    "read_attachment_bytes",
]
