"""One file arriving in chunks: spooled to a temporary file, hashed, its type checked as soon as its start is in.

Create one with ``FileService.begin_upload``; ``write`` the chunks in order, then ``finish`` (store it and post
its message, everything or nothing) or ``cancel`` (nothing stays). The service owns the commit and the rights.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING, Literal

from conferencing_widgets.core.errors import InvalidInput, LimitExceeded, StorageError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Attachment, Conversation
from conferencing_widgets.files.content import HEAD_BYTES, ContentCheck

if TYPE_CHECKING:
    from conferencing_widgets.files.service import FileService


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
        self._check = ContentCheck(name, size, files.settings.allowed_types)
        self.path, self._fh = files.blobs.new_spool_file()

    @property
    def progress(self) -> float:
        """Fraction received, 0..1."""
        return 1.0 if self.size == 0 else self.received / self.size

    def _require_open(self) -> None:
        if self.state != "open":
            raise InvalidInput(
                _("The upload of {name} is {state}; start it again.").format(name=self.name, state=self.state)
            )

    def write(self, data: bytes | bytearray | memoryview, offset: int | None = None) -> int:
        """Append a chunk (``offset`` must be where the last one ended); returns the bytes received so far."""
        self._require_open()
        view = memoryview(data).cast("B")
        if offset is not None and int(offset) != self.received:
            self._fail()
            raise InvalidInput(
                _(
                    "The upload of {name} lost a piece (expected offset {received}, got {offset}); upload it again."
                ).format(name=self.name, received=self.received, offset=offset)
            )
        if self.received + len(view) > self.size:
            self._fail()
            raise LimitExceeded(
                _("{name} sent more bytes than announced ({size:,}); upload it again.").format(
                    name=self.name, size=self.size
                )
            )
        try:
            self._fh.write(view)
        except OSError as exc:
            self._fail()
            raise StorageError(
                _("The upload could not be received right now. Nothing was shared; try again later."),
                detail=f"writing the upload's temporary file: {exc}",
            ) from exc
        try:
            self._check.feed(view)
        except InvalidInput:
            self._fail()
            raise
        self.received += len(view)
        return self.received

    @property
    def media_type(self) -> str | None:
        """The type sniffed from the start of the file, once it has arrived."""
        return self._check.media_type

    def finish(self) -> Attachment:
        """Store the file and post its message; everything or nothing."""
        self._require_open()
        if self.received != self.size:
            self._fail()
            raise InvalidInput(
                _("The upload of {name} is incomplete ({received:,} of {size:,} bytes); upload it again.").format(
                    name=self.name, received=self.received, size=self.size
                )
            )
        try:
            self._fh.close()
            media_type = self._check.final_type()
            attachment = self.files._commit(self, media_type, self._check.hexdigest())
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
