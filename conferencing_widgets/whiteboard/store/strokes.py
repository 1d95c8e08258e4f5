"""The stroke log of a board: add, erase, clear, and per-user undo/redo, over ``strokes`` and ``whiteboard_actions``.

No permission checks and no input validation here (``whiteboard/service.py`` does both); only integrity.

Undo/redo is per user and lives in the store, so it survives page reloads and works across windows:

- every add, erase and clear is an *action* row of its author (state ``done``);
- undo takes the author's newest ``done`` action: an add hides its stroke, an erase or clear brings back the
  strokes *it* hid (``strokes.removed_by``), nothing else; the action becomes ``undone``;
- redo takes the author's oldest ``undone`` action and applies it again;
- a new action drops the author's ``undone`` ones (the redo stack), as every editor does.

So one user's undo never removes or restores what another user did: it only touches strokes whose
``removed_by`` is the author's own action, or the author's own strokes. The ``deleted`` flag stays the one
visibility flag that exports and transcripts read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from conferencing_widgets.core.errors import LimitExceeded
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Stroke
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.store import Store, utcnow
from conferencing_widgets.whiteboard.store.boards import board_row, bump
from conferencing_widgets.whiteboard.store.scene import stroke_record
from conferencing_widgets.whiteboard.types import StrokeChange, UndoState

MAX_LISTED_IDS = 200
"""A change event lists at most this many ids; beyond, it says ``reload``."""


def _drop_redo(conn: Connection, board_id: int, author: str) -> None:
    """A new action clears the author's redo stack.

    Strokes that only a dropped add could bring back stay as hidden rows: deleting them could let SQLite hand
    their ids out again (no AUTOINCREMENT), and ids name strokes in events and in other users' actions.
    """
    a = s.whiteboard_actions
    conn.execute(
        update(a)
        .where(a.c.whiteboard_id == board_id, a.c.author == author, a.c.state == "undone")
        .values(state="dropped")
    )


def _record(conn: Connection, board_id: int, author: str, kind: str, stroke_ids: Sequence[int]) -> int:
    return int(
        conn.execute(
            insert(s.whiteboard_actions)
            .values(
                whiteboard_id=board_id,
                author=author,
                kind=kind,
                stroke_ids=[int(i) for i in stroke_ids],
                state="done",
                created_at=utcnow(),
            )
            .returning(s.whiteboard_actions.c.id)
        ).scalar_one()
    )


def add_stroke(
    store: Store,
    board_id: int,
    *,
    author: str,
    shape: str,
    points: Sequence[float],
    color: str,
    width: float,
    text: str = "",
    max_strokes: int | None = None,
    sid: str = "",
    progress_event_ids: Sequence[int] = (),
) -> Stroke:
    """Store one (already validated) stroke as the author's new action; returns it.

    ``progress_event_ids`` are the transient ``wb_progress`` events of this stroke, deleted in the same
    transaction. ``max_strokes`` bounds the rows a board may hold (hidden strokes kept for undo count too).
    """
    with store.atomic() as conn:
        board = board_row(conn, board_id)
        if max_strokes is not None:
            count = conn.execute(
                select(func.count()).select_from(s.strokes).where(s.strokes.c.whiteboard_id == board.id)
            ).scalar_one()
            if count >= max_strokes:
                raise LimitExceeded(
                    _(
                        "This whiteboard is full ({max_strokes:,} strokes, erased ones "
                        "included). Start a new whiteboard session for more drawing."
                    ).format(max_strokes=max_strokes)
                )
        _drop_redo(conn, int(board.id), author)
        row = conn.execute(
            insert(s.strokes)
            .values(
                whiteboard_id=int(board.id),
                author=author,
                created_at=utcnow(),
                shape=shape,
                points=[float(v) for v in points],
                color=color,
                width=float(width),
                text=text,
                deleted=False,
            )
            .returning(*s.strokes.c)
        ).one()
        _record(conn, int(board.id), author, "add", [int(row.id)])
        bump(conn, int(board.id))
        event_id = store.append_event(
            conn,
            EventKind.WB_STROKE.value,
            conversation_id=int(board.conversation_id),
            ref_id=int(row.id),
            payload={"board": int(board.id), "author": author, "sid": sid},
        )
        ids = [int(i) for i in progress_event_ids if int(i) < event_id]
        if ids:
            conn.execute(
                delete(s.events).where(
                    s.events.c.id.in_(ids),
                    s.events.c.kind == EventKind.WB_PROGRESS.value,
                    s.events.c.ref_id == int(board.id),
                )
            )
    return stroke_record(row)


def _change_event(store: Store, conn: Connection, board: Any, author: str, change: StrokeChange) -> None:
    payload: dict[str, Any] = {"board": int(board.id), "author": author}
    if len(change.removed) + len(change.restored) > MAX_LISTED_IDS:
        payload["reload"] = True
    else:
        payload["removed"] = list(change.removed)
        payload["restored"] = list(change.restored)
    store.append_event(
        conn,
        EventKind.WB_CHANGE.value,
        conversation_id=int(board.conversation_id),
        ref_id=int(board.id),
        payload=payload,
    )


def _hide(conn: Connection, board_id: int, stroke_ids: Sequence[int], action_id: int) -> tuple[int, ...]:
    """Hide the visible strokes among ``stroke_ids``; returns those hidden."""
    st = s.strokes
    ids = sorted({int(i) for i in stroke_ids})
    if not ids:
        return ()
    visible = [
        int(i)
        for i in conn.execute(
            select(st.c.id).where(st.c.whiteboard_id == board_id, st.c.id.in_(ids), st.c.deleted == False)  # noqa: E712
        ).scalars()
    ]
    if visible:
        conn.execute(update(st).where(st.c.id.in_(visible)).values(deleted=True, removed_by=action_id))
    return tuple(visible)


def _restore(conn: Connection, board_id: int, action_id: int) -> tuple[int, ...]:
    """Bring back the strokes that action ``action_id`` hid."""
    st = s.strokes
    ids = [
        int(i)
        for i in conn.execute(
            select(st.c.id).where(st.c.whiteboard_id == board_id, st.c.removed_by == action_id).order_by(st.c.id)
        ).scalars()
    ]
    if ids:
        conn.execute(update(st).where(st.c.id.in_(ids)).values(deleted=False, removed_by=None))
    return tuple(ids)


def erase(
    store: Store, board_id: int, *, author: str, stroke_ids: Sequence[int], extend_action: int | None = None
) -> StrokeChange:
    """Hide whole strokes (anyone's) as the author's erase action.

    With ``extend_action`` (the author's newest action, an erase still ``done``) the strokes join that action,
    so one eraser drag is one undo step.
    """
    with store.atomic() as conn:
        board = board_row(conn, board_id)
        bid = int(board.id)
        a = s.whiteboard_actions
        action_row = None
        if extend_action is not None:
            newest = conn.execute(
                select(a.c.id, a.c.kind, a.c.state, a.c.stroke_ids)
                .where(a.c.whiteboard_id == bid, a.c.author == author)
                .order_by(a.c.id.desc())
                .limit(1)
            ).first()
            if (
                newest is not None
                and int(newest.id) == extend_action
                and newest.kind == "erase"
                and newest.state == "done"
            ):
                action_row = newest
        if action_row is None:
            candidates = _visible_among(conn, bid, stroke_ids)
            if not candidates:
                return StrokeChange(board_id=bid)
            _drop_redo(conn, bid, author)
            action_id = _record(conn, bid, author, "erase", candidates)
            hidden = _hide(conn, bid, candidates, action_id)
        else:
            action_id = int(action_row.id)
            hidden = _hide(conn, bid, stroke_ids, action_id)
            if not hidden:
                return StrokeChange(board_id=bid, action_id=action_id)
            listed = list(action_row.stroke_ids or []) + [i for i in hidden if i not in (action_row.stroke_ids or [])]
            conn.execute(update(a).where(a.c.id == action_id).values(stroke_ids=listed))
        change = StrokeChange(board_id=bid, removed=hidden, action_id=action_id)
        bump(conn, bid)
        _change_event(store, conn, board, author, change)
        return change


def _visible_among(conn: Connection, board_id: int, stroke_ids: Sequence[int]) -> list[int]:
    st = s.strokes
    ids = sorted({int(i) for i in stroke_ids})
    if not ids:
        return []
    return [
        int(i)
        for i in conn.execute(
            select(st.c.id).where(st.c.whiteboard_id == board_id, st.c.id.in_(ids), st.c.deleted == False)  # noqa: E712
        ).scalars()
    ]


def clear_author(store: Store, board_id: int, *, author: str) -> StrokeChange:
    """Hide every visible stroke of ``author`` as one undoable clear action."""
    st = s.strokes
    with store.atomic() as conn:
        board = board_row(conn, board_id)
        bid = int(board.id)
        mine = [
            int(i)
            for i in conn.execute(
                select(st.c.id).where(st.c.whiteboard_id == bid, st.c.author == author, st.c.deleted == False)  # noqa: E712
            ).scalars()
        ]
        if not mine:
            return StrokeChange(board_id=bid)
        _drop_redo(conn, bid, author)
        action_id = _record(conn, bid, author, "clear", mine)
        change = StrokeChange(board_id=bid, removed=_hide(conn, bid, mine, action_id), action_id=action_id)
        bump(conn, bid)
        _change_event(store, conn, board, author, change)
        return change


def undo(store: Store, board_id: int, *, author: str) -> StrokeChange | None:
    """Undo the author's newest action on the board; None when there is none."""
    a, st = s.whiteboard_actions, s.strokes
    with store.atomic() as conn:
        board = board_row(conn, board_id)
        bid = int(board.id)
        action = conn.execute(
            select(a)
            .where(a.c.whiteboard_id == bid, a.c.author == author, a.c.state == "done")
            .order_by(a.c.id.desc())
            .limit(1)
        ).first()
        if action is None:
            return None
        aid = int(action.id)
        if action.kind == "add":
            ids = [int(i) for i in action.stroke_ids or []]
            removed = _hide(conn, bid, ids, aid)
            if ids:
                # Also take over strokes of this add that someone erased meanwhile: the author undid drawing
                # them, so undoing that erase must not bring them back (only the author's redo does).
                conn.execute(
                    update(st)
                    .where(st.c.whiteboard_id == bid, st.c.id.in_(ids), st.c.author == author)
                    .values(deleted=True, removed_by=aid)
                )
            change = StrokeChange(board_id=bid, removed=removed, action_id=aid)
        else:
            change = StrokeChange(board_id=bid, restored=_restore(conn, bid, aid), action_id=aid)
        conn.execute(update(a).where(a.c.id == aid).values(state="undone"))
        bump(conn, bid)
        _change_event(store, conn, board, author, change)
        return change


def redo(store: Store, board_id: int, *, author: str) -> StrokeChange | None:
    """Redo the author's most recently undone action; None when there is none."""
    a = s.whiteboard_actions
    with store.atomic() as conn:
        board = board_row(conn, board_id)
        bid = int(board.id)
        action = conn.execute(
            select(a)
            .where(a.c.whiteboard_id == bid, a.c.author == author, a.c.state == "undone")
            .order_by(a.c.id)
            .limit(1)
        ).first()
        if action is None:
            return None
        aid = int(action.id)
        if action.kind == "add":
            change = StrokeChange(board_id=bid, restored=_restore(conn, bid, aid), action_id=aid)
        else:
            ids = [int(i) for i in action.stroke_ids or []]
            change = StrokeChange(board_id=bid, removed=_hide(conn, bid, ids, aid), action_id=aid)
        conn.execute(update(a).where(a.c.id == aid).values(state="done"))
        bump(conn, bid)
        _change_event(store, conn, board, author, change)
        return change


def undo_state(store: Store, board_id: int, author: str) -> UndoState:
    """Whether ``author`` can undo or redo on the board."""
    a = s.whiteboard_actions
    with store.reading() as conn:
        states = set(
            conn.execute(
                select(a.c.state)
                .where(a.c.whiteboard_id == board_id, a.c.author == author, a.c.state.in_(("done", "undone")))
                .group_by(a.c.state)
            ).scalars()
        )
    return UndoState(can_undo="done" in states, can_redo="undone" in states)


__all__ = ["MAX_LISTED_IDS", "add_stroke", "clear_author", "erase", "redo", "undo", "undo_state"]
