"""Times for people: in the viewer's time zone and language, formatted with Babel.

One kernel serves one viewer, so the viewer's zone is process-wide like the language (``set_timezone``; the
browser reports ``Intl.DateTimeFormat().resolvedOptions().timeZone``). Stored times are UTC; transcripts and
exports keep UTC ISO 8601 and do not use this module.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_time, format_timedelta

from conferencing_widgets.core.i18n import _, current_language, language

_zone: tzinfo = UTC

# Polish writes dates like "1 gru 2026" and uses the 24-hour clock; English follows CLDR's medium forms.
_DATE = {"pl": "d MMM y", "en": "medium"}
_DATETIME = {"pl": "d MMM y, HH:mm", "en": "MMM d, y, h:mm a"}
_TIME = {"pl": "HH:mm", "en": "short"}


def zone_of(name: str | None) -> tzinfo | None:
    """The IANA zone called ``name`` (``Europe/Warsaw``), or None for a missing or unknown name."""
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def set_timezone(name: str | None) -> str:
    """Show times in zone ``name`` from now on (unknown names keep UTC); returns the zone's name."""
    global _zone
    _zone = zone_of(name) or UTC
    return viewer_timezone()


def viewer_timezone() -> str:
    """The name of the zone times are shown in."""
    return str(getattr(_zone, "key", "UTC"))


def local(moment: datetime) -> datetime:
    """``moment`` (UTC if naive, as the store gives it) in the viewer's zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone)


def _lang(lang: str | None) -> str:
    return lang or current_language()


def short_time(moment: datetime, *, lang: str | None = None) -> str:
    """``14:05`` (Polish) or ``2:05 PM`` (English), in the viewer's zone."""
    code = _lang(lang)
    return format_time(local(moment), _TIME.get(code, "short"), locale=code)


def day(moment: datetime, *, lang: str | None = None) -> str:
    """``1 gru 2026`` or ``Dec 1, 2026``, in the viewer's zone."""
    code = _lang(lang)
    return format_date(local(moment), _DATE.get(code, "medium"), locale=code)


def date_time(moment: datetime, *, lang: str | None = None) -> str:
    """``1 gru 2026, 14:05`` or ``Dec 1, 2026, 2:05 PM``, in the viewer's zone."""
    code = _lang(lang)
    return format_datetime(local(moment), _DATETIME.get(code, "medium"), locale=code)


def relative(moment: datetime, *, now: datetime | None = None, lang: str | None = None) -> str:
    """``5 min ago`` / ``5 min temu``; under a minute says ``now`` in the viewer's language."""
    code = _lang(lang)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    delta = moment - now
    if abs(delta.total_seconds()) < 60:
        with language(code):
            return _("just now")
    return format_timedelta(delta, threshold=1.1, add_direction=True, format="short", locale=code)
