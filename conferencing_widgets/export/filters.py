"""The export's filter options (since / until / groups / cases / kind): parsing and validation.

A date range (``since`` inclusive, ``until`` exclusive; a date-only ``until`` includes that whole day);
``groups``, ``cases`` and ``kind`` select conversations. How each table applies them is in ``store.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.model import ConversationKind
from conferencing_widgets.export.tables import as_tuple

if TYPE_CHECKING:
    from conferencing_widgets.chat.service import Service
    from conferencing_widgets.store import Store


@dataclass(frozen=True, kw_only=True)
class ExportFilter:
    """A validated selection: what to export, before the user's access rights are applied."""

    since: datetime | None = None
    """Earliest time included (UTC)."""
    until: datetime | None = None
    """First time excluded (UTC)."""
    groups: tuple[str, ...] = ()
    """Customer groups (conversation groups); empty means all."""
    case_ids: tuple[int, ...] = ()
    """Service case ids; empty means all."""
    kind: ConversationKind | None = None
    """Only direct or only service case conversations."""
    notes: bool = True
    """Include internal notes where the user may read them; ``False`` for an export to hand to a customer."""

    @property
    def has_dates(self) -> bool:
        """Whether a date range is set."""
        return self.since is not None or self.until is not None


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(value: str | date | datetime | None, *, end: bool = False) -> datetime | None:
    """A UTC datetime from ISO text, a date or a datetime (naive means UTC).

    With ``end=True`` a date without a time means the end of that day (the next midnight), so
    ``until=2026-03-31`` includes March 31.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_ONLY.match(text):
                value = date.fromisoformat(text)
            else:
                value = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
        except ValueError as exc:
            raise InvalidInput(
                f"Not a date or time: {text!r}. Use ISO format such as 2026-03-01 or 2026-03-01T12:00Z."
            ) from exc
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        start = datetime.combine(value, time(0), tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    raise InvalidInput(f"Not a date or time: {value!r}. Use ISO format such as 2026-03-01.")


def make_filter(
    store: Store,
    *,
    service: Service | None = None,
    since: str | date | datetime | None = None,
    until: str | date | datetime | None = None,
    groups: str | Iterable[str] | None = None,
    cases: int | str | Iterable[int | str] | None = None,
    kind: ConversationKind | str | None = None,
    notes: bool = True,
) -> ExportFilter:
    """Validate and resolve the filter options (case numbers to ids, group ids checked).

    Unknown groups and cases raise ``NotFound``; with a ``service``, so do cases that user may not see.
    """
    start, stop = parse_time(since), parse_time(until, end=True)
    if start is not None and stop is not None and start >= stop:
        raise InvalidInput(f"The date range is empty: since {start:%Y-%m-%d %H:%M} is not before until.")
    group_ids = tuple(dict.fromkeys(str(g).strip() for g in as_tuple(groups)))
    for gid in group_ids:
        store.get_group(gid)
    case_ids: list[int] = []
    for ref in as_tuple(cases):
        text = str(ref).strip()
        case = store.get_case(int(text)) if text.isdigit() else store.get_case_by_number(text)
        if service is not None:
            case = service.case(case.id)
        case_ids.append(case.id)
    conv_kind: ConversationKind | None = None
    if kind not in (None, ""):
        try:
            conv_kind = ConversationKind(kind)
        except ValueError as exc:
            raise InvalidInput(f"Unknown conversation kind {kind!r}: use 'direct' or 'service_case'.") from exc
    return ExportFilter(
        since=start,
        until=stop,
        groups=group_ids,
        case_ids=tuple(dict.fromkeys(case_ids)),
        kind=conv_kind,
        notes=bool(notes),
    )
