"""Whose turn it is and the response clocks of one case: pure functions of its history, ``now`` and settings.

The one definition for the screen (``CaseService``) and the export (``export/metrics.py``), so a figure shown on
a tile and one in an analyst's frame never disagree. Inputs are the case's non-system messages in all its chats
(who posted when, vendor or customer side) and its status changes.

Definitions:

- A **wait** opens at a customer message when none is open, and when a resolved or closed case is reopened
  (to open or waiting on vendor). It ends at the next vendor message (*answered*), or when the case is
  resolved or closed (*dropped*: the last message needed no answer).
- The first waits until the first vendor answer are **first response** waits, later ones **next response**.
- A wait's **elapsed** time counts only while the case is *open* or *waiting on vendor* (paused while waiting on
  the customer, resolved or closed) and, when business hours are set, only within them.
- A clock is **near** its target from ``NEAR`` of it, **over** at the target.
- **Whose turn**: the vendor's while open or waiting on vendor, the customer's while waiting on the customer,
  nobody's once resolved or closed. *Since*: on the vendor's turn with a customer waiting, when that wait began;
  otherwise when the turn last passed to that side (or the case opened).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from conferencing_widgets.core.model import CaseStatus, StatusChange
from conferencing_widgets.core.policy import DONE_STATUSES
from conferencing_widgets.core.worktime import BusinessHours, Targets

RUNNING = frozenset({CaseStatus.OPEN, CaseStatus.WAITING_ON_VENDOR})
"""Statuses in which the response clocks count."""
NEAR = 0.75
"""Share of a target from which a clock is highlighted as near it."""
ALWAYS = BusinessHours()


class Side(str, Enum):
    """Whose turn it is."""

    VENDOR = "vendor"
    CUSTOMER = "customer"


class Level(str, Enum):
    """How a clock stands against its target."""

    OK = "ok"
    NEAR = "near"
    OVER = "over"


@dataclass(frozen=True, kw_only=True)
class Post:
    """One non-system message of the case: when, and from which side."""

    at: datetime
    vendor: bool


@dataclass(frozen=True, kw_only=True)
class Wait:
    """A customer waiting for the vendor."""

    first: bool
    """A first-response wait (no vendor answer before it)."""
    start: datetime
    end: datetime | None
    """The answer or the resolve; None while open."""
    answered: bool
    elapsed: timedelta
    """Counted time (running statuses, business hours) from start to end, or to ``now`` while open."""


@dataclass(frozen=True, kw_only=True)
class Clock:
    """One response clock as the screen and the export show it."""

    elapsed: timedelta
    target: timedelta | None
    open: bool
    """Still waiting for the answer."""
    running: bool
    """Open and counting now (not paused)."""
    level: Level

    @property
    def met(self) -> bool | None:
        """For an answered clock with a target: answered in time; else None."""
        if self.open or self.target is None:
            return None
        return self.elapsed <= self.target


@dataclass(frozen=True, kw_only=True)
class CaseClocks:
    """Everything about a case's turn and clocks at one moment."""

    status: CaseStatus
    turn: Side | None
    turn_since: datetime | None
    first: Clock | None
    """The first-response clock (None before the customer's first message)."""
    next: Clock | None
    """The latest next-response clock (None before the first vendor answer is followed by a customer message)."""
    waits: tuple[Wait, ...] = ()

    @property
    def alert(self) -> Level:
        """The worst level among the open clocks (answered clocks do not light a tile)."""
        levels = [c.level for c in (self.first, self.next) if c is not None and c.open]
        if Level.OVER in levels:
            return Level.OVER
        return Level.NEAR if Level.NEAR in levels else Level.OK

    @property
    def overdue(self) -> bool:
        """An open clock is past its target."""
        return self.alert is Level.OVER


def side_of(status: CaseStatus) -> Side | None:
    """Whose turn a status means."""
    if status is CaseStatus.WAITING_ON_CUSTOMER:
        return Side.CUSTOMER
    return None if status in DONE_STATUSES else Side.VENDOR


def _segments(initial: CaseStatus, changes: Sequence[StatusChange]) -> list[tuple[datetime | None, CaseStatus]]:
    """(from when, status) in time order; the first segment starts at the beginning of time (None)."""
    out: list[tuple[datetime | None, CaseStatus]] = [(None, initial)]
    out += [(c.at, c.to_status) for c in changes]
    return out


