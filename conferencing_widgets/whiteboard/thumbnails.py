"""The pictures one ``WhiteboardService`` has made, so a repeated export, thumbnail or background is instant.

Exports and thumbnails are keyed by (board, revision, scale, size): the board's ``revision`` is bumped in the
store by every stroke, erase, clear, undo, redo and background change (by any user, in any process), so a key
never names a stale picture. Background PNGs are keyed by attachment id (an attachment never changes) and
decoded backgrounds by content hash. Every cache is a bounded LRU owned by this object.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cachetools import LRUCache

from conferencing_widgets.whiteboard.backgrounds import FittedBackgrounds

THUMB_SIZE = (200, 128)
"""Thumbnail box of area 3's whiteboard list (the page's aspect ratio)."""
CACHED_EXPORTS = 8
"""Full-size PNG exports kept (each up to about a megabyte)."""
CACHED_THUMBNAILS = 256
"""Thumbnails kept (a few kilobytes each)."""
CACHED_BACKGROUND_PNGS = 16
"""Fitted background PNGs kept (what the live board draws under the strokes)."""

PictureKey = tuple[int, int, str | None, tuple[int, int] | None]
"""(board id, board revision, repr of the scale (None for a thumbnail), size)."""
Placed = tuple[bytes, tuple[int, int, int, int]]
"""PNG bytes and where they go on the page (x, y, w, h)."""


class BoardImages:
    """Bounded caches of board pictures for one service (thread-safe: renders may come from a worker thread)."""

    def __init__(self) -> None:
        self.backgrounds = FittedBackgrounds()
        """Decoded backgrounds, for renders and for the live board."""
        self._exports: LRUCache[PictureKey, bytes] = LRUCache(maxsize=CACHED_EXPORTS)
        self._thumbnails: LRUCache[PictureKey, bytes] = LRUCache(maxsize=CACHED_THUMBNAILS)
        self._background_pngs: LRUCache[int, Placed] = LRUCache(maxsize=CACHED_BACKGROUND_PNGS)
        self._lock = threading.Lock()
        self.renders = 0
        """Pictures rendered (not served from a cache): for tests and diagnostics."""

    def picture(self, key: PictureKey, render: Callable[[], bytes]) -> bytes:
        """The PNG for ``key``, rendered by ``render()`` unless cached; older revisions of the board are dropped."""
        cache = self._thumbnails if key[3] is not None else self._exports
        with self._lock:
            hit = cache.get(key)
        if hit is not None:
            return hit
        png = render()
        with self._lock:
            self.renders += 1
            for old in [k for k in cache if k[0] == key[0] and k[1] < key[1]]:
                cache.pop(old, None)
            cache[key] = png
        return png

    def background_png(self, attachment_id: int, make: Callable[[], Placed | None]) -> Placed | None:
        """The placed background PNG of an attachment, made by ``make()`` unless cached (None is not cached)."""
        with self._lock:
            hit = self._background_pngs.get(attachment_id)
        if hit is not None:
            return hit
        found = make()
        if found is not None:
            with self._lock:
                self._background_pngs[attachment_id] = found
        return found

    def clear(self) -> None:
        """Forget every picture."""
        with self._lock:
            self._exports.clear()
            self._thumbnails.clear()
            self._background_pngs.clear()
        self.backgrounds.clear()


__all__ = ["CACHED_EXPORTS", "CACHED_THUMBNAILS", "THUMB_SIZE", "BoardImages"]
