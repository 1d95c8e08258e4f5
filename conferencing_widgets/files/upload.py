"""One file arriving in chunks: spooled to a temporary file, hashed, its type checked as soon as its start is in.

Create one with ``FileService.begin_upload``; ``write`` the chunks in order, then ``finish`` (store it and post
its message, everything or nothing) or ``cancel`` (nothing stays). The service owns the commit and the rights.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import uuid
from typing import TYPE_CHECKING, Literal

from conferencing_widgets.core.errors import InvalidInput, LimitExceeded, StorageError
from conferencing_widgets.core.model import Attachment, Conversation
from conferencing_widgets.files.detect import ACTIVE_TYPES, detect_media_type, parse_allowed_types, type_allowed

if TYPE_CHECKING:
    from conferencing_widgets.files.service import FileService

HEAD_BYTES = 64 * 1024
"""How much of the start of a file type detection looks at."""


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
            raise StorageError(
                "The upload could not be received right now. Nothing was shared; try again later.",
                detail=f"writing the upload's temporary file: {exc}",
            ) from exc
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


__all__ = ["HEAD_BYTES", "UploadSession"]
