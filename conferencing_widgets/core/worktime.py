"""Working time for the response clocks: targets per priority and optional business hours, parsed from settings.

Pure values and arithmetic, no I/O: ``Settings`` validates its strings with these parsers at load time, and
``cases/clocks.py`` counts time with them.

- ``response_targets``: ``"urgent=1h/4h, high=4h/8h, normal=8h/24h, low=24h/72h"``: per priority the target of
  the first response, then of every next response. A priority left out has no target (its clocks run, never red).
- ``business_hours``: empty (every hour counts) or windows such as ``"mon-fri 08:00-17:00"`` or
  ``"mon-fri 08:00-17:00, sat 09:00-12:00"``, in the zone ``business_timezone`` (an IANA name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from conferencing_widgets.core.errors import InvalidInput

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TARGETS = "urgent=1h/4h, high=4h/8h, normal=8h/24h, low=24h/72h"
_DURATION = re.compile(r"^(\d{1,5})([mhd])$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_WINDOW = re.compile(r"^([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, kw_only=True)
class Targets:
    """The response targets of one priority."""

    first: timedelta
    """Time to first response."""
    next: timedelta
    """Time to every next response."""


def _duration(text: str, setting: str) -> timedelta:
    match = _DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise InvalidInput(f"Setting {setting!r}: {text!r} is not a duration such as 30m, 4h or 2d.")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_targets(text: str, priorities: tuple[str, ...]) -> dict[str, Targets]:
    """``"urgent=1h/4h, ..."`` -> ``{"urgent": Targets(first=1h, next=4h), ...}``; ``InvalidInput`` if malformed."""
    out: dict[str, Targets] = {}
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        name, sep, spec = part.partition("=")
        name = name.strip().lower()
        first, slash, nxt = spec.partition("/")
        if not sep or not slash or name not in priorities:
            raise InvalidInput(
                f"Setting 'response_targets': {part!r} should read PRIORITY=FIRST/NEXT, e.g. urgent=1h/4h, "
                f"with PRIORITY one of {', '.join(priorities)}."
            )
        out[name] = Targets(first=_duration(first, "response_targets"), next=_duration(nxt, "response_targets"))
    return out


@dataclass(frozen=True, kw_only=True)
class Window:
    """Working hours on some weekdays (0 = Monday)."""

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True, kw_only=True)
class BusinessHours:
    """When clocks count. ``windows`` empty: always."""

    windows: tuple[Window, ...] = ()
    zone: ZoneInfo = ZoneInfo("UTC")

    @property
    def always(self) -> bool:
        return not self.windows

    def counted(self, start: datetime, end: datetime) -> timedelta:
        """How much of ``[start, end)`` lies inside business hours."""
        if end <= start:
            return timedelta(0)
        if self.always:
            return end - start
        total = timedelta(0)
        day = start.astimezone(self.zone).date() - timedelta(days=1)  # a window may start the local day before
        last = end.astimezone(self.zone).date()
        while day <= last:
            for w in self.windows:
                if day.weekday() not in w.days:
                    continue
                # Local wall times -> aware instants (DST-correct through zoneinfo).
                lo = datetime.combine(day, w.start, self.zone)
                hi = datetime.combine(day, w.end, self.zone)
                a, b = max(lo, start), min(hi, end)
                if b > a:
                    total += b - a
            day += timedelta(days=1)
        return total


def _time(hour: str, minute: str, part: str) -> time:
    h, m = int(hour), int(minute)
    if h == 24 and m == 0:
        return time.max
    if not (0 <= h < 24 and 0 <= m < 60):
        raise InvalidInput(f"Setting 'business_hours': {part!r} has an impossible time.")
    return time(h, m)


def parse_business_hours(text: str, zone: str = "UTC") -> BusinessHours:
    """``"mon-fri 08:00-17:00, sat 09:00-12:00"`` in ``zone``; empty text means every hour counts."""
    try:
        tz = ZoneInfo(str(zone).strip() or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(f"Setting 'business_timezone': {zone!r} is not a time zone such as Europe/Warsaw.") from exc
    windows = []
    for part in (p.strip().lower() for p in str(text).split(",")):
        if not part:
            continue
        match = _WINDOW.match(part)
        if not match or match.group(1) not in DAYS or (match.group(2) or match.group(1)) not in DAYS:
            raise InvalidInput(
                f"Setting 'business_hours': {part!r} should read like 'mon-fri 08:00-17:00' (days mon..sun)."
            )
        first, last = DAYS.index(match.group(1)), DAYS.index(match.group(2) or match.group(1))
        days = frozenset(range(first, last + 1)) if first <= last else frozenset([*range(first, 7), *range(last + 1)])
        start, end = _time(match.group(3), match.group(4), part), _time(match.group(5), match.group(6), part)
        if end <= start:
            raise InvalidInput(f"Setting 'business_hours': {part!r} ends before it starts.")
        windows.append(Window(days=days, start=start, end=end))
    return BusinessHours(windows=tuple(windows), zone=tz)
