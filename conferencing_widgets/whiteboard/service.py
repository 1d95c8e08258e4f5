"""Whiteboards for one signed-in user: every use case, and every permission check.

Whoever may read a conversation may open its boards (read-only for engineers who are not members); only
members draw, erase, undo, set backgrounds or start boards. A board of a conversation the user cannot read is
reported as ``NotFound``. The browser's events are never trusted: everything it sends is checked by
``validation.py`` before anything is written, and a board holds a bounded number of strokes. A refused
stroke writes nothing. Backgrounds and pictures live in ``pictures.py`` (cached per service, ``BoardImages``).
"""

from __future__ import annotations

import collections
import math
import re
import time
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from conferencing_widgets.chat.cleaning import clean_title
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import InvalidInput, NotFound, PermissionDenied
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.identity import dashboard_url, parse_duration
from conferencing_widgets.core.model import Stroke, Whiteboard
from conferencing_widgets.whiteboard import store as wb_store
from conferencing_widgets.whiteboard.geometry import SHAPES, hit_test
from conferencing_widgets.whiteboard.pictures import BoardPictures
from conferencing_widgets.whiteboard.thumbnails import THUMB_SIZE, BoardImages
from conferencing_widgets.whiteboard.types import SceneRows, StrokeChange, UndoState

# The limits and choices of validation.py stay importable from here, where they have always been.
from conferencing_widgets.whiteboard.validation import (
    BACKGROUND_TYPES,
    MAX_BACKGROUND_BYTES,
    MAX_INPUT_POINTS,
    MAX_STROKE_POINTS,
    MAX_TEXT_CHARS,
    PALETTE,
    SID,
    WIDTHS,
    as_id,
    bounded,
    clean_color,
    clean_ids,
    clean_points,
    clean_stroke,
    clean_text,
    clean_width,
    simplify,
    too_small,
)

if TYPE_CHECKING:

    from conferencing_widgets.files.service import FileService

MAX_STROKES_PER_BOARD = 10_000
"""Stroke rows one board may hold (erased strokes kept for undo count too)."""
MAX_BOARDS_PER_CONVERSATION = 200
"""Boards one conversation may hold."""
MAX_PROGRESS_POINTS = 400
"""Points one progress event may carry."""
PROGRESS_PER_SECOND = 30
"""Progress events one user may post per second and board; more are dropped (they are only a preview)."""
RIGHTS_TTL = 5.0
"""Seconds a successful read/write rights check of a conversation is remembered (refusals never are)."""


class WhiteboardService(BoardPictures):
    """Whiteboards for one user (``Session.boards``)."""

    def __init__(self, service: Service, files: FileService | None = None) -> None:
        self.service = service
        self._files = files
        self._progress: dict[int, collections.deque[float]] = {}
        self._rights: dict[tuple[int, bool], float] = {}
        self.images = BoardImages()
        """This user's cached board pictures (exports, thumbnails, backgrounds)."""

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
        bid = as_id(board_id, "whiteboard")
        try:
            board = wb_store.get_board(self.service.store, bid)
            self._allowed(board.conversation_id, write=False)
        except NotFound:
            raise NotFound(_("No whiteboard {id} that you can open.").format(id=bid)) from None
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
                _("This whiteboard is read-only for you: only members of the conversation can draw on it.")
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

    def create(self, conversation_id: int, title: str | None = None, *, at: datetime | None = None) -> Whiteboard:
        """Start a board in a conversation the user is a member of, with a whiteboard message in the stream.

        ``at`` backdates it, for the demo and tests only.
        """
        try:
            conv = self.service.require_writable(conversation_id)
        except PermissionDenied:
            raise PermissionDenied(_("Only members of this conversation can start a whiteboard in it.")) from None
        if title is None:
            title = f"Whiteboard {wb_store.count_boards(self.service.store, conv.id) + 1}"
        title = clean_title(title, what=_("whiteboard title"))
        board, _message = wb_store.create_board(
            self.service.store,
            conversation_id=conv.id,
            title=title,
            created_by=self.login,
            body=f"Started a whiteboard: {title}",
            max_boards=MAX_BOARDS_PER_CONVERSATION,
            at=at,
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
            sid=sid if isinstance(sid, str) and SID.match(sid) else "",
            progress_event_ids=[int(i) for i in progress_event_ids if isinstance(i, int) and not isinstance(i, bool)],
            **clean,
        )

    def erase(self, board_id: object, stroke_ids: object, *, extend_action: int | None = None) -> StrokeChange:
        """Erase whole strokes (anyone's) as one undoable action of the user."""
        board = self._writable(board_id)
        ids = clean_ids(stroke_ids)
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
        hit = hit_test(scene, float(px), float(py), r)
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
        if not isinstance(sid, str) or not SID.match(sid):
            raise InvalidInput(_("A drawing session id is 1 to 40 letters, digits, '-' or '_'."))
        if shape not in SHAPES or shape == "text":
            raise InvalidInput(_("No progress for shape {value!r}.").format(value=str(shape)[:20]))
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

    # -- rules the views ask for ---------------------------------------------------------------------------

    @staticmethod
    def too_small(shape: str, points: Sequence[float]) -> bool:
        """Whether a drag is too small to store as ``shape`` (the view drops it quietly instead of refusing)."""
        return too_small(shape, points)


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
    "MAX_TEXT_CHARS",
    "PALETTE",
    "THUMB_SIZE",
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
