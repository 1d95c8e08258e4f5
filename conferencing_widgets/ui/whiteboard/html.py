"""HTML of the whiteboard feature (Jinja2 templates in ``templates/``, autoescaped): the stream row of a
whiteboard message, area 3's Whiteboards section, and the board view's heading, info and error lines.
"""

from __future__ import annotations

import base64
import os

from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.model import Conversation, Message, Whiteboard
from conferencing_widgets.ui.templates import render
from conferencing_widgets.whiteboard.service import WhiteboardService

BOARDS_LISTED = 20
"""Boards shown in area 3 (newest first); the rest are counted."""


def in_voila() -> bool:
    """Whether this kernel serves a Voilà dashboard (links then open the board page in a new window)."""
    return "VOILA_PREHEAT" in os.environ or "VOILA_BASE_URL" in os.environ or "QUERY_STRING" in os.environ


def page_base() -> str:
    """The base of links to other dashboards of this server: a path, so it works behind any proxy prefix."""
    return os.environ.get("VOILA_BASE_URL", "").rstrip("/")


def _open_url(boards: WhiteboardService, board: Whiteboard) -> str:
    """A signed link to the board page (dashboards), or "" for an "open here" button (JupyterLab)."""
    if not in_voila():
        return ""
    try:
        return boards.url(board.id, base_url=page_base())
    except ConferencingError:
        return ""


def whiteboard_message_html(boards: WhiteboardService, message: Message) -> str:
    """The stream row of a whiteboard message: its title, an Open link and a PNG download."""
    try:
        board = boards.board(message.ref_id) if message.ref_id is not None else None
    except ConferencingError:
        board = None
    if board is None or board.conversation_id != message.conversation_id:
        # A dangling or forged reference never reveals another conversation's board.
        return render("whiteboard/templates/message.html.j2", board=None, url="")
    return render("whiteboard/templates/message.html.j2", board=board, url=_open_url(boards, board))


def whiteboards_section_html(boards: WhiteboardService, conversation: Conversation) -> str:
    """Area 3's Whiteboards section: thumbnail, title, who started it and when; open or download each."""
    items = boards.boards(conversation.id, limit=BOARDS_LISTED)
    if not items:
        return ""
    total = boards.count(conversation.id) if len(items) >= BOARDS_LISTED else len(items)
    people = boards.service.people({b.created_by for b in items})
    rows = []
    for board in items:
        who = people[board.created_by].display_name if board.created_by in people else board.created_by
        try:
            thumb = base64.b64encode(boards.thumbnail(board)).decode("ascii")
        except ConferencingError:
            thumb = ""
        rows.append((board, who, thumb, _open_url(boards, board)))
    return render("whiteboard/templates/section.html.j2", items=rows, more=max(0, total - len(items)))


def head_html(board: Whiteboard, who: str) -> str:
    """The board view's heading: title, who started it and when."""
    return render("whiteboard/templates/head.html.j2", board=board, who=who)


def info_html(*, strokes: int, ready: int, zoom: float, drawing: list[str]) -> str:
    """The line under the canvas: strokes, zoom and who else is drawing right now."""
    return render(
        "whiteboard/templates/info.html.j2",
        strokes=strokes,
        ready=ready,
        zoom=round(zoom * 100),
        drawing=", ".join(drawing),
    )


def error_html(message: str) -> str:
    """A board's error line ('' when there is no error)."""
    return render("whiteboard/templates/error.html.j2", message=message)


def missing_html(message: str) -> str:
    """The board window's "cannot be opened" page."""
    return render("whiteboard/templates/missing.html.j2", message=message)


__all__ = [
    "BOARDS_LISTED",
    "error_html",
    "head_html",
    "in_voila",
    "info_html",
    "missing_html",
    "page_base",
    "whiteboard_message_html",
    "whiteboards_section_html",
]
