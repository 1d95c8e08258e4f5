"""File sharing for one signed-in user: the use cases and every permission check.

Only members upload; whoever may read a conversation (members, and engineers/admins for case chats) may open
its files. An attachment of a conversation the user cannot read is reported as ``NotFound``, so ids cannot be
probed. Bytes are never trusted: the type is detected from the content (``detect``), the size is counted as it
arrives (``upload``), and the user's file name is kept as text only (``names``; content lives under its SHA-256
in the blob store).

An upload arrives in chunks (``begin_upload`` -> ``UploadSession.write`` ... -> ``finish``), spooled to a
local temporary file. ``finish`` stages the blob under a temporary key, then writes the attachment, its file
message and its feed event in one transaction whose last step moves the blob to its content address. Any
failure removes what was written, and ``cancel`` leaves nothing at all.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cachetools import LRUCache

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
from conferencing_widgets.core.model import Attachment, Call, Conversation, Message
from conferencing_widgets.files import store as att_store
from conferencing_widgets.files.detect import (
    IMAGE_PREVIEW_TYPES,
    VIDEO_PREVIEW_TYPES,
    PreviewKind,
    detect_media_type,
    preview_kind,
)
from conferencing_widgets.files.images import clean_image
from conferencing_widgets.files.names import clean_file_name, download_name, endpoint_name, human_size, type_label
from conferencing_widgets.files.tablefiles import cached_preview, read_table_file
from conferencing_widgets.files.tables import TablePreview, TableUnreadable, is_table_file
from conferencing_widgets.files.thumbnails import THUMB_SIZE, Thumbnail, ThumbnailCache, make_thumbnail
from conferencing_widgets.files.tokens import make_upload_token
from conferencing_widgets.files.upload import UploadSession
from conferencing_widgets.store.blobs import BlobStore, StagedBlob

if TYPE_CHECKING:
    import pandas as pd

MAX_ACTIVE_UPLOADS = 8
"""Uploads one user session may have open at once (each holds a temporary file)."""
PREVIEW_TEXT_BYTES = 64 * 1024
"""How much of a text file the viewer shows; the rest is a download."""
CACHED_ATTACHMENTS = 2048
"""Attachment records one service keeps for rendering file messages (attachments never change)."""


# -- blob stores (one per location and process) ---------------------------------------------------------

_BLOB_STORES: dict[str, BlobStore] = {}
_BLOB_LOCK = threading.Lock()


def shared_file_body(name: str, size: int) -> str:
    """The text of a file's message (stored as data; pages render the file card instead)."""
    return f"Shared a file: {name} ({human_size(size)})"


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
    table: TablePreview | None = None
    """For CSV/TSV files (kind ``table``): the first rows, the columns and the plot, or why it is no table."""
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


