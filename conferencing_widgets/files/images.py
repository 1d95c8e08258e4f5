"""Photos lose their location before they are stored: EXIF orientation applied, EXIF (GPS included) dropped.

Phones write the camera's orientation and the place a photo was taken into its EXIF block. ``clean_image``
opens a JPEG, PNG or WebP with Pillow, and only when it carries EXIF data: it rotates the pixels as the EXIF
orientation says (``ImageOps.exif_transpose``) and saves the image again in the same format with no EXIF at all
(the ICC colour profile is kept; JPEG at quality 92). Images without EXIF are stored byte for byte as sent.
An image that carries EXIF but cannot be re-encoded is refused rather than stored with its location.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.i18n import _

CLEANED_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
"""Types whose EXIF is removed, and Pillow's format name for each."""
MAX_CLEAN_PIXELS = 60_000_000
"""Larger images are refused when they carry EXIF (decoding them would take too much memory)."""
JPEG_QUALITY = 92


def clean_image(path: Path, media_type: str) -> bool:
    """Rewrite ``path`` in place without EXIF, orientation applied; True when the file changed."""
    fmt = CLEANED_TYPES.get(media_type)
    if fmt is None:
        return False
    from PIL import Image, ImageOps

    try:
        opened = Image.open(path)
    except Exception:  # noqa: BLE001 - not an image Pillow reads: no EXIF it could find either
        return False
    try:
        with opened as img:
            if not img.getexif() and "exif" not in img.info:
                return False
            if img.width * img.height > MAX_CLEAN_PIXELS:
                raise InvalidInput(
                    _(
                        "This photo is too large ({w}x{h} pixels) to remove its location data; share a smaller one."
                    ).format(w=img.width, h=img.height)
                )
            icc = img.info.get("icc_profile")
            upright = ImageOps.exif_transpose(img)
            if fmt == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
                upright = upright.convert("RGB")
            options: dict[str, object] = {"icc_profile": icc} if icc else {}
            if fmt == "JPEG":
                options["quality"] = JPEG_QUALITY
            fd, tmp = tempfile.mkstemp(prefix="clean-", suffix=".part", dir=path.parent)
            os.close(fd)
            try:
                # No exif= argument: Pillow writes no EXIF block (and so no GPS) in the new file.
                upright.save(tmp, format=fmt, **options)
                os.replace(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for broken images
        raise InvalidInput(
            _(
                "This image carries camera data (EXIF) that could not be removed, so it was not shared; "
                "export it again from the photo app and retry."
            )
        ) from exc
    return True


__all__ = ["CLEANED_TYPES", "clean_image"]
