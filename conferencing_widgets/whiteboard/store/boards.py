"""Whiteboard boards: store functions over ``whiteboards`` (one row per board) and the board feed events.

No permission checks and no input validation here (``whiteboard/service.py`` does both); only integrity.

Feed events (all with the conversation id, so ``Service.may_see_event`` filters them; kinds from
``core/events.py``):

- ``whiteboard`` (ref_id board): payload ``what`` = ``created`` or ``background``;
- ``wb_stroke`` (ref_id stroke): a stroke was added; payload ``board``, ``author``, ``sid`` (the drawing view);
- ``wb_change`` (ref_id board): strokes were hidden or brought back; payload ``removed``/``restored`` ids, or
  ``reload`` when there were too many to list;
- ``wb_progress`` (ref_id board): a stroke being drawn, throttled by the UI. These are transient: the stroke's
  own ``wb_stroke`` transaction deletes the progress events of that stroke (always older ids than the new
  event, so SQLite never hands a deleted id out again and followers reading by id lose nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from conferencing_widgets.core.errors import LimitExceeded, NotFound
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Message, MessageKind, NewMessage, Whiteboard
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.store import Store, utcnow


def _board(r: Any) -> Whiteboard:
    return Whiteboard(
        id=int(r.id),
        conversation_id=int(r.conversation_id),
        title=r.title,
        created_by=r.created_by,
        created_at=r.created_at,
        background_attachment_id=None if r.background_attachment_id is None else int(r.background_attachment_id),
    )


def bump(conn: Connection, board_id: int) -> None:
    conn.execute(
        update(s.whiteboards).where(s.whiteboards.c.id == board_id).values(revision=s.whiteboards.c.revision + 1)
    )


def board_row(conn: Connection, board_id: int) -> Any:
    r = conn.execute(select(s.whiteboards).where(s.whiteboards.c.id == int(board_id))).first()
    if r is None:
        raise NotFound(_("No whiteboard {board_id}.").format(board_id=board_id))
    return r


# -- boards ------------------------------------------------------------------------------------------------


def create_board(
    store: Store,
    *,
    conversation_id: int,
    title: str,
    created_by: str,
    body: str,
    max_boards: int | None = None,
    at: datetime | None = None,
) -> tuple[Whiteboard, Message]:
    """A new board with its whiteboard message and feed event, in one transaction (``at``: demo and tests)."""
    with store.atomic() as conn:
        if max_boards is not None:
            count = conn.execute(
                select(func.count())
                .select_from(s.whiteboards)
                .where(s.whiteboards.c.conversation_id == conversation_id)
            ).scalar_one()
            if count >= max_boards:
                raise LimitExceeded(
                    _(
                        "This conversation already has {count} whiteboards, the most it "
                        "can hold. Reuse one of them from the Details area."
                    ).format(count=count)
                )
        row = conn.execute(
            insert(s.whiteboards)
            .values(conversation_id=conversation_id, title=title, created_by=created_by, created_at=at or utcnow())
            .returning(*s.whiteboards.c)
        ).one()
        board = _board(row)
        message, _fresh = store.post_message(
            NewMessage(conversation_id=conversation_id, body=body, kind=MessageKind.WHITEBOARD, ref_id=board.id),
            author=created_by,
            at=at,
        )
        store.append_event(
            conn,
            EventKind.WHITEBOARD.value,
            conversation_id=conversation_id,
            ref_id=board.id,
            payload={"board": board.id, "what": "created", "message_id": message.id},
        )
    return board, message


def get_board(store: Store, board_id: int) -> Whiteboard:
    """One board, or ``NotFound``."""
    with store.reading() as conn:
        return _board(board_row(conn, board_id))


def boards_of(store: Store, conversation_id: int, *, limit: int = 50) -> list[Whiteboard]:
    """A conversation's boards, newest first."""
    with store.reading() as conn:
        rows = conn.execute(
            select(s.whiteboards)
            .where(s.whiteboards.c.conversation_id == conversation_id)
            .order_by(s.whiteboards.c.id.desc())
            .limit(limit)
        ).all()
    return [_board(r) for r in rows]


def count_boards(store: Store, conversation_id: int) -> int:
    """How many boards a conversation has."""
    with store.reading() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(s.whiteboards)
                .where(s.whiteboards.c.conversation_id == conversation_id)
            ).scalar_one()
        )


def revisions(store: Store, board_ids: Sequence[int]) -> dict[int, int]:
    """The revision counter of each board (bumped by every change of its scene or background)."""
    ids = sorted({int(i) for i in board_ids})
    if not ids:
        return {}
    with store.reading() as conn:
        rows = conn.execute(select(s.whiteboards.c.id, s.whiteboards.c.revision).where(s.whiteboards.c.id.in_(ids)))
        return {int(r.id): int(r.revision) for r in rows}


def set_background(store: Store, board_id: int, attachment_id: int | None, *, by: str) -> Whiteboard:
    """Set (or with None remove) a board's background attachment."""
    with store.atomic() as conn:
        r = board_row(conn, board_id)
        conn.execute(
            update(s.whiteboards)
            .where(s.whiteboards.c.id == r.id)
            .values(background_attachment_id=attachment_id, revision=s.whiteboards.c.revision + 1)
        )
        store.append_event(
            conn,
            EventKind.WHITEBOARD.value,
            conversation_id=int(r.conversation_id),
            ref_id=int(r.id),
            payload={"board": int(r.id), "what": "background", "author": by},
        )
        return _board(board_row(conn, board_id))


def background_file(store: Store, attachment_id: int) -> tuple[str, str] | None:
    """(content hash, media type) of a background's file, or None when the file record is gone."""
    a = s.attachments
    with store.reading() as conn:
        r = conn.execute(select(a.c.sha256, a.c.media_type).where(a.c.id == int(attachment_id))).first()
    return None if r is None else (str(r.sha256), str(r.media_type))


def post_progress(store: Store, board: Whiteboard, payload: dict[str, Any]) -> int:
    """Append a transient ``wb_progress`` event for a stroke being drawn; returns its id."""
    with store.atomic() as conn:
        return store.append_event(
            conn, EventKind.WB_PROGRESS.value, conversation_id=board.conversation_id, ref_id=board.id, payload=payload
        )


__all__ = [
    "background_file",
    "board_row",
    "boards_of",
    "bump",
    "count_boards",
    "create_board",
    "get_board",
    "post_progress",
    "revisions",
    "set_background",
]
