"""Reading a board's strokes: records (``get_strokes``) and the visible scene as columns (``read_scene``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Text, cast, func, select

from conferencing_widgets.core.model import Stroke
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.store import Store
from conferencing_widgets.whiteboard.types import SceneRows


def stroke_record(r: Any) -> Stroke:
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


def stroke_count(store: Store, board_id: int, *, visible_only: bool = False) -> int:
    """Strokes stored for a board (hidden ones too, unless ``visible_only``)."""
    q = select(func.count()).select_from(s.strokes).where(s.strokes.c.whiteboard_id == board_id)
    if visible_only:
        q = q.where(s.strokes.c.deleted == False)  # noqa: E712
    with store.reading() as conn:
        return int(conn.execute(q).scalar_one())


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
        return [stroke_record(r) for r in conn.execute(q.order_by(st.c.id))]


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


__all__ = ["get_strokes", "read_scene", "stroke_count", "stroke_record"]
