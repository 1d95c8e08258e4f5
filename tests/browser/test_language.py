"""The language of a dashboard: the link's ``lang``, the user's stored choice (the ``cw-lang`` switch), the browser's
``Accept-Language``. Real Chromium against Voilà."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import Store
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.session import Session

from .support import VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
SECRET = "language-browser-secret"
READY = ".cw-app .cw-history .cw-tile"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    data_dir = tmp_path_factory.mktemp("language")
    store = Store(f"sqlite:///{data_dir / 'store.db'}")
    seed_demo(store)
    yield store, data_dir
    store.close()


@pytest.fixture()
def server(world: tuple[Store, Path], voila_server: Callable[..., VoilaServer]) -> VoilaServer:
    store, data_dir = world
    return voila_server(store_url=store.url, secret=SECRET, data_dir=data_dir)


def landmark_label(p: Any, selector: str) -> str:
    p.wait_for_function(f"() => document.querySelector('{selector}[aria-label]') !== null")
    return str(p.locator(selector).get_attribute("aria-label"))


def test_a_polish_link_and_an_english_link(server: VoilaServer, page: Callable[..., Any]) -> None:
    polish = page(server.link("alice", lang="pl"), wait_for=READY)
    wait_for_text(polish.locator(".cw-topbar"), "Konferencje")
    assert landmark_label(polish, ".cw-history") == "Historia rozmów"
    assert polish.locator(".cw-lang select").input_value() == "pl"
    english = page(server.link("alice", lang="en"), wait_for=READY, locale="pl-PL")
    wait_for_text(english.locator(".cw-topbar"), "Conferencing")
    assert landmark_label(english, ".cw-details") == "Details", "the link's language beats the browser's"


def test_the_browser_language_applies_when_nothing_else_says(server: VoilaServer, page: Callable[..., Any]) -> None:
    p = page(server.link("adam"), wait_for=READY, locale="pl-PL")
    wait_for_text(p.locator(".cw-topbar"), "Konferencje")


def test_the_switch_is_kept_per_user(world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]) -> None:
    store, _ = world
    p = page(server.link("bella"), wait_for=READY, locale="en-US")
    wait_for_text(p.locator(".cw-topbar"), "Conferencing")
    with p.expect_navigation():
        p.locator(".cw-lang select").select_option("pl")
    p.wait_for_selector(READY)
    wait_for_text(p.locator(".cw-topbar"), "Konferencje")
    assert "lang=pl" in p.url
    assert Session(None, store, "bella").preferences.get("language") == "pl"
    # Another device, an English browser, a link without lang: bella's own choice wins.
    other = page(server.link("bella"), wait_for=READY, locale="en-US")
    wait_for_text(other.locator(".cw-topbar"), "Konferencje")
    # Someone else is not affected.
    assert Session(None, store, "bruno").preferences.get("language") is None
