"""File names and sizes as people see them: the name kept for display, the name to save under, sizes and type labels.

Names are text only: they are shown escaped or offered as a download name, never used as a path.
"""

from __future__ import annotations

import unicodedata

from conferencing_widgets.core.i18n import ngettext

MAX_NAME_CHARS = 200
"""File names longer than this are shortened (the extension is kept)."""

_TYPE_LABELS = {
    "application/pdf": "PDF",
    "text/plain": "text",
    "text/csv": "CSV",
    "application/octet-stream": "file",
    "application/zip": "ZIP",
}


def human_size(n: int) -> str:
    """``1.5 MB`` style sizes (1 KB = 1024 bytes, as file managers show them)."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            if unit == "bytes":
                return ngettext("{n} byte", "{n} bytes", int(value)).format(n=int(value))
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


def endpoint_name(name: object) -> str:
    """The name a browser declares to the upload endpoint: ``clean_file_name`` with path separators replaced."""
    return clean_file_name(name).replace("/", "_").replace("\\", "_")


def download_name(name: str) -> str:
    """A name a browser may save the file under: path separators and reserved characters replaced."""
    text = clean_file_name(name)
    text = "".join("_" if ch in '/\\:*?"<>|' else ch for ch in text).lstrip(". ")
    return text or "download"


def type_label(media_type: str) -> str:
    """A short human label of a media type (``PDF``, ``PNG image``)."""
    if media_type in _TYPE_LABELS:
        return _TYPE_LABELS[media_type]
    major, _, minor = media_type.partition("/")
    if major in ("image", "video", "audio"):
        return f"{minor.upper()} {major}"
    return media_type


__all__ = ["MAX_NAME_CHARS", "clean_file_name", "download_name", "endpoint_name", "human_size", "type_label"]
