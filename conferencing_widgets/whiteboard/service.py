"""Whiteboards for one signed-in user: validation of everything the browser sends, and every permission check.

Whoever may read a conversation may open its boards (read-only for engineers who are not members); only
members draw, erase, undo, set backgrounds or start boards. A board of a conversation the user cannot read is
reported as ``NotFound``. The browser's events are never trusted: coordinates, colours, widths, shapes and
label text are checked here, a stroke carries a bounded number of points (long ones are simplified with
Ramer-Douglas-Peucker), and a board holds a bounded number of strokes. A refused stroke writes nothing.
"""

from __future__ import annotations

import collections
import io
import math
import re
import threading
import time
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from conferencing_widgets.chat.service import Service, clean_title
from conferencing_widgets.core.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from conferencing_widgets.core.identity import dashboard_url, parse_duration
from conferencing_widgets.core.model import Attachment, Stroke, Whiteboard
from conferencing_widgets.whiteboard import raster as render
from conferencing_widgets.whiteboard import store as wb_store
from conferencing_widgets.whiteboard.store import SceneRows, StrokeChange, UndoState

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from conferencing_widgets.files.service import FileService

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
MAX_STROKES_PER_BOARD = 10_000
"""Stroke rows one board may hold (erased strokes kept for undo count too)."""
MAX_BOARDS_PER_CONVERSATION = 200
"""Boards one conversation may hold."""
MAX_BACKGROUND_BYTES = 12 * 1024 * 1024
"""Largest file accepted as a background (it travels in one websocket frame from the board page)."""
BACKGROUND_TYPES = ("image/png", "image/jpeg", "application/pdf")
"""What can be a background: raster images, or a PDF's first page."""
MAX_PROGRESS_POINTS = 400
"""Points one progress event may carry."""
PROGRESS_PER_SECOND = 30
"""Progress events one user may post per second and board; more are dropped (they are only a preview)."""
MAX_ERASE_IDS = 1_000
"""Strokes one erase call may name."""
RIGHTS_TTL = 5.0
"""Seconds a successful read/write rights check of a conversation is remembered (refusals never are)."""
THUMB_SIZE = (200, 128)
"""Thumbnail box of area 3's whiteboard list (the page's aspect ratio)."""
PALETTE = ("#1f1f1f", "#e03131", "#1971c2", "#2f9e44", "#f08c00", "#9c36b5")
"""The pen colours the toolbar offers (any ``#rrggbb`` is accepted)."""
WIDTHS = (2.0, 4.0, 8.0, 16.0)
"""The line widths the toolbar offers."""
LINE_SHAPES = ("line", "arrow", "rect", "ellipse")
"""Shapes given by two points: where the drag started and ended."""

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


# -- pure validation -----------------------------------------------------------------------------------------


def clean_color(color: object) -> str:
    """A ``#rrggbb`` colour in lower case."""
    if not isinstance(color, str) or not _COLOR.match(color):
        raise InvalidInput(f"Not a colour: {str(color)[:20]!r}. Use #rrggbb, e.g. #1971c2.")
    return color.lower()


def clean_width(width: object) -> float:
    """A line width between ``MIN_WIDTH`` and ``MAX_WIDTH``."""
    if isinstance(width, bool) or not isinstance(width, int | float) or not math.isfinite(width):
        raise InvalidInput(f"Not a line width: {str(width)[:20]!r}. Use a number from {MIN_WIDTH} to {MAX_WIDTH:g}.")
    if not MIN_WIDTH <= float(width) <= MAX_WIDTH:
        raise InvalidInput(f"The line width {width:g} is out of range; use {MIN_WIDTH} to {MAX_WIDTH:g}.")
    return float(width)


