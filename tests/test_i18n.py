"""Languages and times: catalogue loading, Polish plural forms, dates in the viewer's zone and language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conferencing_widgets.core import i18n, timefmt
from conferencing_widgets.core.i18n import _, current_language, language, set_language, supported
from conferencing_widgets.files.names import human_size


@pytest.fixture(autouse=True)
def _restore() -> object:
    yield
    set_language("en")
    timefmt.set_timezone(None)


@pytest.mark.parametrize(
    ("n", "polish"),
    [(1, "1 bajt"), (2, "2 bajty"), (4, "4 bajty"), (5, "5 bajtów"), (12, "12 bajtów"), (22, "22 bajty"),
     (25, "25 bajtów"), (101, "101 bajtów"), (0, "0 bajtów")],
)
def test_polish_has_three_plural_forms(n: int, polish: str) -> None:
    with language("pl"):
        assert human_size(n) == polish
    assert human_size(n) == f"{n} byte" + ("" if n == 1 else "s")


def test_language_codes_reduce_to_shipped_languages() -> None:
    assert supported("pl-PL") == "pl"
    assert supported("PL_pl") == "pl"
    assert supported("en-US") == "en"
    assert supported("de") is None
    assert supported("") is None
    assert supported(None) is None
    assert set_language("fr") == "en", "an unknown language keeps the default"


def test_language_block_restores_the_previous_language() -> None:
    set_language("pl")
    with language("en"):
        assert current_language() == "en"
        assert _("just now") == "just now"
    assert current_language() == "pl"
    assert _("just now") == "przed chwilą"


def test_a_missing_mo_is_compiled_from_the_po(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # A checkout where `make install` did not compile the catalogue still speaks Polish.
    import shutil
    from pathlib import Path

    root = Path(str(tmp_path))
    target = root / "pl" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(i18n.LOCALE_DIR / "pl" / "LC_MESSAGES" / "conferencing.po", target)
    monkeypatch.setattr(i18n, "LOCALE_DIR", root)
    i18n.translations.cache_clear()
    try:
        assert not (target / "conferencing.mo").exists()
        assert i18n.translations("pl").ngettext("{n} byte", "{n} bytes", 5) == "{n} bajtów"
    finally:
        i18n.translations.cache_clear()


MOMENT = datetime(2026, 12, 1, 14, 5)  # naive UTC, as the store gives it


def test_polish_dates_and_24_hour_clock_in_warsaw() -> None:
    assert timefmt.set_timezone("Europe/Warsaw") == "Europe/Warsaw"
    assert timefmt.short_time(MOMENT, lang="pl") == "15:05"
    assert timefmt.day(MOMENT, lang="pl") == "1 gru 2026"
    assert timefmt.date_time(MOMENT, lang="pl") == "1 gru 2026, 15:05"


def test_english_times_in_chicago() -> None:
    timefmt.set_timezone("America/Chicago")
    assert timefmt.short_time(MOMENT, lang="en") == "8:05\u202fAM"
    assert timefmt.day(MOMENT, lang="en") == "Dec 1, 2026"
    # Near midnight UTC the viewer's day differs from UTC's.
    assert timefmt.day(datetime(2026, 12, 2, 3, 0), lang="en") == "Dec 1, 2026"


def test_unknown_or_hostile_zone_names_keep_utc() -> None:
    for name in ["Mars/Olympus", "../../etc/passwd", "", "x" * 10_000, None]:
        assert timefmt.set_timezone(name) == "UTC"
    assert timefmt.short_time(MOMENT, lang="pl") == "14:05"


def test_relative_times_in_both_languages() -> None:
    now = MOMENT.replace(tzinfo=UTC)
    assert timefmt.relative(MOMENT - timedelta(minutes=5), now=now, lang="pl") == "5 min temu"
    assert timefmt.relative(MOMENT - timedelta(minutes=5), now=now, lang="en") == "5 min. ago"
    assert timefmt.relative(MOMENT - timedelta(seconds=20), now=now, lang="pl") == "przed chwilą"
    assert timefmt.relative(MOMENT - timedelta(seconds=20), now=now, lang="en") == "just now"
    assert timefmt.relative(MOMENT - timedelta(hours=3), now=now, lang="pl") == "3 godz. temu"


def test_views_show_times_in_the_viewers_zone_and_language() -> None:
    from conferencing_widgets.ui.templates import environment

    moment = datetime(2026, 12, 1, 23, 30)  # naive UTC: already 2 December in Warsaw
    template = environment().from_string('<time datetime="{{ t|iso_utc }}">{{ t|local_time }}</time>')
    timefmt.set_timezone("Europe/Warsaw")
    with language("pl"):
        assert template.render(t=moment) == '<time datetime="2026-12-01T23:30:00+00:00">2 gru 2026, 00:30</time>'
    timefmt.set_timezone("America/Chicago")
    with language("en"):
        shown = template.render(t=moment)
        assert shown == '<time datetime="2026-12-01T23:30:00+00:00">Dec 1, 2026, 5:30 PM</time>'
