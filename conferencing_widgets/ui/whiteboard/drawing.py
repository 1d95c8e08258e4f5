"""Drawing a board on an ipycanvas ``MultiCanvas``: its layers, the batched scene replay and small canvas helpers.

Replay is batched: consecutive polylines of one width go out as one ``stroke_styled_line_segments`` command
(per-polyline colours, drawing order kept); labels break the batches. The shapes are the same polylines the
Pillow export draws (``whiteboard/geometry.py``), so the PNG looks like the screen.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from ipycanvas import MultiCanvas

from conferencing_widgets.whiteboard import geometry
from conferencing_widgets.whiteboard.types import SceneRows

BG, STROKES, OTHERS, LIVE = range(4)
"""The canvas layers, bottom to top (the top one receives the pointer events)."""


def reset_canvas_manager(canvas: MultiCanvas) -> None:
    """Make the next command switch canvases explicitly (a new browser view does not know the last one)."""
    # The manager remembers the last canvas it switched to; a new browser view does not. Forget it, so the first
    # command of a replay switches explicitly (otherwise strokes can land on the wrong layer or nowhere).
    manager = getattr(canvas[0], "_canvas_manager", None)
    if manager is not None and hasattr(manager, "_current_canvas"):
        manager._current_canvas = None


def clear_layer(layer: Any) -> None:
    """Clear a whole layer, whatever its transform."""
    # clear() clears under the current transform: reset it first.
    layer.save()
    layer.reset_transform()
    layer.clear()
    layer.restore()


def set_view(layer: Any, zoom: float, offset: tuple[float, float]) -> None:
    """Zoom and pan a layer; round caps and joins like the export."""
    ox, oy = offset
    layer.set_transform(zoom, 0, 0, zoom, ox, oy)
    layer.line_cap = "round"
    layer.line_join = "round"


def _rgb_array(colors: list[str]) -> np.ndarray:
    out = np.zeros((len(colors), 3), np.uint8)
    cache: dict[str, tuple[int, int, int]] = {}
    for i, c in enumerate(colors):
        rgb = cache.get(c)
        if rgb is None:
            rgb = cache[c] = geometry.hex_rgb(c)
        out[i] = rgb
    return out


def font_css(width: float) -> str:
    """The canvas font of a label drawn with line width ``width``."""
    return f"{geometry.text_size(width):g}px '{geometry.FONT_FAMILY}', sans-serif"


def draw_scene(layer: Any, scene: SceneRows) -> int:
    """Draw a scene's strokes on an ipycanvas layer in a few batched commands; returns the command count."""
    if not len(scene):
        return 0
    geo = geometry.scene_geometry(scene)
    colors = _rgb_array(scene.colors)
    widths = scene.widths
    owners = geo.stroke.tolist()
    counts = geo.counts
    starts = geo.starts.tolist()
    labels = geo.labels
    points = geo.points.astype(np.float32)
    commands = 0
    j, li, n = 0, 0, len(owners)
    while j < n or li < len(labels):
        next_label = labels[li][0] if li < len(labels) else math.inf
        if j < n and owners[j] < next_label:
            width = widths[owners[j]]
            k = j + 1
            while k < n and widths[owners[k]] == width and owners[k] < next_label:
                k += 1
            end = starts[k - 1] + int(counts[k - 1])
            layer.line_width = float(width)
            layer.stroke_styled_line_segments(
                points[starts[j] : end], colors[geo.stroke[j:k]], 1, points_per_line_segment=counts[j:k]
            )
            commands += 2
            j = k
        else:
            i, x, y, text = labels[li]
            layer.font = font_css(float(widths[i]))
            layer.fill_style = scene.colors[i]
            layer.fill_text(text, x, geometry.text_baseline(y, float(widths[i])))
            commands += 3
            li += 1
    return commands


def draw_outline(layer: Any, shape: str, points: np.ndarray, width: float) -> None:
    """Stroke the polylines of one shape (in the layer's current style)."""
    for line in geometry.shape_polylines(shape, points, width):
        if len(line) > 1:
            layer.stroke_lines(line.astype(np.float32))


def draw_others(layer: Any, others: dict[str, dict[str, Any]], name_of: Callable[[str], str]) -> None:
    """Other users' strokes in progress, each in its colour with its author's name beside the pen."""
    for o in others.values():
        pts = np.asarray(o["points"], np.float64).reshape(-1, 2)
        if not len(pts):
            continue
        layer.stroke_style = o["color"]
        layer.line_width = o["width"]
        draw_outline(layer, o["shape"], pts if o["shape"] == "pen" else pts[[0, -1]], o["width"])
        layer.font = "12px sans-serif"
        layer.fill_style = o["color"]
        x, y = pts[-1]
        layer.fill_text(name_of(o["author"]), float(x) + 8, float(y) - 8)


__all__ = [
    "BG",
    "LIVE",
    "OTHERS",
    "STROKES",
    "clear_layer",
    "draw_others",
    "draw_outline",
    "draw_scene",
    "font_css",
    "reset_canvas_manager",
    "set_view",
]
