"""How a whiteboard looks: the geometry both renderers share, and the server-side PNG render (Pillow).

The browser (ipycanvas, ``ui/whiteboard_ui.py``) and Pillow draw the *same* polylines computed here: a rectangle
is a closed 5-point polyline, an ellipse a 64-gon, an arrow a line plus a 3-point head, a pen stroke its
points. Both use round caps and joins and the same font size and baseline for labels, so a PNG export looks
like the screen. Pillow has no anti-aliasing, so the scene is drawn at ``SUPERSAMPLE``× and reduced (box
filter); round joins are drawn only where a polyline turns enough for the gap to show.

``render_png(store, whiteboard_id, *, scale=1.0, size=None) -> bytes`` is the entry point that other features
(the transcript) call; it needs no browser and no permission (callers check rights first).
"""

from __future__ import annotations

import io
import logging
import math
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.store import Store
from conferencing_widgets.whiteboard import store as wb_store
from conferencing_widgets.whiteboard.store import SceneRows

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from conferencing_widgets.store.blobs import BlobStore

log = logging.getLogger(__name__)

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
EXPORT_MARGIN = 20
"""Board units around content that lies outside the page."""
BACKGROUND_MAX_SIDE = 2 * max(PAGE_WIDTH, PAGE_HEIGHT)
"""A PDF page is rasterised at most this large before it is fitted."""
MAX_BACKGROUND_PIXELS = 40_000_000
"""Images with more pixels are refused as backgrounds (decompression bombs)."""


# -- shared geometry --------------------------------------------------------------------------------------


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
        raise InvalidInput("The background image has no pixels.")
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


# -- backgrounds -------------------------------------------------------------------------------------------

_BG_CACHE: OrderedDict[tuple[str, str], Any] = OrderedDict()
_BG_LOCK = threading.Lock()