def clean_text(text: object) -> str:
    """A one-line label: controls removed, whitespace collapsed, 1..``MAX_TEXT_CHARS`` characters."""
    if not isinstance(text, str):
        raise InvalidInput("A label must be text.")
    shown = " ".join("".join(ch for ch in text if unicodedata.category(ch)[0] != "C").split())
    if not shown:
        raise InvalidInput("The label is empty. Type the text first, then click where it goes.")
    if len(shown) > MAX_TEXT_CHARS:
        raise LimitExceeded(f"The label has {len(shown)} characters; the limit is {MAX_TEXT_CHARS}. Shorten it.")
    return shown


def clean_points(points: object, *, limit: int = MAX_INPUT_POINTS) -> np.ndarray:
    """Flat x, y numbers (or (x, y) pairs) as an (n, 2) float array; finite and on the board."""
    if isinstance(points, np.ndarray):
        arr = points
    else:
        if not isinstance(points, list | tuple):
            raise InvalidInput("Points must be a list of numbers.")
        if len(points) > 2 * limit:
            raise LimitExceeded(
                f"This stroke has {len(points) // 2:,} points; the limit is {limit:,}. Draw it in shorter strokes."
            )
        flat: list[Any] = []
        for p in points:
            if isinstance(p, list | tuple):
                flat.extend(p)
            else:
                flat.append(p)
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in flat):
            raise InvalidInput("Points must be numbers (x, y pairs).")
        arr = np.asarray(flat, dtype=np.float64)
    if arr.dtype.kind not in "fiu":
        raise InvalidInput("Points must be numbers (x, y pairs).")
    arr = arr.astype(np.float64).reshape(-1) if arr.ndim != 1 else arr.astype(np.float64)
    if len(arr) == 0 or len(arr) % 2:
        raise InvalidInput("Points must come in x, y pairs, at least one pair.")
    if len(arr) > 2 * limit:
        raise LimitExceeded(
            f"This stroke has {len(arr) // 2:,} points; the limit is {limit:,}. Draw it in shorter strokes."
        )
    if not np.isfinite(arr).all():
        raise InvalidInput("Points must be finite numbers.")
    if np.abs(arr).max() > BOARD_LIMIT:
        raise InvalidInput(f"A point lies outside the board (coordinates are limited to ±{BOARD_LIMIT:,.0f}).")
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


def clean_stroke(shape: object, points: object, color: object, width: object, text: object = "") -> dict[str, Any]:
    """A stroke as it will be stored: checked, simplified and rounded; ``InvalidInput`` for anything else."""
    if shape not in render.SHAPES:
        raise InvalidInput(f"Unknown shape {str(shape)[:20]!r}; use one of {', '.join(render.SHAPES)}.")
    pts = clean_points(points)
    label = ""
    if shape == "pen":
        pts = bounded(pts)
        if len(pts) == 1:
            # A dot: a tiny segment, because canvases draw nothing for a zero-length line.
            pts = np.vstack([pts, pts + [0.1, 0.0]])
    elif shape == "text":
        if len(pts) != 1:
            raise InvalidInput("A label is placed at exactly one point.")
        label = clean_text(text)
    else:
        if len(pts) != 2:
            raise InvalidInput(f"A {shape} is given by two points: where the drag started and where it ended.")
        if float(np.abs(pts[1] - pts[0]).max()) < 1.0:
            raise InvalidInput(f"The {shape} is too small to see; drag further.")
    rounded = np.round(pts, 1).ravel()
    return {
        "shape": shape,
        "points": [float(v) for v in rounded],
        "color": clean_color(color),
        "width": clean_width(width),
        "text": label,
    }


def _clean_ids(ids: object, what: str = "stroke") -> list[int]:
    if not isinstance(ids, list | tuple | set | frozenset):
        raise InvalidInput(f"Give the {what} ids as a list of numbers.")
    if len(ids) > MAX_ERASE_IDS:
        raise LimitExceeded(f"At most {MAX_ERASE_IDS} {what}s at once.")
    out = []
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, int) or i <= 0:
            raise InvalidInput(f"Not a {what} id: {str(i)[:20]!r}.")
        out.append(int(i))
    return out


