"""Preferences (language, read receipts) and how the viewer's language is chosen: link, preference, browser,
setting."""

from __future__ import annotations

import pytest
from support import World

from conferencing_widgets.core.errors import InvalidInput, PermissionDenied
from conferencing_widgets.core.i18n import choose_language, current_language, from_accept_language, set_language
from conferencing_widgets.session import Session
from conferencing_widgets.voila.dashboard import _visit


@pytest.fixture(autouse=True)
def _english_afterwards() -> object:
    yield
    set_language("en")


def test_first_match_wins() -> None:
    assert choose_language(link="pl", preference="en", accept_language="en", default="en") == "pl"
    assert choose_language(link=None, preference="pl", accept_language="en-US", default="en") == "pl"
    assert choose_language(link="xx", preference=None, accept_language="de-DE, pl;q=0.8, en;q=0.5") == "pl"
    assert choose_language(default="pl") == "pl"
    assert choose_language(link="klingon", default="also-unknown") == "en"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("pl-PL,pl;q=0.9,en-US;q=0.8,en;q=0.7", "pl"),
        ("en-US,en;q=0.9,pl;q=0.8", "en"),
        ("de;q=1.0, en;q=0.2, pl;q=0.5", "pl"),
        ("pl;q=0", None),  # q=0 means "not acceptable"
        ("*", None),
        ("", None),
        (None, None),
        ("pl;q=abc, en", "en"),
        ("<script>alert(1)</script>", None),
        ("de," * 10_000 + "pl", None),  # only the first 1,000 characters are read
    ],
)
def test_accept_language_header(header: str | None, expected: str | None) -> None:
    assert from_accept_language(header) == expected


def test_preferences_default_then_stored(seeded: World) -> None:
    alice = Session(None, seeded.store, "alice").preferences
    assert alice.all() == {"language": None, "receipts": "on"}
    assert alice.set("language", "PL") == "pl"
    assert alice.set("receipts", "off") == "off"
    assert alice.all() == {"language": "pl", "receipts": "off"}
    assert alice.set("language", "en") == "en"
    assert alice.get("language") == "en"
    assert alice.set("language", None) is None, "None goes back to the default"
    # One user's choice is theirs alone.
    assert Session(None, seeded.store, "bella").preferences.all() == {"language": None, "receipts": "on"}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("language", "de"),
        ("language", ""),
        ("language", "pl" * 100),
        ("language", 7),
        ("receipts", "maybe"),
        ("receipts", "<img src=x onerror=alert(1)>"),
        ("theme'; DROP TABLE users; --", "on"),
        ("", "on"),
    ],
)
def test_bad_preferences_are_refused_and_nothing_is_written(seeded: World, key: str, value: object) -> None:
    prefs = Session(None, seeded.store, "alice").preferences
    before = seeded.snapshot()
    with pytest.raises(InvalidInput, match="preference|valid value"):
        prefs.set(key, value)
    assert seeded.snapshot() == before


def test_a_disabled_user_has_no_preferences(seeded: World) -> None:
    with pytest.raises(PermissionDenied):
        Session(None, seeded.store, "dora").preferences.set("language", "pl")


def test_the_dashboard_speaks_the_links_language_then_the_users_choice(seeded: World, monkeypatch) -> None:
    from datetime import timedelta

    from conferencing_widgets.core.config import Settings
    from conferencing_widgets.core.identity import make_token

    settings = Settings(store=seeded.store.url, secret="s" * 32)
    token = make_token("alice", settings.secret, timedelta(hours=1))
    monkeypatch.setenv("HTTP_ACCEPT_LANGUAGE", "en-US,en;q=0.9")
    _visit(f"token={token}&lang=pl", settings)
    assert current_language() == "pl"
    _visit(f"token={token}", settings)
    assert current_language() == "en", "the browser's English when the link names no language"
    Session(settings, seeded.store, "alice").preferences.set("language", "pl")
    _visit(f"token={token}", settings)
    assert current_language() == "pl", "the stored choice beats the browser"
    _visit(f"token={token}&lang=en", settings)
    assert current_language() == "en", "the link beats the stored choice"
