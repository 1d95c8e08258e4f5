"""The server-side PNG render of a board (Pillow): the same polylines the browser draws (``geometry.py``).

Both renderers use round caps and joins and the same font size and baseline for labels, so a PNG export
looks like the screen. Pillow has no anti-aliasing, so the scene is drawn at ``SUPERSAMPLE``× and reduced
(box filter); round joins are drawn only where a polyline turns enough for the gap to show.

Strokes are drawn into an 8-bit image of colour *indices* (0: the paper), which Pillow fills with ``memset``
where an RGB image costs a 32-bit store per pixel; the palette and the background are applied once at the end.
A later stroke overwrites an earlier one either way, so the picture is the same pixel for pixel.

``render_png(store, whiteboard_id, *, scale=1.0, size=None) -> bytes`` is the entry point that other features
(the transcript) call; it needs no browser and no permission (callers check rights first).
"""

from __future__ import annotations

import io
import math
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.store import Store
from conferencing_widgets.whiteboard import store as wb_store
from conferencing_widgets.whiteboard.backgrounds import FittedBackgrounds, board_background
from conferencing_widgets.whiteboard.geometry import (
    Geometry,
    background_rect,
    export_region,
    hex_rgb,
    scene_geometry,
    text_baseline,
    text_size,
)
from conferencing_widgets.whiteboard.types import SceneRows

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from conferencing_widgets.store.blobs import BlobStore

FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "DejaVuSans.ttf",
)
SUPERSAMPLE = 4
"""Pillow draws at this factor and reduces, for anti-aliasing close to the browser's."""
SUPERSAMPLE_BUDGET = 2_000_000
"""Estimated ink (output pixels) above which a render is drawn at 3×, and at 4× this at 2×, so the export of
a very large board stays fast (the 5,000-stroke benchmark board is about 4.5 million)."""
MAX_SUPERSAMPLED_PIXELS = 16_000_000
"""Above this, the factor is lowered (memory stays under ~50 MB per render)."""
MAX_EXPORT_SIDE = 4096
"""The longest side of an exported PNG; larger requests are scaled down."""
PNG_COMPRESS_LEVEL = 1
"""zlib level of exported PNGs: level 1 encodes a busy page ~15 % faster than level 3, for ~6 % more bytes."""


@lru_cache(maxsize=64)
def _font(size_px: int) -> Any:
    from PIL import ImageFont

    for candidate in FONT_FILES:
        if candidate.startswith("/") and not Path(candidate).is_file():
            continue
        try:
            return ImageFont.truetype(candidate, size_px)
        except OSError:
            continue
    return ImageFont.load_default(size=size_px)


def render_scene(
    scene: SceneRows,
    *,
    background: PILImage.Image | None = None,
    region: tuple[float, float, float, float] | None = None,
    scale: float = 1.0,
    size: tuple[int, int] | None = None,
    supersample: int | None = None,
) -> PILImage.Image:
    """An RGB image of a scene: ``region`` (default ``export_region``) at ``scale``, or fitted into ``size``."""
    from PIL import Image, ImageDraw

    geometry = scene_geometry(scene)
    x0, y0, x1, y1 = region or export_region(scene, geometry)
    rw, rh = max(1.0, x1 - x0), max(1.0, y1 - y0)
    if size is not None:
        tw, th = size
        if tw < 1 or th < 1:
            raise InvalidInput(f"A thumbnail needs a positive size, not {size!r}.")
        s = min(tw / rw, th / rh)
    else:
        if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
            raise InvalidInput(f"The export scale must be a positive number, not {scale!r}.")
        s = float(scale)
    s = min(s, MAX_EXPORT_SIDE / max(rw, rh))
    out_w, out_h = max(1, round(rw * s)), max(1, round(rh * s))
    ss = supersample or _supersample_for(geometry, scene.widths, s)
    while ss > 1 and out_w * out_h * ss * ss > MAX_SUPERSAMPLED_PIXELS:
        ss -= 1
    full = (out_w * ss, out_h * ss)
    k = s * ss
    colors = list(dict.fromkeys(scene.colors))  # distinct colours, each an index 1..n of the ink image
    indexed = bool(len(geometry.points)) and len(colors) < 256
    ink = Image.new("L", full, 0) if indexed else None
    if ink is not None:
        index = {c: i + 1 for i, c in enumerate(colors)}
        _draw_polylines(ImageDraw.Draw(ink), scene, geometry, (x0, y0), k, ss, [index[c] for c in scene.colors])
        covered = ink.point([0] + [255] * 255) if background is not None else None
        ink.putpalette([255, 255, 255, *(v for c in colors for v in hex_rgb(c))])  # now mode "P", 0 the paper
    if ink is not None and background is None:
        paper = ink.convert("RGB")
    else:
        paper = Image.new("RGB", full, "white")
        if background is not None:
            bx, by, bw, bh = background_rect(*background.size)
            tw, th = max(1, round(bw * s)), max(1, round(bh * s))
            bg = background if background.size == (tw, th) else background.resize((tw, th), Image.Resampling.LANCZOS)
            if ss > 1:
                bg = bg.resize((tw * ss, th * ss), Image.Resampling.NEAREST)  # exact: reduce() gives it back
            paper.paste(bg, (round((bx - x0) * s) * ss, round((by - y0) * s) * ss))
        if ink is not None:
            paper.paste(ink.convert("RGB"), (0, 0), covered)
        elif len(geometry.points):
            # More colours than an 8-bit index holds: draw them straight onto the page.
            rgb = [hex_rgb(c) for c in scene.colors]
            _draw_polylines(ImageDraw.Draw(paper), scene, geometry, (x0, y0), k, ss, rgb)
    draw = ImageDraw.Draw(paper)
    for i, lx, ly, text in geometry.labels:
        size_px = max(1, round(text_size(float(scene.widths[i])) * k))
        draw.text(
            ((lx - x0) * k, (text_baseline(ly, float(scene.widths[i])) - y0) * k),
            text,
            fill=hex_rgb(scene.colors[i]),
            font=_font(size_px),
            anchor="ls",
        )
    return paper.reduce(ss) if ss > 1 else paper


