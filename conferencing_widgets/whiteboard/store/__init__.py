"""The whiteboard's SQL: boards (``boards``), the stroke log with per-user undo/redo (``strokes``), and scene
reads (``scene``). Plain records out; no permission checks or input validation (``whiteboard/service.py``).

Only the whiteboard service (and tests, benchmarks) import this package; the UI asks the service.
"""

from __future__ import annotations

from conferencing_widgets.whiteboard.store.boards import (
    background_file,
    boards_of,
    count_boards,
    create_board,
    get_board,
    post_progress,
    revisions,
    set_background,
)
from conferencing_widgets.whiteboard.store.scene import get_strokes, read_scene, stroke_count
from conferencing_widgets.whiteboard.store.strokes import (
    MAX_LISTED_IDS,
    add_stroke,
    clear_author,
    erase,
    redo,
    undo,
    undo_state,
)

__all__ = [
    "MAX_LISTED_IDS",
    "add_stroke",
    "background_file",
    "boards_of",
    "clear_author",
    "count_boards",
    "create_board",
    "erase",
    "get_board",
    "get_strokes",
    "post_progress",
    "read_scene",
    "redo",
    "revisions",
    "set_background",
    "stroke_count",
    "undo",
    "undo_state",
]
