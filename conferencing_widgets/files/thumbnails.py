"""Thumbnails of image attachments: re-encoded by Pillow (so no active content passes through), kept next to the
content in the blob store and in a small in-memory LRU owned by each file service.
"""

from __future__ import annotations

import io
import threading
import warnings

from cachetools import LRUCache

from conferencing_widgets.store.blobs import BlobStore

THUMB_SIZE = 160
"""Thumbnail edge in pixels (the list shows them at half size for sharp HiDPI rendering)."""
MAX_THUMB_PIXELS = 60_000_000
"""Images larger than this get no thumbnail (decompression bombs)."""
CACHED_THUMBNAILS = 512
"""Thumbnails (or "none possible" answers) one cache keeps in memory."""

Thumbnail = tuple[str, bytes]
"""``(media_type, data)`` of a thumbnail: ``image/png`` or ``image/jpeg``."""
ThumbKey = tuple[str, str, int]
"""``(sha256, media_type, size)``: content is addressed by its hash, so the key never names an object."""


def make_thumbnail(data: bytes, size: int = THUMB_SIZE) -> Thumbnail | None:
    """A ``size``-pixel thumbnail of image bytes (PNG if it has transparency, JPEG otherwise), or None."""
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


class ThumbnailCache:
    """Thumbnails of one blob store: memory first, then the blob store's thumbnail files, then Pillow.

    No rights are checked here: the file service checks them before it asks.
    """

    def __init__(self, blobs: BlobStore, maxsize: int = CACHED_THUMBNAILS) -> None:
        self.blobs = blobs
        self._cache: LRUCache[ThumbKey, Thumbnail | None] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()  # cachetools caches are not thread-safe

    def get(self, sha256: str, media_type: str, size: int = THUMB_SIZE) -> Thumbnail | None:
        """The thumbnail of the content ``sha256`` (made and stored on first use), or None if none can be made."""
        key = (sha256, media_type, size)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        made: Thumbnail | None
        cached = self.blobs.read_thumb(sha256, size)
        if cached is not None:
            made = ("image/png" if cached.startswith(b"\x89PNG") else "image/jpeg"), cached
        else:
            made = make_thumbnail(self.blobs.read(sha256), size)
            if made is not None:
                self.blobs.write_thumb(sha256, size, made[1])
        with self._lock:
            self._cache[key] = made
        return made


__all__ = ["MAX_THUMB_PIXELS", "THUMB_SIZE", "Thumbnail", "ThumbnailCache", "make_thumbnail"]
