"""Checks of everything the browser sends for a whiteboard: shapes, points, colours, widths, labels and ids.

Pure functions (no store, no rights): the service calls them before anything is written, so a refused stroke
writes nothing. A stroke carries a bounded number of points (long ones are simplified with
Ramer-Douglas-Peucker). The views ask the service (``WhiteboardService.too_small``) rather than repeat a rule.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

import numpy as np

from conferencing_widgets.core.errors import InvalidInput, LimitExceeded, NotFound
from conferencing_widgets.core.i18n import _
from conferencing_widgets.whiteboard.geometry import SHAPES

BOARD_LIMIT = 20_000.0
"""Coordinates must lie within ±this many board units."""
MAX_INPUT_POINTS = 10_000
"""A stroke with more points than this is refused (draw it in shorter strokes)."""
MAX_STROKE_POINTS = 1_000
"""Points stored per stroke at most: longer strokes are simplified until they fit."""
SIMPLIFY_TOLERANCE = 0.25
"""Board units a pen stroke may move when simplified (well under a pixel at 100 %)."""
MIN_WIDTH, MAX_WIDTH = 0.5, 48.0
"""Accepted line widths (board units)."""
MAX_TEXT_CHARS = 200
"""Longest label."""
MAX_ERASE_IDS = 1_000
"""Strokes one erase call may name."""
PALETTE = ("#1f1f1f", "#e03131", "#1971c2", "#2f9e44", "#f08c00", "#9c36b5")
"""The pen colours the toolbar offers (any ``#rrggbb`` is accepted)."""
WIDTHS = (2.0, 4.0, 8.0, 16.0)
"""The line widths the toolbar offers."""
LINE_SHAPES = ("line", "arrow", "rect", "ellipse")
"""Shapes given by two points: where the drag started and ended."""
MAX_BACKGROUND_BYTES = 12 * 1024 * 1024
"""Largest file accepted as a background (it travels in one websocket frame from the board page)."""
BACKGROUND_TYPES = ("image/png", "image/jpeg", "application/pdf")
"""What can be a background: raster images, or a PDF's first page."""
MIN_SHAPE_SIZE = 1.0
"""A line, arrow, rectangle or ellipse must span at least this many board units (a click is no shape)."""

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
SID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
"""A drawing session id (one view of a board)."""


def clean_color(color: object) -> str:
    """A ``#rrggbb`` colour in lower case."""
    if not isinstance(color, str) or not _COLOR.match(color):
        raise InvalidInput(_("Not a colour: {value!r}. Use #rrggbb, e.g. #1971c2.").format(value=str(color)[:20]))
    return color.lower()


def clean_width(width: object) -> float:
    """A line width between ``MIN_WIDTH`` and ``MAX_WIDTH``."""
    if isinstance(width, bool) or not isinstance(width, int | float) or not math.isfinite(width):
        raise InvalidInput(
            _("Not a line width: {value!r}. Use a number from {min_width} to {max_width:g}.").format(
                value=str(width)[:20], min_width=MIN_WIDTH, max_width=MAX_WIDTH
            )
        )
    if not MIN_WIDTH <= float(width) <= MAX_WIDTH:
        raise InvalidInput(
            _("The line width {width:g} is out of range; use {min_width} to {max_width:g}.").format(
                width=width, min_width=MIN_WIDTH, max_width=MAX_WIDTH
            )
        )
    return float(width)


def clean_text(text: object) -> str:
    """A one-line label: controls removed, whitespace collapsed, 1..``MAX_TEXT_CHARS`` characters."""
    if not isinstance(text, str):
        raise InvalidInput(_("A label must be text."))
    shown = " ".join("".join(ch for ch in text if unicodedata.category(ch)[0] != "C").split())
    if not shown:
        raise InvalidInput(_("The label is empty. Type the text first, then click where it goes."))
    if len(shown) > MAX_TEXT_CHARS:
        raise LimitExceeded(
            _("The label has {count} characters; the limit is {max_text_chars}. Shorten it.").format(
                count=len(shown), max_text_chars=MAX_TEXT_CHARS
            )
        )
    return shown


def clean_points(points: object, *, limit: int = MAX_INPUT_POINTS) -> np.ndarray:
    """Flat x, y numbers (or (x, y) pairs) as an (n, 2) float array; finite and on the board."""
    if isinstance(points, np.ndarray):
        arr = points
    else:
        if not isinstance(points, list | tuple):
            raise InvalidInput(_("Points must be a list of numbers."))
        if len(points) > 2 * limit:
            raise LimitExceeded(
                _("This stroke has {value:,} points; the limit is {limit:,}. Draw it in shorter strokes.").format(
                    value=len(points) // 2, limit=limit
                )
            )
        flat: list[Any] = []
        for p in points:
            if isinstance(p, list | tuple):
                flat.extend(p)
            else:
                flat.append(p)
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in flat):
            raise InvalidInput(_("Points must be numbers (x, y pairs)."))
        arr = np.asarray(flat, dtype=np.float64)
    if arr.dtype.kind not in "fiu":
        raise InvalidInput(_("Points must be numbers (x, y pairs)."))
    arr = arr.astype(np.float64).reshape(-1) if arr.ndim != 1 else arr.astype(np.float64)
    if len(arr) == 0 or len(arr) % 2:
        raise InvalidInput(_("Points must come in x, y pairs, at least one pair."))
    if len(arr) > 2 * limit:
        raise LimitExceeded(
            _("This stroke has {value:,} points; the limit is {limit:,}. Draw it in shorter strokes.").format(
                value=len(arr) // 2, limit=limit
            )
        )
    if not np.isfinite(arr).all():
        raise InvalidInput(_("Points must be finite numbers."))
    if np.abs(arr).max() > BOARD_LIMIT:
        raise InvalidInput(
            _("A point lies outside the board (coordinates are limited to ±{board_limit:,.0f}).").format(
                board_limit=BOARD_LIMIT
            )
        )
    return arr.reshape(-1, 2)