def decode_background(data: bytes, media_type: str) -> PILImage.Image:
    """An RGB image of a PNG/JPEG file, or of a PDF's first page; ``InvalidInput`` for anything else."""
    from PIL import Image, UnidentifiedImageError

    if media_type == "application/pdf":
        return _pdf_first_page(data)
    if media_type not in ("image/png", "image/jpeg"):
        raise InvalidInput(f"A background must be a PNG or JPEG image or a PDF, not {media_type}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.width * img.height > MAX_BACKGROUND_PIXELS:
                    raise InvalidInput(
                        f"The image is {img.width}×{img.height} pixels, too large for a background "
                        f"(at most {MAX_BACKGROUND_PIXELS // 1_000_000} megapixels). Use a smaller image."
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
        raise InvalidInput(f"The background image cannot be read ({exc}). Use another PNG or JPEG file.") from exc


def _pdf_first_page(data: bytes) -> PILImage.Image:
    try:
        import pypdfium2 as pdfium
    except ImportError as exc:  # pragma: no cover - pypdfium2 is a dependency
        raise InvalidInput("PDF backgrounds need pypdfium2; use a PNG or JPEG image instead.") from exc
    try:
        pdf = pdfium.PdfDocument(data)
    except Exception as exc:  # noqa: BLE001 - pdfium raises its own error types for broken files
        raise InvalidInput(f"The PDF cannot be read ({exc}). Use another file.") from exc
    try:
        if len(pdf) < 1:
            raise InvalidInput("The PDF has no pages.")
        page = pdf[0]
        w, h = page.get_size()
        if w <= 0 or h <= 0:
            raise InvalidInput("The PDF's first page is empty.")
        scale = min(BACKGROUND_MAX_SIDE / w, BACKGROUND_MAX_SIDE / h, 4.0)
        image = page.render(scale=scale, fill_color=(255, 255, 255, 255)).to_pil().convert("RGB")
        page.close()
        return image
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001
        raise InvalidInput(f"The PDF's first page cannot be drawn ({exc}). Use another file.") from exc
    finally:
        pdf.close()


def clear_caches() -> None:
    """Forget decoded backgrounds (they are cached by content hash, so this is only needed to free memory)."""
    with _BG_LOCK:
        _BG_CACHE.clear()


def fitted_background(data: bytes, media_type: str, cache_key: str | None = None) -> PILImage.Image:
    """The background scaled to its place on the page (``background_rect``), cached by content hash."""
    from PIL import Image

    key = (cache_key or "", media_type)
    if cache_key:
        with _BG_LOCK:
            if key in _BG_CACHE:
                _BG_CACHE.move_to_end(key)
                return _BG_CACHE[key]
    img = decode_background(data, media_type)
    _x, _y, w, h = background_rect(img.width, img.height)
    fitted = img if img.size == (w, h) else img.resize((w, h), Image.Resampling.LANCZOS)
    if cache_key:
        with _BG_LOCK:
            _BG_CACHE[key] = fitted
            while len(_BG_CACHE) > 16:
                _BG_CACHE.popitem(last=False)
    return fitted


def board_background(store: Store, attachment_id: int | None, blobs: BlobStore | None) -> PILImage.Image | None:
    """The fitted background of a board, or None (none set, or its file is gone: logged, never fatal)."""
    if attachment_id is None:
        return None
    from conferencing_widgets.files.store import get_attachment

    try:
        att = get_attachment(store, attachment_id)
        if blobs is None:
            from conferencing_widgets.core.config import load_settings
            from conferencing_widgets.files.service import blob_store_for

            blobs = blob_store_for(load_settings())
        key = f"{att.sha256}"
        with _BG_LOCK:
            cached = _BG_CACHE.get((key, att.media_type))
        if cached is not None:
            return cached
        return fitted_background(blobs.read(att.sha256), att.media_type, cache_key=key)
    except Exception as exc:  # noqa: BLE001 - a missing background must not stop the drawing from rendering
        log.warning("whiteboard background %s not drawn: %s", attachment_id, exc)
        return None


# -- Pillow render ------------------------------------------------------------------------------------------


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
    img = Image.new("RGB", (out_w * ss, out_h * ss), "white")
    if background is not None:
        bx, by, bw, bh = background_rect(*background.size)
        tw, th = max(1, round(bw * s)), max(1, round(bh * s))
        bg = background if background.size == (tw, th) else background.resize((tw, th), Image.Resampling.LANCZOS)
        if ss > 1:
            bg = bg.resize((tw * ss, th * ss), Image.Resampling.NEAREST)  # exact: reduce() gives it back
        img.paste(bg, (round((bx - x0) * s) * ss, round((by - y0) * s) * ss))
    draw = ImageDraw.Draw(img)
    k = s * ss
    pts = geometry.points
    if len(pts):
        # Pillow's pixel (i, j) is centred on i + 0.5: shift by half a pixel to match the canvas.
        P = (pts - np.array([x0, y0])) * k - 0.5
        counts, starts = geometry.counts, geometry.starts
        radii = scene.widths[geometry.stroke] * k / 2
        dots = _dot_points(P, starts, counts, np.repeat(radii / ss, counts))
        dot_split = np.searchsorted(dots, starts).tolist()
        dot_end = np.searchsorted(dots, starts + counts).tolist()
        dots_list = dots.tolist()
        flat = P.ravel().tolist()  # one conversion: slicing a list is far cheaper than many small tolist() calls
        colors = [hex_rgb(c) for c in scene.colors]
        owners = geometry.stroke.tolist()
        line_widths = [max(1, round(2 * r)) for r in radii.tolist()]
        for j, (a, n) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)):
            col = colors[owners[j]]
            if n > 1:
                draw.line(flat[2 * a : 2 * (a + n)], fill=col, width=line_widths[j])
            r = line_widths[j] / 2
            for d in dots_list[dot_split[j] : dot_end[j]]:
                cx, cy = flat[2 * d], flat[2 * d + 1]
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=col)
    for i, lx, ly, text in geometry.labels:
        size_px = max(1, round(text_size(float(scene.widths[i])) * k))
        draw.text(
            ((lx - x0) * k, (text_baseline(ly, float(scene.widths[i])) - y0) * k),
            text,
            fill=hex_rgb(scene.colors[i]),
            font=_font(size_px),
            anchor="ls",
        )
    return img.reduce(ss) if ss > 1 else img


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


def render_png(
    store: Store,
    whiteboard_id: int,
    *,
    scale: float = 1.0,
    size: tuple[int, int] | None = None,
    blobs: BlobStore | None = None,
) -> bytes:
    """A PNG of a board from its stored log: the page (grown to hold all strokes) at ``scale``, or fitted into
    ``size`` = (width, height) for thumbnails. No permission check: callers check read rights first.

    The background's bytes come from ``blobs`` (default: the blob store of the environment's settings).
    """
    board = wb_store.get_board(store, int(whiteboard_id))
    scene = wb_store.read_scene(store, board.id)
    background = board_background(store, board.background_attachment_id, blobs)
    img = render_scene(scene, background=background, scale=scale, size=size)
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=3)
    return out.getvalue()


__all__ = [
    "ELLIPSE_SEGMENTS",
    "FONT_FAMILY",
    "PAGE_HEIGHT",
    "PAGE_WIDTH",
    "SHAPES",
    "Geometry",
    "arrow_head",
    "background_rect",
    "board_background",
    "clear_caches",
    "content_bounds",
    "decode_background",
    "export_region",
    "fitted_background",
    "hex_rgb",
    "hit_test",
    "render_png",
    "render_scene",
    "scene_geometry",
    "shape_polylines",
    "text_baseline",
    "text_extent",
    "text_size",
]