def _draw_polylines(
    draw: Any,
    scene: SceneRows,
    geometry: Geometry,
    origin: tuple[float, float],
    k: float,
    ss: int,
    colors: list[Any],
) -> None:
    """Every polyline in drawing order, with its round caps and the joins whose gap would show."""
    # Pillow's pixel (i, j) is centred on i + 0.5: shift by half a pixel to match the canvas.
    P = (geometry.points - np.asarray(origin)) * k - 0.5
    counts, starts = geometry.counts, geometry.starts
    radii = scene.widths[geometry.stroke] * k / 2
    dots = _dot_points(P, starts, counts, np.repeat(radii / ss, counts))
    dot_split = np.searchsorted(dots, starts).tolist()
    dot_end = np.searchsorted(dots, starts + counts).tolist()
    line_widths = np.maximum(1, np.round(2 * radii))  # Pillow's integer widths; a dot's radius is half of it
    r = np.repeat(line_widths / 2, counts)[dots]
    c = P[dots]
    boxes = np.stack([c[:, 0] - r, c[:, 1] - r, c[:, 0] + r, c[:, 1] + r], axis=1).tolist()
    P32 = np.ascontiguousarray(P, np.float32)  # Pillow reads a float32 buffer as x, y pairs without copying
    owners = geometry.stroke.tolist()
    widths = line_widths.astype(np.int64).tolist()
    # Pillow's core drawing object (ImageDraw.Draw.draw) takes ready-made inks: ImageDraw.line/ellipse would
    # convert the colour again on each of the ~60,000 calls a big board needs (a fifth of the render time).
    core = draw.draw
    ink_of = {color: core.draw_ink(color) for color in set(colors)}
    inks = [ink_of[color] for color in colors]
    line, ellipse = core.draw_lines, core.draw_ellipse
    for j, (a, n) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)):
        ink = inks[owners[j]]
        if n > 1:
            line(P32[a : a + n], ink, widths[j])
        for box in boxes[dot_split[j] : dot_end[j]]:
            ellipse(box, ink, 1)


def _supersample_for(geometry: Geometry, widths: np.ndarray, scale: float) -> int:
    """``SUPERSAMPLE``, lowered for scenes with a lot of ink (drawing time grows with ink × factor²)."""
    pts = geometry.points
    if len(pts) < 2:
        return SUPERSAMPLE
    seg = np.hypot(*np.diff(pts, axis=0).T)
    w = np.repeat(widths[geometry.stroke], geometry.counts)[:-1]
    ink = float(((seg + w) * w).sum()) * scale * scale  # polyline joins add a little; an estimate suffices
    if ink > 4 * SUPERSAMPLE_BUDGET:
        return min(SUPERSAMPLE, 2)
    if ink > SUPERSAMPLE_BUDGET:
        return min(SUPERSAMPLE, 3)
    return SUPERSAMPLE


def _dot_points(P: np.ndarray, starts: np.ndarray, counts: np.ndarray, radius_1x: np.ndarray) -> np.ndarray:
    """Indices of points that need a round cap or join: polyline ends, and turns whose gap would show."""
    n = len(P)
    need = np.zeros(n, bool)
    need[starts] = True
    need[starts + counts - 1] = True
    if n > 2:
        v = np.diff(P, axis=0)
        ang = np.arctan2(v[:, 1], v[:, 0])
        turn = np.abs((np.diff(ang) + np.pi) % (2 * np.pi) - np.pi)  # at points 1..n-2
        # The wedge left open at a join is about radius × angle wide at the rim: fill it from half a pixel on.
        need[1:-1] |= turn * radius_1x[1:-1] > 0.5
    return np.nonzero(need)[0]


def png_bytes(image: PILImage.Image) -> bytes:
    """An image as PNG bytes, the way every whiteboard picture is encoded."""
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()


def render_png(
    store: Store,
    whiteboard_id: int,
    *,
    scale: float = 1.0,
    size: tuple[int, int] | None = None,
    blobs: BlobStore | None = None,
    backgrounds: FittedBackgrounds | None = None,
) -> bytes:
    """A PNG of a board from its stored log: the page (grown to hold all strokes) at ``scale``, or fitted into
    ``size`` = (width, height) for thumbnails. No permission check: callers check read rights first.

    The background's bytes come from ``blobs`` (default: the blob store of the environment's settings);
    ``backgrounds`` caches its decoded picture.
    """
    board = wb_store.get_board(store, int(whiteboard_id))
    scene = wb_store.read_scene(store, board.id)
    background = board_background(store, board.background_attachment_id, blobs, cache=backgrounds)
    return png_bytes(render_scene(scene, background=background, scale=scale, size=size))


__all__ = [
    "MAX_EXPORT_SIDE",
    "PNG_COMPRESS_LEVEL",
    "SUPERSAMPLE",
    "png_bytes",
    "render_png",
    "render_scene",
]