def simplify(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Ramer-Douglas-Peucker: the fewest points that stay within ``tolerance`` of the polyline."""
    n = len(points)
    if n < 3 or tolerance <= 0:
        return points
    keep = np.zeros(n, bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b <= a + 1:
            continue
        seg = points[b] - points[a]
        rel = points[a + 1 : b] - points[a]
        length = math.hypot(float(seg[0]), float(seg[1]))
        if length == 0:
            dist = np.hypot(rel[:, 0], rel[:, 1])
        else:
            dist = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / length
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            m = a + 1 + i
            keep[m] = True
            stack.append((a, m))
            stack.append((m, b))
    return points[keep]


def bounded(points: np.ndarray, limit: int = MAX_STROKE_POINTS, tolerance: float = SIMPLIFY_TOLERANCE) -> np.ndarray:
    """Simplify a pen stroke, loosening the tolerance until it has at most ``limit`` points."""
    out = simplify(points, tolerance)
    while len(out) > limit:
        tolerance *= 2
        out = simplify(out, tolerance)
    return out


def too_small(shape: object, points: Any) -> bool:
    """Whether a two-point shape (``LINE_SHAPES``) spans less than ``MIN_SHAPE_SIZE``: too small to see.

    ``points`` are where the drag started and ended, as (x0, y0, x1, y1) or an (n, 2) array (first and last
    count). Other shapes are never too small.
    """
    if shape not in LINE_SHAPES:
        return False
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) < 2:
        return False
    return float(np.abs(pts[-1] - pts[0]).max()) < MIN_SHAPE_SIZE


def clean_stroke(shape: object, points: object, color: object, width: object, text: object = "") -> dict[str, Any]:
    """A stroke as it will be stored: checked, simplified and rounded; ``InvalidInput`` for anything else."""
    if shape not in SHAPES:
        raise InvalidInput(
            _("Unknown shape {value!r}; use one of {value2}.").format(value=str(shape)[:20], value2=", ".join(SHAPES))
        )
    pts = clean_points(points)
    label = ""
    if shape == "pen":
        pts = bounded(pts)
        if len(pts) == 1:
            # A dot: a tiny segment, because canvases draw nothing for a zero-length line.
            pts = np.vstack([pts, pts + [0.1, 0.0]])
    elif shape == "text":
        if len(pts) != 1:
            raise InvalidInput(_("A label is placed at exactly one point."))
        label = clean_text(text)
    else:
        if len(pts) != 2:
            raise InvalidInput(
                _("A {shape} is given by two points: where the drag started and where it ended.").format(shape=shape)
            )
        if too_small(shape, pts):
            raise InvalidInput(_("The {shape} is too small to see; drag further.").format(shape=shape))
    rounded = np.round(pts, 1).ravel()
    return {
        "shape": shape,
        "points": [float(v) for v in rounded],
        "color": clean_color(color),
        "width": clean_width(width),
        "text": label,
    }


def clean_ids(ids: object, what: str = "stroke") -> list[int]:
    if not isinstance(ids, list | tuple | set | frozenset):
        raise InvalidInput(_("Give the {what} ids as a list of numbers.").format(what=what))
    if len(ids) > MAX_ERASE_IDS:
        raise LimitExceeded(
            _("At most {max_erase_ids} {what}s at once.").format(max_erase_ids=MAX_ERASE_IDS, what=what)
        )
    out = []
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, int) or i <= 0:
            raise InvalidInput(_("Not a {what} id: {value!r}.").format(what=what, value=str(i)[:20]))
        out.append(int(i))
    return out


def as_id(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise NotFound(_("No {what} {value!r}.").format(what=what, value=value))
    try:
        out = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise NotFound(_("No {what} {value!r}.").format(what=what, value=str(value)[:30])) from exc
    if out <= 0 or (out != value and not isinstance(value, str)):
        raise NotFound(_("No {what} {value!r}.").format(what=what, value=str(value)[:30]))
    return out


def check_background(media_type: str, size: int, name: str) -> None:
    """Refuse a file that cannot be a background (its type, or its size)."""
    if media_type not in BACKGROUND_TYPES:
        raise InvalidInput(
            _(
                "{name} is not an image ({media_type}). A background must be a PNG "
                "or JPEG image, or a PDF (its first page is used)."
            ).format(name=name, media_type=media_type)
        )
    if size > MAX_BACKGROUND_BYTES:
        raise LimitExceeded(
            _("{name} is {value:.1f} MB; a background may be at most {value2} MB. Use a smaller image.").format(
                name=name, value=size / 1024 / 1024, value2=MAX_BACKGROUND_BYTES // 1024 // 1024
            )
        )


__all__ = [
    "BACKGROUND_TYPES",
    "BOARD_LIMIT",
    "LINE_SHAPES",
    "MAX_BACKGROUND_BYTES",
    "MAX_ERASE_IDS",
    "MAX_INPUT_POINTS",
    "MAX_STROKE_POINTS",
    "MAX_TEXT_CHARS",
    "MAX_WIDTH",
    "MIN_SHAPE_SIZE",
    "MIN_WIDTH",
    "PALETTE",
    "SID",
    "SIMPLIFY_TOLERANCE",
    "WIDTHS",
    "as_id",
    "bounded",
    "check_background",
    "clean_color",
    "clean_ids",
    "clean_points",
    "clean_stroke",
    "clean_text",
    "clean_width",
    "simplify",
    "too_small",
]
