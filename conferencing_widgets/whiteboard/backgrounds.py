"""Board backgrounds: a PNG/JPEG file, or a PDF's first page, decoded and fitted to the page (Pillow, pypdfium2).

Decoded pictures are cached by an object its owner keeps (``FittedBackgrounds``, a bounded LRU by content
hash); without one, a background is decoded on every call.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from typing import TYPE_CHECKING

from cachetools import LRUCache

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.i18n import _
from conferencing_widgets.store import Store
from conferencing_widgets.whiteboard.geometry import PAGE_HEIGHT, PAGE_WIDTH, background_rect
from conferencing_widgets.whiteboard.store import background_file

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from conferencing_widgets.store.blobs import BlobStore

log = logging.getLogger(__name__)

BACKGROUND_MAX_SIDE = 2 * max(PAGE_WIDTH, PAGE_HEIGHT)
"""A PDF page is rasterised at most this large before it is fitted."""
MAX_BACKGROUND_PIXELS = 40_000_000
"""Images with more pixels are refused as backgrounds (decompression bombs)."""
CACHED_BACKGROUNDS = 16
"""Fitted backgrounds one ``FittedBackgrounds`` keeps."""


class FittedBackgrounds:
    """Decoded backgrounds fitted to the page, keyed by (content hash, media type); bounded and thread-safe."""

    def __init__(self, maxsize: int = CACHED_BACKGROUNDS) -> None:
        self._images: LRUCache[tuple[str, str], PILImage.Image] = LRUCache(maxsize=maxsize)
        self._lock = threading.Lock()

    def get(self, sha256: str, media_type: str) -> PILImage.Image | None:
        """The cached picture, or None."""
        with self._lock:
            return self._images.get((sha256, media_type))

    def put(self, sha256: str, media_type: str, image: PILImage.Image) -> None:
        """Remember a fitted picture."""
        with self._lock:
            self._images[(sha256, media_type)] = image

    def clear(self) -> None:
        """Forget every picture (only to free memory: entries are keyed by content, so never stale)."""
        with self._lock:
            self._images.clear()


def decode_background(data: bytes, media_type: str) -> PILImage.Image:
    """An RGB image of a PNG/JPEG file, or of a PDF's first page; ``InvalidInput`` for anything else."""
    from PIL import Image, UnidentifiedImageError

    if media_type == "application/pdf":
        return _pdf_first_page(data)
    if media_type not in ("image/png", "image/jpeg"):
        raise InvalidInput(
            _("A background must be a PNG or JPEG image or a PDF, not {media_type}.").format(media_type=media_type)
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_BACKGROUND_PIXELS:
                    raise InvalidInput(
                        _(
                            "The image is {width}×{height} pixels, too large for a background "
                            "(at most {value} megapixels). Use a smaller image."
                        ).format(width=img.width, height=img.height, value=MAX_BACKGROUND_PIXELS // 1000000)
                    )
                img.draft("RGB", (BACKGROUND_MAX_SIDE, BACKGROUND_MAX_SIDE))
                img.load()
                if img.mode in ("RGBA", "LA", "PA", "P") or "transparency" in img.info:
                    rgba = img.convert("RGBA")
                    out = Image.new("RGB", rgba.size, "white")
                    out.paste(rgba, mask=rgba.getchannel("A"))
                    return out
                return img.convert("RGB")
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise InvalidInput(
            _("The background image cannot be read ({exc}). Use another PNG or JPEG file.").format(exc=exc)
        ) from exc


def _pdf_first_page(data: bytes) -> PILImage.Image:
    try:
        import pypdfium2 as pdfium
    except ImportError as exc:  # pragma: no cover - pypdfium2 is a dependency
        raise InvalidInput(_("PDF backgrounds need pypdfium2; use a PNG or JPEG image instead.")) from exc
    try:
        pdf = pdfium.PdfDocument(data)
    except Exception as exc:  # noqa: BLE001 - pdfium raises its own error types for broken files
        raise InvalidInput(_("The PDF cannot be read ({exc}). Use another file.").format(exc=exc)) from exc
    try:
        if len(pdf) < 1:
            raise InvalidInput(_("The PDF has no pages."))
        page = pdf[0]
        w, h = page.get_size()
        if w <= 0 or h <= 0:
            raise InvalidInput(_("The PDF's first page is empty."))
        scale = min(BACKGROUND_MAX_SIDE / w, BACKGROUND_MAX_SIDE / h, 4.0)
        image = page.render(scale=scale, fill_color=(255, 255, 255, 255)).to_pil().convert("RGB")
        page.close()
        return image
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001
        raise InvalidInput(
            _("The PDF's first page cannot be drawn ({exc}). Use another file.").format(exc=exc)
        ) from exc
    finally:
        pdf.close()


def fitted_background(
    data: bytes, media_type: str, cache_key: str | None = None, *, cache: FittedBackgrounds | None = None
) -> PILImage.Image:
    """The background scaled to its place on the page (``background_rect``); cached in ``cache`` by
    ``cache_key`` (the content hash) when both are given."""
    from PIL import Image

    if cache is not None and cache_key:
        hit = cache.get(cache_key, media_type)
        if hit is not None:
            return hit
    img = decode_background(data, media_type)
    _x, _y, w, h = background_rect(img.width, img.height)
    fitted = img if img.size == (w, h) else img.resize((w, h), Image.Resampling.LANCZOS)
    if cache is not None and cache_key:
        cache.put(cache_key, media_type, fitted)
    return fitted


def board_background(
    store: Store,
    attachment_id: int | None,
    blobs: BlobStore | None,
    *,
    cache: FittedBackgrounds | None = None,
) -> PILImage.Image | None:
    """The fitted background of a board, or None (none set, or its file is gone: logged, never fatal)."""
    if attachment_id is None:
        return None
    try:
        found = background_file(store, attachment_id)
        if found is None:
            raise LookupError(f"file {attachment_id} is gone")
        sha256, media_type = found
        if cache is not None:
            cached = cache.get(sha256, media_type)
            if cached is not None:
                return cached
        if blobs is None:
            from conferencing_widgets.core.config import load_settings
            from conferencing_widgets.files.service import blob_store_for

            blobs = blob_store_for(load_settings())
        return fitted_background(blobs.read(sha256), media_type, cache_key=sha256, cache=cache)
    except Exception as exc:  # noqa: BLE001 - a missing background must not stop the drawing from rendering
        log.warning("whiteboard background %s not drawn: %s", attachment_id, exc)
        return None


__all__ = [
    "BACKGROUND_MAX_SIDE",
    "MAX_BACKGROUND_PIXELS",
    "FittedBackgrounds",
    "board_background",
    "decode_background",
    "fitted_background",
]