def _as_id(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise NotFound(f"No {what} {value!r}.")
    try:
        out = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise NotFound(f"No {what} {str(value)[:30]!r}.") from exc
    if out <= 0 or (out != value and not isinstance(value, str)):
        raise NotFound(f"No {what} {str(value)[:30]!r}.")
    return out


# -- the service ---------------------------------------------------------------------------------------------

_THUMBS: collections.OrderedDict[tuple[int, int, int], bytes] = collections.OrderedDict()
_BG_PNGS: collections.OrderedDict[int, tuple[bytes, tuple[int, int, int, int]]] = collections.OrderedDict()
_CACHE_LOCK = threading.Lock()


class WhiteboardService:
    """Whiteboards for one user (``Session.boards``)."""

    def __init__(self, service: Service, files: FileService | None = None) -> None:
        self.service = service
        self._files = files
        self._progress: dict[int, collections.deque[float]] = {}
        self._rights: dict[tuple[int, bool], float] = {}

    @property
    def files(self) -> FileService:
        """The file service (backgrounds are attachments of the conversation)."""
        if self._files is None:
            from conferencing_widgets.files.service import FileService

            self._files = FileService(self.service)
        return self._files

    @property
    def login(self) -> str:
        """The signed-in user."""
        return self.service.login

    # -- reading ---------------------------------------------------------------------------------------

    def _allowed(self, conversation_id: int, *, write: bool) -> None:
        """``require_readable`` / ``require_writable``, remembered for ``RIGHTS_TTL`` seconds.

        Drawing checks rights on every stroke and every live update; memberships change rarely (and only grow),
        so a few seconds of memory keep those paths to one query: the account itself is still checked every time,
        so a disabled user loses every right at once.
        """
        key = (int(conversation_id), write)
        now = time.monotonic()
        if now - self._rights.get(key, -math.inf) < RIGHTS_TTL:
            try:
                self.service.require_active()
            except PermissionDenied:
                self._rights.clear()
                raise
            return
        if write:
            self.service.require_writable(conversation_id)
        else:
            self.service.require_readable(conversation_id)
        self._rights[key] = now

    def board(self, board_id: object) -> Whiteboard:
        """A board of a conversation the user may read; ``NotFound`` otherwise."""
        bid = _as_id(board_id, "whiteboard")
        try:
            board = wb_store.get_board(self.service.store, bid)
            self._allowed(board.conversation_id, write=False)
        except NotFound:
            raise NotFound(f"No whiteboard {bid} that you can open.") from None
        return board

    def boards(self, conversation_id: int, *, limit: int = 50) -> list[Whiteboard]:
        """A readable conversation's boards, newest first."""
        conv = self.service.require_readable(conversation_id)
        return wb_store.boards_of(self.service.store, conv.id, limit=max(1, min(int(limit), 500)))

    def count(self, conversation_id: int) -> int:
        """How many boards a readable conversation has."""
        conv = self.service.require_readable(conversation_id)
        return wb_store.count_boards(self.service.store, conv.id)

    def can_draw(self, board_id: object) -> bool:
        """Whether the user may draw on the board (members of its conversation)."""
        board = self.board(board_id)
        return self.service.can_post(board.conversation_id)

    def _writable(self, board_id: object) -> Whiteboard:
        board = self.board(board_id)
        try:
            self._allowed(board.conversation_id, write=True)
        except PermissionDenied:
            raise PermissionDenied(
                "This whiteboard is read-only for you: only members of the conversation can draw on it."
            ) from None
        return board

    def scene(self, board_id: object, *, ids: Sequence[int] | None = None) -> SceneRows:
        """The visible strokes of a readable board (or of ``ids`` among them), as columns."""
        board = self.board(board_id)
        return wb_store.read_scene(self.service.store, board.id, ids=ids)

    def strokes(self, board_id: object, *, ids: Sequence[int] | None = None) -> list[Stroke]:
        """The visible strokes of a readable board as records."""
        board = self.board(board_id)
        return wb_store.get_strokes(self.service.store, board.id, ids=ids)

    def undo_state(self, board_id: object) -> UndoState:
        """Whether the user has something to undo or redo."""
        board = self.board(board_id)
        return wb_store.undo_state(self.service.store, board.id, self.login)

    # -- starting a board ------------------------------------------------------------------------------

    def create(self, conversation_id: int, title: str | None = None) -> Whiteboard:
        """Start a board in a conversation the user is a member of, with a whiteboard message in the stream."""
        try:
            conv = self.service.require_writable(conversation_id)
        except PermissionDenied:
            raise PermissionDenied("Only members of this conversation can start a whiteboard in it.") from None
        if title is None:
            title = f"Whiteboard {wb_store.count_boards(self.service.store, conv.id) + 1}"
        title = clean_title(title, what="whiteboard title")
        board, _message = wb_store.create_board(
            self.service.store,
            conversation_id=conv.id,
            title=title,
            created_by=self.login,
            body=f"Started a whiteboard: {title}",
            max_boards=MAX_BOARDS_PER_CONVERSATION,
        )
        return board

    def url(self, board_id: object, *, base_url: str | None = None) -> str:
        """A signed link to the board page for this user (``base_url=""`` gives a path for a running dashboard)."""
        board = self.board(board_id)
        settings = self.service.settings
        base = settings.base_url if base_url is None else base_url
        return dashboard_url(
            base,
            self.login,
            settings.secret,
            parse_duration(settings.link_ttl),
            notebook="whiteboard.ipynb",
            board=board.id,
        )

    # -- drawing ---------------------------------------------------------------------------------------

    def add_stroke(
        self,
        board_id: object,
        shape: object,
        points: object,
        *,
        color: object,
        width: object,
        text: object = "",
        sid: str = "",
        progress_event_ids: Iterable[int] = (),
    ) -> Stroke:
        """Store a stroke or shape drawn by the user; returns it as stored (simplified, rounded)."""
        board = self._writable(board_id)
        clean = clean_stroke(shape, points, color, width, text)
        return wb_store.add_stroke(
            self.service.store,
            board.id,
            author=self.login,
            max_strokes=MAX_STROKES_PER_BOARD,
            sid=sid if isinstance(sid, str) and _SID.match(sid) else "",
            progress_event_ids=[int(i) for i in progress_event_ids if isinstance(i, int) and not isinstance(i, bool)],
            **clean,
        )

    def erase(self, board_id: object, stroke_ids: object, *, extend_action: int | None = None) -> StrokeChange:
        """Erase whole strokes (anyone's) as one undoable action of the user."""
        board = self._writable(board_id)
        ids = _clean_ids(stroke_ids)
        if extend_action is not None and (isinstance(extend_action, bool) or not isinstance(extend_action, int)):
            extend_action = None
        return wb_store.erase(
            self.service.store, board.id, author=self.login, stroke_ids=ids, extend_action=extend_action
        )

    def erase_at(
        self,
        board_id: object,
        x: object,
        y: object,
        *,
        radius: float = 6.0,
        scene: SceneRows | None = None,
        extend_action: int | None = None,
    ) -> StrokeChange:
        """Erase the topmost stroke under the point (x, y), if any. ``scene`` saves a re-read when given."""
        board = self._writable(board_id)
        ((px, py),) = clean_points([x, y], limit=1)
        r = float(radius) if isinstance(radius, int | float) and math.isfinite(radius) else 6.0
        r = min(max(r, 0.5), 200.0)
        scene = scene if scene is not None else wb_store.read_scene(self.service.store, board.id)
        hit = render.hit_test(scene, float(px), float(py), r)
        if hit is None:
            return StrokeChange(board_id=board.id)
        return self.erase(board.id, [int(scene.ids[hit])], extend_action=extend_action)

    def clear_mine(self, board_id: object) -> StrokeChange:
        """Hide every stroke of the user on the board (one undoable action); others' strokes stay."""
        board = self._writable(board_id)
        return wb_store.clear_author(self.service.store, board.id, author=self.login)

    def undo(self, board_id: object) -> StrokeChange | None:
        """Undo the user's own newest action (never another user's); None when there is nothing to undo."""
        board = self._writable(board_id)
        return wb_store.undo(self.service.store, board.id, author=self.login)

    def redo(self, board_id: object) -> StrokeChange | None:
        """Redo the user's most recently undone action; None when there is nothing to redo."""
        board = self._writable(board_id)
        return wb_store.redo(self.service.store, board.id, author=self.login)

    def progress(
        self,
        board_id: object,
        *,
        sid: str,
        shape: object,
        points: object,
        color: object,
        width: object,
        start: bool = False,
        end: bool = False,
    ) -> int | None:
        """Tell other windows about a stroke being drawn (new points since the last call).

        Returns the event id, or None when the event was dropped by the rate limit. Progress is a preview:
        it is not part of the board's log.
        """
        board = self._writable(board_id)
        if not isinstance(sid, str) or not _SID.match(sid):
            raise InvalidInput("A drawing session id is 1 to 40 letters, digits, '-' or '_'.")
        if shape not in render.SHAPES or shape == "text":
            raise InvalidInput(f"No progress for shape {str(shape)[:20]!r}.")
        pts = clean_points(points, limit=MAX_PROGRESS_POINTS) if not end else np.zeros((0, 2))
        now = time.monotonic()
        recent = self._progress.setdefault(board.id, collections.deque())
        while recent and now - recent[0] > 1.0:
            recent.popleft()
        if len(recent) >= PROGRESS_PER_SECOND and not end:
            return None
        recent.append(now)
        payload = {
            "board": board.id,
            "author": self.login,
            "sid": sid,
            "shape": shape,
            "color": clean_color(color),
            "width": clean_width(width),
            "points": [float(v) for v in np.round(pts, 1).ravel()],
            "start": bool(start),
            "end": bool(end),
        }
        return wb_store.post_progress(self.service.store, board, payload)

    # -- backgrounds -----------------------------------------------------------------------------------

    def background_choices(self, board_id: object, *, limit: int = 50) -> list[Attachment]:
        """Files of the board's conversation that can be its background (PNG, JPEG, PDF), newest first."""
        from conferencing_widgets.files.store import attachments_of

        board = self.board(board_id)
        found = attachments_of(
            self.service.store, board.conversation_id, limit=limit, media_types=list(BACKGROUND_TYPES)
        )
        return [a for a in found if a.size <= MAX_BACKGROUND_BYTES]

    def set_background(self, board_id: object, attachment_id: object | None) -> Whiteboard:
        """Draw a file already shared in the board's conversation under the strokes (None removes it)."""
        board = self._writable(board_id)
        if attachment_id is None:
            return wb_store.set_background(self.service.store, board.id, None, by=self.login)
        att = self.files.attachment(_as_id(attachment_id, "file"))
        if att.conversation_id != board.conversation_id:
            raise NotFound("That file was not shared in this whiteboard's conversation.")
        self._check_background(att.media_type, att.size, att.name)
        # Decode it now, so a broken file is refused before the board points at it.
        render.fitted_background(self.files.read(att.id)[1], att.media_type, cache_key=att.sha256)
        return wb_store.set_background(self.service.store, board.id, att.id, by=self.login)

    @staticmethod
    def _check_background(media_type: str, size: int, name: str) -> None:
        if media_type not in BACKGROUND_TYPES:
            raise InvalidInput(
                f"{name} is not an image ({media_type}). A background must be a PNG or JPEG image, or a PDF "
                "(its first page is used)."
            )
        if size > MAX_BACKGROUND_BYTES:
            raise LimitExceeded(
                f"{name} is {size / 1024 / 1024:.1f} MB; a background may be at most "
                f"{MAX_BACKGROUND_BYTES // 1024 // 1024} MB. Use a smaller image."
            )

    def upload_background(self, board_id: object, name: str, data: bytes) -> Whiteboard:
        """Share a new PNG/JPEG/PDF in the board's conversation and make it the background.

        Checked before anything is written: a file that is not an image, is too large or cannot be decoded
        is refused with nothing shared.
        """
        from conferencing_widgets.files.service import clean_file_name, detect_media_type

        board = self._writable(board_id)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidInput("The background file arrived without its content; choose it again.")
        data = bytes(data)
        shown = clean_file_name(name)
        if not data:
            raise InvalidInput(f"{shown} is empty (0 bytes); choose another file.")
        media_type = detect_media_type(data[:65536], shown)
        self._check_background(media_type, len(data), shown)
        render.fitted_background(data, media_type)
        att = self.files.upload_bytes(board.conversation_id, shown, data)
        return self.set_background(board.id, att.id)

    def background(self, board_id: object) -> PILImage.Image | None:
        """The board's background fitted to the page, or None."""
        board = self.board(board_id)
        return render.board_background(self.service.store, board.background_attachment_id, self.files.blobs)

    def background_png(self, board_id: object) -> tuple[bytes, tuple[int, int, int, int]] | None:
        """The fitted background as PNG bytes and its place (x, y, w, h) on the page, or None."""
        board = self.board(board_id)
        if board.background_attachment_id is None:
            return None
        with _CACHE_LOCK:
            hit = _BG_PNGS.get(board.background_attachment_id)
        if hit is not None:
            return hit
        img = self.background(board.id)
        if img is None:
            return None
        out = io.BytesIO()
        img.save(out, "PNG", compress_level=3)
        x, y, w, h = render.background_rect(*img.size)
        found = (out.getvalue(), (x, y, w, h))
        with _CACHE_LOCK:
            _BG_PNGS[board.background_attachment_id] = found
            while len(_BG_PNGS) > 16:
                _BG_PNGS.popitem(last=False)
        return found

    # -- images ----------------------------------------------------------------------------------------

    def png(self, board_id: object, *, scale: float = 1.0, size: tuple[int, int] | None = None) -> bytes:
        """A PNG export of a readable board, rendered on the server from its stored log."""
        board = self.board(board_id)
        return render.render_png(self.service.store, board.id, scale=scale, size=size, blobs=self.files.blobs)

    def thumbnail(self, board: Whiteboard) -> bytes:
        """A small PNG of a readable board, cached until the board changes."""
        board = self.board(board.id)
        revision = wb_store.revisions(self.service.store, [board.id]).get(board.id, 0)
        key = (id(self.service.store), board.id, revision)
        with _CACHE_LOCK:
            if key in _THUMBS:
                _THUMBS.move_to_end(key)
                return _THUMBS[key]
        png = render.render_png(self.service.store, board.id, size=THUMB_SIZE, blobs=self.files.blobs)
        with _CACHE_LOCK:
            _THUMBS[key] = png
            while len(_THUMBS) > 256:
                _THUMBS.popitem(last=False)
        return png


def png_file_name(board: Whiteboard) -> str:
    """A safe download name for a board's PNG."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", board.title).strip("-.")[:60] or "whiteboard"
    return f"{stem}-{board.id}.png"


__all__ = [
    "BACKGROUND_TYPES",
    "MAX_BACKGROUND_BYTES",
    "MAX_INPUT_POINTS",
    "MAX_STROKES_PER_BOARD",
    "MAX_STROKE_POINTS",
    "PALETTE",
    "WIDTHS",
    "WhiteboardService",
    "bounded",
    "clean_color",
    "clean_points",
    "clean_stroke",
    "clean_text",
    "clean_width",
    "png_file_name",
    "simplify",
]
