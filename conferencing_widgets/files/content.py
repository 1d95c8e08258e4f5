"""What arriving bytes are: their SHA-256, their start (for type sniffing) and whether text is valid UTF-8.

One ``ContentCheck`` follows one upload as its bytes arrive, in order, whichever way they travel (the kernel
websocket's chunks in ``upload.py``, the resumable HTTP endpoint in ``resumable.py``). The type is checked
against the allow-list as soon as the first ``HEAD_BYTES`` are in, so a refused type stops the upload early.
"""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.files.detect import ACTIVE_TYPES, detect_media_type, parse_allowed_types, type_allowed

HEAD_BYTES = 64 * 1024
"""How much of the start of a file type detection looks at."""


class TypeRefused(InvalidInput):
    """The content is of a type the server's allow-list refuses."""


class ContentCheck:
    """Hash, head and text validity of bytes fed in order; ``checked_type`` once the head is in."""

    def __init__(self, name: str, size: int, allowed_types: str) -> None:
        self.name = name
        self.size = size
        self.allowed = parse_allowed_types(allowed_types)
        self.received = 0
        self.media_type: str | None = None
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self._text: codecs.IncrementalDecoder | None = None
        self._text_ok = True

    def feed(self, view: memoryview) -> None:
        """Account for the next bytes; ``InvalidInput`` once the head shows a type the server refuses."""
        self._hash.update(view)
        self._track_text(view)
        self.received += len(view)
        if self.media_type is None and (len(self._head) >= HEAD_BYTES or self.received >= self.size):
            self._check_type()

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

    def _refuse(self, media_type: str) -> TypeRefused:
        return TypeRefused(
            f"{self.name} is {media_type}, which this server does not accept. Allowed types: {', '.join(self.allowed)}."
        )

    def _check_type(self) -> None:
        media_type = detect_media_type(bytes(self._head), self.name)
        if not type_allowed(media_type, self.allowed):
            raise self._refuse(media_type)
        self.media_type = media_type
        if not media_type.startswith("text/"):
            self._text_ok = False  # binary: no need to validate the rest as UTF-8

    def final_type(self) -> str:
        """The stored type: text that is not valid UTF-8 is a plain download. ``InvalidInput`` if refused."""
        media_type = self.media_type or detect_media_type(bytes(self._head), self.name)
        if media_type.startswith("text/") and media_type not in ACTIVE_TYPES:
            if self._text is not None and self._text_ok:
                try:
                    self._text.decode(b"", final=True)
                except UnicodeDecodeError:
                    self._text_ok = False
            if not self._text_ok:
                media_type = "application/octet-stream"
        if not type_allowed(media_type, self.allowed):
            raise self._refuse(media_type)
        return media_type

    def hexdigest(self) -> str:
        """The SHA-256 of the bytes fed so far."""
        return self._hash.hexdigest()

    def feed_file(self, path: Path, length: int, block: int = 4 << 20) -> None:
        """Feed the first ``length`` bytes of a file (rebuilding the check of an upload after a restart)."""
        with path.open("rb") as fh:
            left = length
            while left > 0:
                data = fh.read(min(block, left))
                if not data:
                    break
                self.feed(memoryview(data))
                left -= len(data)


__all__ = ["HEAD_BYTES", "ContentCheck", "TypeRefused"]