def counted(
    start: datetime,
    end: datetime,
    segments: Sequence[tuple[datetime | None, CaseStatus]],
    hours: BusinessHours = ALWAYS,
) -> timedelta:
    """Time in ``[start, end)`` during which the case was in a running status, within business hours."""
    total = timedelta(0)
    for i, (since, status) in enumerate(segments):
        if status not in RUNNING:
            continue
        until = segments[i + 1][0] if i + 1 < len(segments) else None
        lo = start if since is None else max(start, since)
        hi = end if until is None else min(end, until)
        if hi > lo:
            total += hours.counted(lo, hi)
    return total


def waits(
    posts: Iterable[Post],
    changes: Sequence[StatusChange],
    *,
    initial: CaseStatus,
    now: datetime,
    hours: BusinessHours = ALWAYS,
) -> list[Wait]:
    """Every wait of the case, oldest first (see the module's definitions)."""
    # At the same instant a message comes before a status change: a customer's reply opens its wait, then flips.
    timeline: list[tuple[datetime, int, Post | StatusChange]] = [(p.at, 0, p) for p in posts]
    timeline += [(c.at, 1, c) for c in changes]
    timeline.sort(key=lambda x: (x[0], x[1]))
    segments = _segments(initial, changes)
    out: list[Wait] = []
    opened: tuple[datetime, bool] | None = None  # (start, first)
    answered_once = False

    def close(at: datetime, answered: bool) -> None:
        assert opened is not None
        start, first = opened
        out.append(
            Wait(first=first, start=start, end=at, answered=answered, elapsed=counted(start, at, segments, hours))
        )

    for at, _order, item in timeline:
        if isinstance(item, Post):
            if not item.vendor and opened is None:
                opened = (at, not answered_once)
            elif item.vendor and opened is not None:
                close(at, True)
                opened, answered_once = None, True
        elif item.to_status in DONE_STATUSES and opened is not None:
            close(at, False)
            opened = None
        elif item.from_status in DONE_STATUSES and item.to_status in RUNNING and opened is None:
            opened = (at, not answered_once)
    if opened is not None:
        start, first = opened
        out.append(
            Wait(first=first, start=start, end=None, answered=False, elapsed=counted(start, now, segments, hours))
        )
    return out


def _level(elapsed: timedelta, target: timedelta | None) -> Level:
    if target is None:
        return Level.OK
    if elapsed >= target:
        return Level.OVER
    return Level.NEAR if elapsed >= target * NEAR else Level.OK


def _clock(wait: Wait | None, target: timedelta | None, status: CaseStatus) -> Clock | None:
    if wait is None:
        return None
    is_open = wait.end is None
    return Clock(
        elapsed=wait.elapsed,
        target=target,
        open=is_open,
        running=is_open and status in RUNNING,
        level=_level(wait.elapsed, target),
    )


def _turn_since(
    status: CaseStatus, initial: CaseStatus, changes: Sequence[StatusChange], created_at: datetime | None
) -> datetime | None:
    side = side_of(status)
    since = created_at if side_of(initial) == side else None
    for c in changes:
        if side_of(c.to_status) == side and side_of(c.from_status) != side:
            since = c.at
        elif side_of(c.to_status) != side:
            since = None
    if since is None and changes:
        since = changes[-1].at
    return since


def case_clocks(
    *,
    status: CaseStatus,
    posts: Iterable[Post],
    changes: Sequence[StatusChange],
    now: datetime,
    created_at: datetime | None = None,
    targets: Targets | None = None,
    hours: BusinessHours = ALWAYS,
) -> CaseClocks:
    """Whose turn and both clocks of one case at ``now``.

    ``changes`` are the case's status changes in time order; the status before the first one is its
    ``from_status`` (``status`` when there are none).
    """
    changes = sorted(changes, key=lambda c: (c.at, c.id))
    initial = changes[0].from_status if changes else status
    all_waits = waits(posts, changes, initial=initial, now=now, hours=hours)
    kept = [w for w in all_waits if w.answered or w.end is None]  # dropped waits show no clock
    first = next((w for w in reversed(kept) if w.first), None)
    nxt = next((w for w in reversed(kept) if not w.first), None)
    since = _turn_since(status, initial, changes, created_at)
    if side_of(status) is Side.VENDOR and all_waits and all_waits[-1].end is None:
        since = all_waits[-1].start  # the customer has been waiting since then
    return CaseClocks(
        status=status,
        turn=side_of(status),
        turn_since=since,
        first=_clock(first, targets.first if targets else None, status),
        next=_clock(nxt, targets.next if targets else None, status),
        waits=tuple(all_waits),
    )
