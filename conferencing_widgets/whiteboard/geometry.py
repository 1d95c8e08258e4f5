"""How a whiteboard is laid out: the page, the polylines every shape is drawn as, bounds and hit tests.

The browser (ipycanvas, ``ui/whiteboard/drawing.py``) and Pillow (``raster.py``) draw the *same* polylines
computed here: a rectangle is a closed 5-point polyline, an ellipse a 64-gon, an arrow a line plus a 3-point
head, a pen stroke its points. Both use round caps and joins and the same font size and baseline for labels,
so a PNG export looks like the screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.i18n import _
from conferencing_widgets.whiteboard.types import SceneRows

PAGE_WIDTH = 1000
"""Width of the board's page in board units (the canvas shows it 1:1 at 100 %)."""
PAGE_HEIGHT = 640
"""Height of the board's page in board units."""
SHAPES = ("pen", "line", "arrow", "rect", "ellipse", "text")
"""Every shape a stroke can have."""
ELLIPSE_SEGMENTS = 64
"""Sides of the polygon an ellipse is drawn as (by both renderers)."""
FONT_FAMILY = "DejaVu Sans"
"""The label font (the browser falls back to sans-serif where it is not installed)."""
EXPORT_MARGIN = 20
"""Board units around content that lies outside the page."""


def text_size(width: float) -> float:
    """Font size (board units) of a label drawn with line width ``width``."""
    return 12.0 + 3.0 * float(width)


def text_baseline(y: float, width: float) -> float:
    """The baseline of a label whose anchor (its top-left, where the user clicked) is at ``y``."""
    return float(y) + 0.8 * text_size(width)


def text_extent(text: str, width: float) -> tuple[float, float]:
    """Approximate (width, height) of a label, for bounds and hit tests."""
    size = text_size(width)
    return 0.6 * size * max(1, len(text)), size


def arrow_head(x0: float, y0: float, x1: float, y1: float, width: float) -> np.ndarray:
    """The 3-point polyline of an arrow's head at (x1, y1)."""
    angle = math.atan2(y1 - y0, x1 - x0)
    length = max(10.0, 4.0 * float(width))
    spread = math.radians(28)
    return np.array(
        [
            [x1 - length * math.cos(angle - spread), y1 - length * math.sin(angle - spread)],
            [x1, y1],
            [x1 - length * math.cos(angle + spread), y1 - length * math.sin(angle + spread)],
        ]
    )


def _ellipse(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, abs(x1 - x0) / 2, abs(y1 - y0) / 2
    t = np.linspace(0.0, 2 * np.pi, ELLIPSE_SEGMENTS + 1)
    pts = np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)
    pts[-1] = pts[0]  # closed exactly
    return pts


def shape_polylines(shape: str, points: np.ndarray, width: float) -> list[np.ndarray]:
    """The polylines (each an (n, 2) array) that draw one stroke; none for ``text``."""
    if shape == "pen":
        return [points]
    if shape == "text" or len(points) < 2:
        return []
    (x0, y0), (x1, y1) = points[0], points[-1]
    if shape == "line":
        return [points[[0, -1]]]
    if shape == "arrow":
        return [points[[0, -1]], arrow_head(x0, y0, x1, y1, width)]
    if shape == "rect":
        return [np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], dtype=np.float64)]
    if shape == "ellipse":
        return [_ellipse(x0, y0, x1, y1)]
    return []


@dataclass(frozen=True, kw_only=True)
class Geometry:
    """A scene as drawable pieces, in drawing order."""

    points: np.ndarray
    """All polyline points, (m, 2)."""
    counts: np.ndarray
    """Points per polyline."""
    stroke: np.ndarray
    """Index (into the scene) of the stroke each polyline belongs to."""
    labels: list[tuple[int, float, float, str]]
    """``(stroke index, x, y, text)`` of every label (x, y: the anchor, its top-left)."""

    @property
    def starts(self) -> np.ndarray:
        """Index of each polyline's first point."""
        out = np.zeros(len(self.counts), np.int64)
        if len(self.counts) > 1:
            np.cumsum(self.counts[:-1], out=out[1:])
        return out


def scene_geometry(scene: SceneRows) -> Geometry:
    """Polylines and labels of every stroke of a scene."""
    pieces: list[np.ndarray] = []
    counts: list[int] = []
    owner: list[int] = []
    labels: list[tuple[int, float, float, str]] = []
    flat, offsets, widths = scene.flat, scene.offsets, scene.widths
    for i, shape in enumerate(scene.shapes):
        pts = flat[offsets[i] : offsets[i + 1]].reshape(-1, 2)
        if shape == "pen":
            pieces.append(pts)
            counts.append(len(pts))
            owner.append(i)
        elif shape == "text":
            if len(pts):
                labels.append((i, float(pts[0, 0]), float(pts[0, 1]), scene.texts[i]))
        else:
            for line in shape_polylines(shape, pts, float(widths[i])):
                pieces.append(line)
                counts.append(len(line))
                owner.append(i)
    return Geometry(
        points=np.concatenate(pieces) if pieces else np.zeros((0, 2)),
        counts=np.asarray(counts, np.int64),
        stroke=np.asarray(owner, np.int64),
        labels=labels,
    )


