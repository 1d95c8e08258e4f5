"""Whiteboards as stroke logs: store functions over ``whiteboards``, ``strokes`` and ``whiteboard_actions``.

No permission checks and no input validation here (``whiteboards.py`` does both); only integrity.

Undo/redo is per user and lives in the store, so it survives page reloads and works across windows:

- every add, erase and clear is an *action* row of its author (state ``done``);
- undo takes the author's newest ``done`` action: an add hides its stroke, an erase or clear brings back the
  strokes *it* hid (``strokes.removed_by``), nothing else; the action becomes ``undone``;
- redo takes the author's oldest ``undone`` action and applies it again;
- a new action drops the author's ``undone`` ones (the redo stack), as every editor does.

So one user's undo never removes or restores what another user did: it only touches strokes whose
``removed_by`` is the author's own action, or the author's own strokes. The ``deleted`` flag stays the one
visibility flag that exports and transcripts read.

Feed events (all with the conversation id, so ``Service.may_see_event`` filters them):

- ``whiteboard`` (ref_id board): payload ``what`` = ``created`` or ``background``;
- ``wb_stroke`` (ref_id stroke): a stroke was added; payload ``board``, ``author``, ``sid`` (the drawing view);
- ``wb_change`` (ref_id board): strokes were hidden or brought back; payload ``removed``/``restored`` ids, or
  ``reload`` when there were too many to list;
- ``wb_progress`` (ref_id board): a stroke being drawn, throttled by the UI. These are transient: the stroke's
  own ``wb_stroke`` transaction deletes the progress events of that stroke (always older ids than the new
  event, so SQLite never hands a deleted id out again and followers reading by id lose nothing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Text, cast, delete, func, insert, select, update

from conferencing_widgets.core.errors import LimitExceeded, NotFound
from conferencing_widgets.core.events import WHITEBOARD_EVENTS, EventKind
from conferencing_widgets.core.model import Message, MessageKind, NewMessage, Stroke, Whiteboard
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.store import Store, utcnow

BOARD_EVENT = EventKind.WHITEBOARD.value
STROKE_EVENT = EventKind.WB_STROKE.value
CHANGE_EVENT = EventKind.WB_CHANGE.value
PROGRESS_EVENT = EventKind.WB_PROGRESS.value
MAX_LISTED_IDS = 200
"""A change event lists at most this many ids; beyond, it says ``reload``."""


@dataclass(frozen=True, kw_only=True)
class StrokeChange:
    """What an erase, clear, undo or redo did to the visible scene."""

    board_id: int
    """The board."""
    removed: tuple[int, ...] = ()
    """Strokes hidden by it."""
    restored: tuple[int, ...] = ()
    """Strokes brought back by it."""
    action_id: int | None = None
    """The action recorded or replayed (None when nothing was to do)."""

    @property
    def empty(self) -> bool:
        """True when the scene did not change."""
        return not self.removed and not self.restored


@dataclass(frozen=True, kw_only=True)
class UndoState:
    """Whether a user has something to undo or redo on a board."""

    can_undo: bool
    """The user has a ``done`` action."""
    can_redo: bool
    """The user has an ``undone`` action."""


@dataclass(frozen=True, kw_only=True)
class SceneRows:
    """The visible strokes of a board in drawing order, column by column (fast to read and to draw)."""

    ids: np.ndarray
    """Stroke ids (int64)."""
    authors: list[str]
    """Login of each stroke's author."""
    shapes: list[str]
    """Shape of each stroke."""
    colors: list[str]
    """``#rrggbb`` of each stroke."""
    widths: np.ndarray
    """Line width of each stroke (float64)."""
    texts: list[str]
    """Label of each ``text`` stroke ('' for the others)."""
    flat: np.ndarray
    """All points, x and y interleaved (float64)."""
    offsets: np.ndarray
    """``flat[offsets[i]:offsets[i + 1]]`` are stroke i's coordinates (int64, n + 1 entries)."""

    def __len__(self) -> int:
        return len(self.ids)

    def points(self, i: int) -> np.ndarray:
        """Stroke i's points as an (n, 2) array (a view)."""
        return self.flat[self.offsets[i] : self.offsets[i + 1]].reshape(-1, 2)

    @classmethod
    def empty(cls) -> SceneRows:
        """A scene without strokes."""
        return cls(
            ids=np.zeros(0, np.int64),
            authors=[],
            shapes=[],
            colors=[],
            widths=np.zeros(0),
            texts=[],
            flat=np.zeros(0),
            offsets=np.zeros(1, np.int64),
        )

    @classmethod
    def from_strokes(cls, strokes: Sequence[Stroke]) -> SceneRows:
        """Columns from stroke records (kept in the given order)."""
        if not strokes:
            return cls.empty()
        counts = np.fromiter((len(st.points) for st in strokes), np.int64, len(strokes))
        offsets = np.zeros(len(strokes) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        flat = np.fromiter((v for st in strokes for v in st.points), np.float64, int(offsets[-1]))
        return cls(
            ids=np.fromiter((st.id for st in strokes), np.int64, len(strokes)),
            authors=[st.author for st in strokes],
            shapes=[st.shape for st in strokes],
            colors=[st.color for st in strokes],
            widths=np.fromiter((st.width for st in strokes), np.float64, len(strokes)),
            texts=[st.text for st in strokes],
            flat=flat,
            offsets=offsets,
        )

    def select(self, keep: np.ndarray) -> SceneRows:
        """The strokes where the boolean mask ``keep`` is true."""
        idx = np.nonzero(keep)[0]
        counts = np.diff(self.offsets)[idx]
        offsets = np.zeros(len(idx) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        if len(idx):
            # One gather for every kept coordinate: starts repeated per coordinate plus a running index.
            starts = np.repeat(self.offsets[idx], counts)
            within = np.arange(int(offsets[-1])) - np.repeat(offsets[:-1], counts)
            flat = self.flat[starts + within]
        else:
            flat = np.zeros(0)
        return SceneRows(
            ids=self.ids[idx],
            authors=[self.authors[i] for i in idx],
            shapes=[self.shapes[i] for i in idx],
            colors=[self.colors[i] for i in idx],
            widths=self.widths[idx],
            texts=[self.texts[i] for i in idx],
            flat=flat,
            offsets=offsets,
        )

    def merge(self, other: SceneRows) -> SceneRows:
        """Both scenes' strokes in id order (ids in ``other`` replace equal ones here)."""
        if not len(other):
            return self
        mine = self.select(~np.isin(self.ids, other.ids)) if len(self) else self
        joined = _concat([mine, other])
        if len(mine) and other.ids.min() < mine.ids.max():
            joined = joined.select_order(np.argsort(joined.ids, kind="stable"))
        return joined

    def select_order(self, order: np.ndarray) -> SceneRows:
        """The strokes in the order of the index array ``order``."""
        counts = np.diff(self.offsets)[order]
        offsets = np.zeros(len(order) + 1, np.int64)
        np.cumsum(counts, out=offsets[1:])
        starts = np.repeat(self.offsets[order], counts)
        within = np.arange(int(offsets[-1])) - np.repeat(offsets[:-1], counts)
        return SceneRows(
            ids=self.ids[order],
            authors=[self.authors[i] for i in order],
            shapes=[self.shapes[i] for i in order],
            colors=[self.colors[i] for i in order],
            widths=self.widths[order],
            texts=[self.texts[i] for i in order],
            flat=self.flat[starts + within],
            offsets=offsets,
        )


def _concat(parts: Sequence[SceneRows]) -> SceneRows:
    parts = [p for p in parts if len(p)]
    if not parts:
        return SceneRows.empty()
    counts = np.concatenate([np.diff(p.offsets) for p in parts])
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return SceneRows(
        ids=np.concatenate([p.ids for p in parts]),
        authors=[a for p in parts for a in p.authors],
        shapes=[a for p in parts for a in p.shapes],
        colors=[a for p in parts for a in p.colors],
        widths=np.concatenate([p.widths for p in parts]),
        texts=[a for p in parts for a in p.texts],
        flat=np.concatenate([p.flat for p in parts]),
        offsets=offsets,
    )


# -- records -----------------------------------------------------------------------------------------------


def _board(r: Any) -> Whiteboard:
    return Whiteboard(
        id=int(r.id),
        conversation_id=int(r.conversation_id),
        title=r.title,
        created_by=r.created_by,
        created_at=r.created_at,
        background_attachment_id=None if r.background_attachment_id is None else int(r.background_attachment_id),
    )


def _stroke(r: Any) -> Stroke:
    points = r.points if isinstance(r.points, list) else json.loads(r.points)
    return Stroke(
        id=int(r.id),
        whiteboard_id=int(r.whiteboard_id),
        author=r.author,
        created_at=r.created_at,
        shape=r.shape,
        points=tuple(float(v) for v in points),
        color=r.color,
        width=float(r.width),
        text=r.text or "",
        deleted=bool(r.deleted),
    )


def _bump(conn: Connection, board_id: int) -> None:
    conn.execute(
        update(s.whiteboards).where(s.whiteboards.c.id == board_id).values(revision=s.whiteboards.c.revision + 1)
    )


def _board_row(conn: Connection, board_id: int) -> Any:
    r = conn.execute(select(s.whiteboards).where(s.whiteboards.c.id == int(board_id))).first()
    if r is None:
        raise NotFound(f"No whiteboard {board_id}.")
    return r


# -- boards ------------------------------------------------------------------------------------------------


def create_board(
    store: Store, *, conversation_id: int, title: str, created_by: str, body: str, max_boards: int | None = None
) -> tuple[Whiteboard, Message]:
    """A new board with its whiteboard message and feed event, in one transaction."""
    with store.atomic() as conn:
        if max_boards is not None:
            count = conn.execute(
                select(func.count())
                .select_from(s.whiteboards)
                .where(s.whiteboards.c.conversation_id == conversation_id)
            ).scalar_one()
            if count >= max_boards:
                raise LimitExceeded(
                    f"This conversation already has {count} whiteboards, the most it can hold. "
                    "Reuse one of them from the Details area."
                )
        row = conn.execute(
            insert(s.whiteboards)
            .values(conversation_id=conversation_id, title=title, created_by=created_by, created_at=utcnow())
            .returning(*s.whiteboards.c)
        ).one()
        board = _board(row)
        message, _fresh = store.post_message(
            NewMessage(conversation_id=conversation_id, body=body, kind=MessageKind.WHITEBOARD, ref_id=board.id),
            author=created_by,
        )
        store.append_event(
            conn,
            BOARD_EVENT,
            conversation_id=conversation_id,
            ref_id=board.id,
            payload={"board": board.id, "what": "created", "message_id": message.id},
        )
    return board, message


def get_board(store: Store, board_id: int) -> Whiteboard:
    """One board, or ``NotFound``."""
    with store.reading() as conn:
        return _board(_board_row(conn, board_id))


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
        r = _board_row(conn, board_id)
        conn.execute(
            update(s.whiteboards)
            .where(s.whiteboards.c.id == r.id)
            .values(background_attachment_id=attachment_id, revision=s.whiteboards.c.revision + 1)
        )
        store.append_event(
            conn,
            BOARD_EVENT,
            conversation_id=int(r.conversation_id),
            ref_id=int(r.id),
            payload={"board": int(r.id), "what": "background", "author": by},
        )
        return _board(_board_row(conn, board_id))


# -- strokes -----------------------------------------------------------------------------------------------


def stroke_count(store: Store, board_id: int, *, visible_only: bool = False) -> int:
    """Strokes stored for a board (hidden ones too, unless ``visible_only``)."""
    q = select(func.count()).select_from(s.strokes).where(s.strokes.c.whiteboard_id == board_id)
    if visible_only:
        q = q.where(s.strokes.c.deleted == False)  # noqa: E712
    with store.reading() as conn:
        return int(conn.execute(q).scalar_one())


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
        board = _board_row(conn, board_id)
        if max_strokes is not None:
            count = conn.execute(
                select(func.count()).select_from(s.strokes).where(s.strokes.c.whiteboard_id == board.id)
            ).scalar_one()
            if count >= max_strokes:
                raise LimitExceeded(
                    f"This whiteboard is full ({max_strokes:,} strokes, erased ones included). "
                    "Start a new whiteboard session for more drawing."
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
        _bump(conn, int(board.id))
        event_id = store.append_event(
            conn,
            STROKE_EVENT,
            conversation_id=int(board.conversation_id),
            ref_id=int(row.id),
            payload={"board": int(board.id), "author": author, "sid": sid},
        )
        ids = [int(i) for i in progress_event_ids if int(i) < event_id]
        if ids:
            conn.execute(
                delete(s.events).where(
                    s.events.c.id.in_(ids), s.events.c.kind == PROGRESS_EVENT, s.events.c.ref_id == int(board.id)
                )
            )
    return _stroke(row)


def _change_event(store: Store, conn: Connection, board: Any, author: str, change: StrokeChange) -> None:
    payload: dict[str, Any] = {"board": int(board.id), "author": author}
    if len(change.removed) + len(change.restored) > MAX_LISTED_IDS:
        payload["reload"] = True
    else:
        payload["removed"] = list(change.removed)
        payload["restored"] = list(change.restored)
    store.append_event(
        conn, CHANGE_EVENT, conversation_id=int(board.conversation_id), ref_id=int(board.id), payload=payload
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
        board = _board_row(conn, board_id)
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
        _bump(conn, bid)
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
        board = _board_row(conn, board_id)
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
        _bump(conn, bid)
        _change_event(store, conn, board, author, change)
        return change


def undo(store: Store, board_id: int, *, author: str) -> StrokeChange | None:
    """Undo the author's newest action on the board; None when there is none."""
    a, st = s.whiteboard_actions, s.strokes
    with store.atomic() as conn:
        board = _board_row(conn, board_id)
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
        _bump(conn, bid)
        _change_event(store, conn, board, author, change)
        return change


def redo(store: Store, board_id: int, *, author: str) -> StrokeChange | None:
    """Redo the author's most recently undone action; None when there is none."""
    a = s.whiteboard_actions
    with store.atomic() as conn:
        board = _board_row(conn, board_id)
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
        _bump(conn, bid)
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


def get_strokes(
    store: Store, board_id: int, *, ids: Sequence[int] | None = None, include_deleted: bool = False
) -> list[Stroke]:
    """Stroke records of a board in drawing order (optionally only ``ids``)."""
    st = s.strokes
    q = select(st).where(st.c.whiteboard_id == board_id)
    if ids is not None:
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return []
        q = q.where(st.c.id.in_(wanted))
    if not include_deleted:
        q = q.where(st.c.deleted == False)  # noqa: E712
    with store.reading() as conn:
        return [_stroke(r) for r in conn.execute(q.order_by(st.c.id))]


def read_scene(store: Store, board_id: int, *, ids: Sequence[int] | None = None) -> SceneRows:
    """The visible strokes of a board (or of ``ids`` among them) as columns, parsed in one pass.

    The points come out of the database as JSON text and are parsed by numpy in a single call for all
    strokes: for thousands of strokes this is several times faster than a ``json.loads`` per row.
    """
    st = s.strokes
    q = select(
        st.c.id, st.c.author, st.c.shape, cast(st.c.points, Text).label("pts"), st.c.color, st.c.width, st.c.text
    )
    q = q.where(st.c.whiteboard_id == board_id, st.c.deleted == False)  # noqa: E712
    if ids is not None:
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return SceneRows.empty()
        q = q.where(st.c.id.in_(wanted))
    with store.reading() as conn:
        rows = conn.execute(q.order_by(st.c.id)).all()
    if not rows:
        return SceneRows.empty()
    texts = [str(r.pts).strip() for r in rows]
    counts = np.fromiter((t.count(",") + 1 if len(t) > 2 else 0 for t in texts), np.int64, len(texts))
    offsets = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    flat = np.fromstring(",".join(t[1:-1] for t in texts if len(t) > 2), sep=",")
    if len(flat) != offsets[-1]:
        # Not the compact JSON this module writes (e.g. edited by hand): parse row by row.
        flat = np.asarray([float(v) for t in texts for v in json.loads(t)], np.float64)
        counts = np.fromiter((len(json.loads(t)) for t in texts), np.int64, len(texts))
        np.cumsum(counts, out=offsets[1:])
    return SceneRows(
        ids=np.fromiter((r.id for r in rows), np.int64, len(rows)),
        authors=[r.author for r in rows],
        shapes=[r.shape for r in rows],
        colors=[r.color for r in rows],
        widths=np.fromiter((r.width for r in rows), np.float64, len(rows)),
        texts=[r.text or "" for r in rows],
        flat=flat,
        offsets=offsets,
    )


def post_progress(store: Store, board: Whiteboard, payload: dict[str, Any]) -> int:
    """Append a transient ``wb_progress`` event for a stroke being drawn; returns its id."""
    with store.atomic() as conn:
        return store.append_event(
            conn, PROGRESS_EVENT, conversation_id=board.conversation_id, ref_id=board.id, payload=payload
        )


__all__ = [
    "BOARD_EVENT",
    "CHANGE_EVENT",
    "PROGRESS_EVENT",
    "STROKE_EVENT",
    "WHITEBOARD_EVENTS",
    "SceneRows",
    "StrokeChange",
    "UndoState",
    "add_stroke",
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
