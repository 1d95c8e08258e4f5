"""The signature and the signer's name: checked, then drawn server-side to a PNG (Pillow). Pure, no I/O.

Strokes come from the pad (``ui/cases/signoff.py``) as lists of ``[x, y]`` points in pad pixels. Whatever a page
sends is checked again here: no points -> "draw your signature"; more than ``MAX_POINTS`` -> a clear limit error;
coordinates are clamped to the pad, so a tampered page can neither grow the image nor hide ink outside it.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence

from conferencing_widgets.core.errors import InvalidInput, LimitExceeded
from conferencing_widgets.core.i18n import _

PAD_WIDTH = 480
PAD_HEIGHT = 160
"""The pad's size in pixels (the canvas and the PNG)."""
MAX_POINTS = 20_000
"""Most points a signature may hold (a long, careful signature is a few hundred)."""
MAX_STROKES = 500
MAX_NAME = 100
"""Longest signer's name, in characters."""
SUPERSAMPLE = 3
"""Pillow draws at this factor and reduces, for smooth ink (it has no anti-aliasing)."""
INK_WIDTH = 2.5

Strokes = list[list[tuple[float, float]]]


def clean_name(name: object) -> str:
    """The signer's name, trimmed, whitespace collapsed; refused when empty, too long or holding control characters."""
    if not isinstance(name, str):
        raise InvalidInput(_("Type your name under the signature."))
    text = " ".join(name.split())
    if not text:
        raise InvalidInput(_("Type your name under the signature."))
    if len(text) > MAX_NAME:
        raise LimitExceeded(_("Your name is longer than {n} characters; shorten it.").format(n=MAX_NAME))
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in text):
        raise InvalidInput(_("Your name holds characters that cannot be shown; type it again."))
    return text


def _coord(value: object, limit: int) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(_("The signature could not be read; clear the pad and sign again."))
    return min(max(float(value), 0.0), float(limit))


def clean_strokes(strokes: object) -> Strokes:
    """The pad's strokes as float points inside the pad; errors say what to do."""
    if not isinstance(strokes, Sequence) or isinstance(strokes, str | bytes):
        raise InvalidInput(_("The signature could not be read; clear the pad and sign again."))
    total = sum(len(s) for s in strokes if isinstance(s, Sequence))
    if total > MAX_POINTS or len(strokes) > MAX_STROKES:
        raise LimitExceeded(
            _("The signature has too many points (more than {n:,}); clear the pad and sign once.").format(n=MAX_POINTS)
        )
    out: Strokes = []
    for stroke in strokes:
        if not isinstance(stroke, Sequence) or isinstance(stroke, str | bytes):
            raise InvalidInput(_("The signature could not be read; clear the pad and sign again."))
        points = []
        for point in stroke:
            if not isinstance(point, Sequence) or isinstance(point, str | bytes) or len(point) != 2:
                raise InvalidInput(_("The signature could not be read; clear the pad and sign again."))
            points.append((_coord(point[0], PAD_WIDTH), _coord(point[1], PAD_HEIGHT)))
        if points:
            out.append(points)
    if not out:
        raise InvalidInput(_("Draw your signature in the box first."))
    return out


def signature_png(strokes: Strokes) -> bytes:
    """The signature as a PNG: dark ink on white, the pad's size. Deterministic for the same strokes."""
    from PIL import Image, ImageDraw

    k = SUPERSAMPLE
    img = Image.new("L", (PAD_WIDTH * k, PAD_HEIGHT * k), 255)
    draw = ImageDraw.Draw(img)
    width = max(1, round(INK_WIDTH * k))
    r = width / 2
    for stroke in strokes:
        pts = [(x * k, y * k) for x, y in stroke]
        if len(pts) > 1:
            draw.line(pts, fill=20, width=width, joint="curve")
        for x, y in (pts[0], pts[-1]) if len(pts) > 1 else pts:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=20)  # round caps, and a dot for a single point
    small = img.resize((PAD_WIDTH, PAD_HEIGHT), Image.Resampling.BOX)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()
