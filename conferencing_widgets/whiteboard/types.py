"""The records the whiteboard layers pass around: a scene as columns, and what an edit did to it.

Imported by the stores (which build them), the service (which returns them) and the views (which draw them),
so the UI needs nothing from a store module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from conferencing_widgets.core.model import Stroke


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


__all__ = ["SceneRows", "StrokeChange", "UndoState"]
