"""The language switch (``cw-lang``) and the translated landmarks, without a browser."""

from __future__ import annotations

from support import World

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.i18n import language
from conferencing_widgets.session import Session
from conferencing_widgets.ui.a11y import area_labels
from conferencing_widgets.ui.app import ConferencingApp


def test_choosing_a_language_stores_it_and_says_what_happens(seeded: World) -> None:
    app = ConferencingApp(Service(seeded.store, "alice"), live=False)
    try:
        assert "cw-lang" in app.language._dom_classes
        assert app.language.value == "en"
        assert app.language.choose("pl") == "pl"
        assert Session(None, seeded.store, "alice").preferences.get("language") == "pl"
        assert "Run the cell again" in app.language.message
        before = seeded.snapshot()
        assert app.language.choose("<script>") is None
        assert "not a valid value" in app.language.message
        assert seeded.snapshot() == before
    finally:
        app.close()


def test_landmarks_are_labelled_in_the_viewers_language() -> None:
    with language("pl"):
        labels = area_labels()
    assert labels[".cw-history"] == ["navigation", "Historia rozmów"]
    assert labels[".cw-details"] == ["complementary", "Szczegóły"]
    assert area_labels()[".cw-messages"] == ["main", "Messages"]


def test_the_browsers_time_zone_becomes_the_viewers(seeded: World) -> None:
    from conferencing_widgets.core import timefmt

    app = ConferencingApp(Service(seeded.store, "alice"), live=False)
    try:
        app.open_conversation(seeded.acme_direct)
        app.accessibility.timezone = "Europe/Warsaw"  # what assets/a11y.js reports from Intl.DateTimeFormat
        assert timefmt.viewer_timezone() == "Europe/Warsaw"
        app.accessibility.timezone = "Not/AZone"
        assert timefmt.viewer_timezone() == "UTC"
    finally:
        timefmt.set_timezone(None)
        app.close()