def content_bounds(scene: SceneRows, geometry: Geometry | None = None) -> tuple[float, float, float, float] | None:
    """The box (x0, y0, x1, y1) holding every stroke, line widths and labels included; None when empty."""
    if not len(scene):
        return None
    geometry = geometry or scene_geometry(scene)
    boxes = []
    if len(geometry.points):
        pad = float(scene.widths.max()) / 2 + 1
        lo, hi = geometry.points.min(axis=0) - pad, geometry.points.max(axis=0) + pad
        boxes.append((lo[0], lo[1], hi[0], hi[1]))
    for i, x, y, text in geometry.labels:
        w, h = text_extent(text, float(scene.widths[i]))
        boxes.append((x, y, x + w, y + h * 1.2))
    if not boxes:
        return None
    arr = np.asarray(boxes, dtype=np.float64)
    return float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max())


def background_rect(image_width: int, image_height: int) -> tuple[int, int, int, int]:
    """Where a background image goes: scaled to fit the page, centred, in whole units (x, y, w, h)."""
    if image_width <= 0 or image_height <= 0:
        raise InvalidInput(_("The background image has no pixels."))
    scale = min(PAGE_WIDTH / image_width, PAGE_HEIGHT / image_height)
    w = max(1, min(PAGE_WIDTH, round(image_width * scale)))
    h = max(1, min(PAGE_HEIGHT, round(image_height * scale)))
    return (PAGE_WIDTH - w) // 2, (PAGE_HEIGHT - h) // 2, w, h


def hex_rgb(color: str) -> tuple[int, int, int]:
    """``#rrggbb`` as an RGB tuple."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def hit_test(scene: SceneRows, x: float, y: float, radius: float, geometry: Geometry | None = None) -> int | None:
    """Index of the topmost stroke passing within ``radius`` of (x, y) (its line width included), or None."""
    if not len(scene):
        return None
    geometry = geometry or scene_geometry(scene)
    best = -1
    pts, counts = geometry.points, geometry.counts
    if len(pts):
        starts = geometry.starts
        # Segment i goes from point i to i + 1 unless point i ends its polyline.
        seg_owner = np.repeat(geometry.stroke, counts)
        valid = np.ones(len(pts), bool)
        valid[starts + counts - 1] = False
        a = pts[valid]
        b = pts[np.nonzero(valid)[0] + 1]
        owner = seg_owner[valid]
        ab = b - a
        ap = np.array([x, y]) - a
        denom = np.einsum("ij,ij->i", ab, ab)
        t = np.clip(np.einsum("ij,ij->i", ap, ab) / np.where(denom > 0, denom, 1), 0, 1)
        nearest = a + ab * t[:, None]
        dist = np.hypot(nearest[:, 0] - x, nearest[:, 1] - y)
        hit = dist <= radius + scene.widths[owner] / 2
        if hit.any():
            best = int(owner[hit].max())
    for i, lx, ly, text in geometry.labels:
        w, h = text_extent(text, float(scene.widths[i]))
        if i > best and lx - radius <= x <= lx + w + radius and ly - radius <= y <= ly + h + radius:
            best = i
    return best if best >= 0 else None


def export_region(scene: SceneRows, geometry: Geometry | None = None) -> tuple[float, float, float, float]:
    """What an export shows: the page, grown to hold strokes drawn outside it.

    A stroke drawn up to the page's edge (its points on the page, only its line width beyond) keeps the page
    as it is, like the screen shows it; only points or labels beyond the edge grow the picture.
    """
    x0, y0, x1, y1 = 0.0, 0.0, float(PAGE_WIDTH), float(PAGE_HEIGHT)
    bounds = content_bounds(scene, geometry)
    if bounds is None:
        return x0, y0, x1, y1
    geometry = geometry or scene_geometry(scene)
    bx0, by0, bx1, by1 = bounds
    if len(geometry.points):
        lo, hi = geometry.points.min(axis=0), geometry.points.max(axis=0)
    else:
        lo, hi = np.array([x1, y1]), np.array([x0, y0])
    for i, lx, ly, label in geometry.labels:
        w, h = text_extent(label, float(scene.widths[i]))
        lo, hi = np.minimum(lo, [lx, ly]), np.maximum(hi, [lx + w, ly + h])
    if lo[0] < x0:
        x0 = math.floor(bx0 - EXPORT_MARGIN)
    if lo[1] < y0:
        y0 = math.floor(by0 - EXPORT_MARGIN)
    if hi[0] > x1:
        x1 = math.ceil(bx1 + EXPORT_MARGIN)
    if hi[1] > y1:
        y1 = math.ceil(by1 + EXPORT_MARGIN)
    return x0, y0, x1, y1


__all__ = [
    "ELLIPSE_SEGMENTS",
    "EXPORT_MARGIN",
    "FONT_FAMILY",
    "PAGE_HEIGHT",
    "PAGE_WIDTH",
    "SHAPES",
    "Geometry",
    "arrow_head",
    "background_rect",
    "content_bounds",
    "export_region",
    "hex_rgb",
    "hit_test",
    "scene_geometry",
    "shape_polylines",
    "text_baseline",
    "text_extent",
    "text_size",
]
