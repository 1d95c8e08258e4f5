"""What a file is, from its content: media type sniffing, the server's allow-list, and how the viewer shows a type.

Bytes are never trusted: the type comes from the content (the name only breaks ties), and content a browser
would execute (HTML, SVG, XML, script) is always a download.
"""

from __future__ import annotations

import codecs
import contextlib
from pathlib import Path
from typing import Literal

PreviewKind = Literal["image", "pdf", "video", "text", "table", "download"]
"""``table``: CSV/TSV files, chosen by the file service (it needs the name too); ``preview_kind`` never says it."""

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
            # A one-byte signature (JSON's "{") matches 1 random binary file in 256: not evidence.
            matches = [m for m in puremagic.magic_string(head) if m.mime_type and len(m.byte_match) > 1]
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


__all__ = [
    "ACTIVE_TYPES",
    "IMAGE_PREVIEW_TYPES",
    "TEXT_PREVIEW_TYPES",
    "VIDEO_PREVIEW_TYPES",
    "PreviewKind",
    "detect_media_type",
    "parse_allowed_types",
    "preview_kind",
    "type_allowed",
]