class FileService:
    """Files for one signed-in user (``Session.files``)."""

    def __init__(self, service: Service, blobs: BlobStore | None = None) -> None:
        self.service = service
        self.settings = service.settings
        self.blobs = blobs or blob_store_for(service.settings)
        self._sessions: dict[str, UploadSession] = {}
        self._thumbnails = ThumbnailCache(self.blobs)
        # Attachment records by id, for the stream's file rows; rights are checked on every call regardless.
        self._records: LRUCache[int, Attachment] = LRUCache(maxsize=CACHED_ATTACHMENTS)
        self._records_lock = threading.Lock()

    # -- uploading -------------------------------------------------------------------------------------

    def check_upload(self, conversation_id: int, name: str, size: object) -> tuple[Conversation, str, int]:
        """Refuse an upload before any byte is sent: rights, size limit and name. Returns the clean values."""
        conv = require_member_upload(self.service, conversation_id)
        clean = clean_file_name(name)
        if isinstance(size, float) and size.is_integer():
            size = int(size)  # JSON numbers may arrive as floats
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidInput(
                _("The size of {clean} is not a valid number of bytes: {size!r}.").format(clean=clean, size=size)
            )
        if size == 0:
            raise InvalidInput(_("{clean} is empty (0 bytes); choose a file with content.").format(clean=clean))
        limit = self.settings.max_upload_bytes
        if size > limit:
            raise LimitExceeded(
                _(
                    "{clean} is {size}, larger than the limit of {limit}. Share "
                    "a smaller file (compress it or split it)."
                ).format(clean=clean, size=human_size(size), limit=human_size(limit))
            )
        return conv, clean, size

    def upload_token(self, conversation_id: int, name: str, size: object) -> tuple[str, str]:
        """For the resumable endpoint: the name to declare and a short-lived token for this user and conversation.

        The same checks as ``check_upload`` run first (rights, size, name); the endpoint re-checks the rights
        before accepting bytes and when the file is complete.
        """
        conv, clean, _size = self.check_upload(conversation_id, name, size)
        ttl = parse_duration(self.settings.upload_token_ttl).total_seconds()
        token = make_upload_token(self.settings.secret, self.service.login, conv.id, ttl)
        return endpoint_name(clean), token

    def uploaded(self, conversation_id: int, attachment_id: object) -> Attachment:
        """A file this user has just shared in this conversation through the endpoint; ``NotFound`` otherwise."""
        att = self.attachment_in(conversation_id, attachment_id if isinstance(attachment_id, int) else None)
        if att.uploader != self.service.login:
            raise NotFound(_("No file {id} of yours in this conversation.").format(id=att.id))
        return att

    def begin_upload(
        self, conversation_id: int, name: str, size: object, *, client_id: str | None = None
    ) -> UploadSession:
        """Start an upload of ``size`` bytes into a conversation the user is a member of."""
        conv, clean, size = self.check_upload(conversation_id, name, size)
        if client_id is not None:
            client_id = str(client_id)
            if not client_id or len(client_id) > 64 or not client_id.isprintable():
                raise InvalidInput(_("The upload's client id must be 1 to 64 printable characters."))
        if len(self._sessions) >= MAX_ACTIVE_UPLOADS:
            raise LimitExceeded(
                _("At most {max_active_uploads} uploads can run at once; wait for one to finish.").format(
                    max_active_uploads=MAX_ACTIVE_UPLOADS
                )
            )
        session = UploadSession(self, conv, clean, size, client_id)
        self._sessions[session.id] = session
        return session

    def session(self, upload_id: str) -> UploadSession:
        """An open upload of this user."""
        try:
            return self._sessions[str(upload_id)]
        except KeyError:
            raise NotFound(_("That upload is not running any more; start it again.")) from None

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
        return self.store_file(
            session.conversation_id,
            name=session.name,
            path=session.path,
            size=session.size,
            media_type=media_type,
            sha256=sha256,
            client_id=session.client_id,
        )

    def store_file(
        self,
        conversation_id: int,
        *,
        name: str,
        path: Path,
        size: int,
        media_type: str,
        sha256: str,
        client_id: str | None,
        at: datetime | None = None,
    ) -> Attachment:
        """Store a fully received, checked local file and post its message: everything or nothing.

        ``at`` backdates the file and its message, for the demo and tests only.

        Rights are checked again (membership may have changed while the bytes arrived). Photos lose their EXIF
        (location) here, orientation applied (``images.clean_image``), so hash and size are the stored bytes'.
        The local file is moved into the blob store (or copied, for a remote one).
        """
        conv = require_member_upload(self.service, conversation_id)
        if clean_image(path, media_type):
            sha256, size = file_sha256(path), path.stat().st_size
        store = self.service.store
        staged = self.blobs.stage(path, sha256)
        finalising: list[bool] = []

        def finalise() -> None:
            finalising.append(True)
            self.blobs.finalise(staged)

        try:
            attachment, message, fresh = att_store.add_attachment(
                store,
                conversation_id=conversation_id,
                uploader=self.service.login,
                name=name,
                media_type=media_type,
                size=size,
                sha256=sha256,
                body=shared_file_body(name, size),
                client_id=client_id,
                before_commit=finalise,
                at=at,
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
            raise StorageError(_("The file could not be saved. Nothing was shared; try again."), detail=exc) from exc
        if not fresh:
            self.blobs.discard(staged)  # a retry of an upload that was already stored
        elif at is None:  # seeded (backdated) files tell no hooks: the demo plays its statuses itself
            self.service.after_posted(conv, message)
        return attachment

    def store_bytes_checked_by_caller(
        self,
        conversation_id: int,
        name: str,
        body: bytes,
        media_type: str,
        *,
        staged: list[StagedBlob],
        stored: list[str],
        at: datetime | None = None,
    ) -> Attachment:
        """Store ``body`` as a file of a conversation, with its "Shared a file" message, in the caller's transaction.

        No rights check here: for a feature that checked its own rights first (the sign-off seals its bundle as
        the signing customer, a member of the chat, under its own rules). No image cleaning, client id or post
        hooks either. The blob is staged now (appended to ``staged``) and finalised just before the caller's
        commit (its hash appended to ``stored`` when this put it in place); if the caller's transaction fails,
        it passes both lists to ``discard_staged`` so nothing stays half-written. ``at`` backdates the file.
        """
        sha = hashlib.sha256(body).hexdigest()
        path, fh = self.blobs.new_spool_file()
        try:
            with fh:
                fh.write(body)
            blob = self.blobs.stage(path, sha)
        finally:
            path.unlink(missing_ok=True)
        staged.append(blob)

        def finalise() -> None:
            if self.blobs.finalise(blob):
                stored.append(sha)

        attachment, _message, _fresh = att_store.add_attachment(
            self.service.store,
            conversation_id=conversation_id,
            uploader=self.service.login,
            name=name,
            media_type=media_type,
            size=len(body),
            sha256=sha,
            body=shared_file_body(name, len(body)),
            before_commit=finalise,
            at=at,
        )
        return attachment

    def discard_staged(self, staged: list[StagedBlob], stored: list[str]) -> None:
        """Undo ``store_bytes_checked_by_caller`` after the caller's transaction failed: drop the staged blobs,
        and remove those put in place unless another attachment uses them."""
        for blob in staged:
            self.blobs.discard(blob)
        for sha in stored:
            with contextlib.suppress(ConferencingError):
                att_store.delete_blob_if_unreferenced(self.service.store, self.blobs, sha)

    # -- reading ---------------------------------------------------------------------------------------

    def attachment(self, attachment_id: int) -> Attachment:
        """An attachment of a conversation the user may read; ``NotFound`` otherwise."""
        try:
            att = att_store.get_attachment(self.service.store, int(attachment_id))
            self.service.require_readable(att.conversation_id)
        except (TypeError, ValueError) as exc:
            raise NotFound(_("No file {attachment_id!r}.").format(attachment_id=attachment_id)) from exc
        except NotFound:
            raise NotFound(_("No file {id} that you can open.").format(id=attachment_id)) from None
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
        if is_table_file(att.name, att.media_type):
            table = cached_preview(self.blobs, att)  # by content hash: cheap from the second opening on
            return Preview(attachment=att, kind="table", download_name=download_name(att.name), table=table)
        if kind == "text":
            head = self.blobs.read(att.sha256, length=PREVIEW_TEXT_BYTES)
            text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(head, final=False)
            truncated = att.size > len(head)
        return Preview(attachment=att, kind=kind, download_name=download_name(att.name), text=text, truncated=truncated)

    def file_table(self, attachment_id: int) -> pd.DataFrame:
        """A shared CSV/TSV file as a pandas DataFrame, for analysts; the same rights as downloading it.

        Date-time columns are parsed, numbers use the decimal mark the file uses. ``LimitExceeded`` for a file
        over ``table_max_bytes`` (before reading) or with more than ``table_max_rows`` rows (reading stops
        there); ``TableUnreadable`` (an ``InvalidInput``) for content that is not a table.
        """
        att = self.attachment(attachment_id)
        if not is_table_file(att.name, att.media_type):
            raise InvalidInput(_("{name} is not a CSV or tab-separated file.").format(name=att.name))
        return read_table_file(self.blobs, self.settings, att)

    def attachment_in(self, conversation_id: int, attachment_id: int | None) -> Attachment:
        """An attachment of a conversation the user may read, if it belongs to that conversation.

        ``NotFound`` otherwise: a forged or dangling reference never reveals another conversation's file. The
        record comes from a small cache of this service (attachments never change); the rights are checked on
        every call.
        """
        conv = self.service.require_readable(conversation_id)
        if attachment_id is None:
            raise NotFound(_("This message refers to no file."))
        try:
            key = int(attachment_id)
        except (TypeError, ValueError) as exc:
            raise NotFound(_("No file {attachment_id!r}.").format(attachment_id=attachment_id)) from exc
        with self._records_lock:
            att = self._records.get(key)
        if att is None:
            att = att_store.get_attachment(self.service.store, key)
            with self._records_lock:
                self._records[key] = att
        if att.conversation_id != conv.id:
            raise NotFound(_("No file {key} in this conversation.").format(key=key))
        return att

    def attachment_of_message(self, message: Message) -> Attachment:
        """The attachment a file message of a readable conversation refers to; ``NotFound`` otherwise."""
        return self.attachment_in(message.conversation_id, message.ref_id)

    def thumbnail(self, attachment: Attachment, size: int = THUMB_SIZE) -> Thumbnail | None:
        """A small PNG/JPEG of an image attachment the user may read, or None (not an image, broken, huge).

        Thumbnails are re-encoded by Pillow, so no active content can pass through them. They are cached in
        the blob store next to the content, and in memory by this service.
        """
        if preview_kind(attachment.media_type) != "image":
            return None
        att = self.attachment(attachment.id)  # rights, and the stored record rather than the caller's copy
        return self._thumbnails.get(att.sha256, att.media_type, size)


def read_attachment_bytes(service: Service, attachment_id: int) -> tuple[Attachment, bytes]:
    """An attachment and all its bytes, if ``service``'s user may read its conversation (else ``NotFound``).

    For other features, e.g. a whiteboard drawing a shared image as its background.
    """
    return FileService(service).read(attachment_id)


def file_sha256(path: Path, block: int = 4 << 20) -> str:
    """The SHA-256 of a local file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while data := fh.read(block):
            digest.update(data)
    return digest.hexdigest()


def require_member_upload(service: Service, conversation_id: int) -> Conversation:
    """The conversation if the user may upload into it (members only)."""
    try:
        return service.require_writable(conversation_id)
    except PermissionDenied as exc:
        raise PermissionDenied(_("Only members of this conversation can share files in it.")) from exc


__all__ = [
    "FileService",
    "MediaItems",
    "Preview",
    "PreviewKind",
    "TablePreview",
    "TableUnreadable",
    "UploadSession",
    "blob_store_for",
    "clean_file_name",
    "detect_media_type",
    "download_name",
    "human_size",
    "make_thumbnail",
    "preview_kind",
    "read_attachment_bytes",
    "require_member_upload",
    "type_label",
]
