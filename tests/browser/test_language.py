"""The language of a dashboard: the link's ``lang``, the user's stored choice (the ``cw-lang`` switch), the browser's
``Accept-Language``. Real Chromium against Voilà."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import Store
from conferencing_widgets.session import Session

from .support import BROWSER_SECRET, VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
SECRET = BROWSER_SECRET
READY = ".cw-app .cw-history .cw-tile"

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


# -- no English left: a Polish customer's whole app, dialog and whiteboard (issue 15's acceptance) ---------------

# What a person meets on the page: the visible text and the accessible names / hints of the elements.
PAGE_TEXT = """() => {
  const parts = [document.body.innerText];
  for (const el of document.querySelectorAll("[title], [aria-label], [placeholder], [alt]")) {
    for (const a of ["title", "aria-label", "placeholder", "alt"]) {
      if (el.getAttribute(a)) parts.push(el.getAttribute(a));
    }
  }
  return parts.join("\\n");
}"""


def english_on_page(p: Any, words: set[str]) -> list[str]:
    import re

    text = p.evaluate(PAGE_TEXT)
    found = []
    for line in text.splitlines():
        hits = sorted({x for x in re.findall(r"[^\\W\\d_]{3,}", line) if x.lower() in words})
        if hits:
            found.append(f"{hits} in {line[:160]!r}")
    return found


@pytest.fixture(scope="module")
def polish_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path, dict[str, int]]]:
    from test_i18n_complete import seed_polish_world

    data_dir = tmp_path_factory.mktemp("language-pl")
    store = Store(f"sqlite:///{data_dir / 'store.db'}")
    chats = seed_polish_world(store)
    chats["board"] = Session(None, store, "zofia").boards.create(chats["case"]).id
    yield store, data_dir, chats
    store.close()


def test_a_polish_customer_link_leaves_no_english(
    polish_world: tuple[Store, Path, dict[str, int]],
    voila_server: Callable[..., VoilaServer],
    page: Callable[..., Any],
) -> None:
    from test_i18n_complete import english_words

    store, data_dir, chats = polish_world
    server = voila_server(store_url=store.url, secret=SECRET, data_dir=data_dir)
    words = english_words()
    # An English browser: the link's lang decides.
    p = page(server.link("zofia", lang="pl"), wait_for=READY, locale="en-US")
    wait_for_text(p.locator(".cw-topbar"), "Konferencje")
    p.locator(".cw-history .cw-tile").filter(has_text="Drgania wrzeciona").first.click()
    wait_for_text(p.locator(".cw-stream"), "wrzeciono drga")
    assert not english_on_page(p, words), "\n".join(english_on_page(p, words))
    p.locator("button.cw-new-conversation").click()
    wait_for_text(p.locator(".cw-dialog"), "Utwórz konwersację")
    p.locator(".cw-dialog button").filter(has_text="Rozmowa dotycząca zapytania serwisowego").click()
    wait_for_text(p.locator(".cw-dialog"), "Technicy przypisani do zapytania dołączają automatycznie.")
    assert not english_on_page(p, words), "\n".join(english_on_page(p, words))
    board = page(server.link("zofia", notebook="whiteboard.ipynb", board=chats["board"], lang="pl"), locale="en-US")
    board.locator('.cw-wb-count:not([data-ready="0"])').wait_for()
    wait_for_text(board.locator("button.cw-wb-undo"), "Cofnij")
    assert not english_on_page(board, words), "\n".join(english_on_page(board, words))


def test_an_english_link_to_the_same_world_speaks_english(
    polish_world: tuple[Store, Path, dict[str, int]],
    voila_server: Callable[..., VoilaServer],
    page: Callable[..., Any],
) -> None:
    from test_i18n_complete import english_words

    store, data_dir, _chats = polish_world
    server = voila_server(store_url=store.url, secret=SECRET, data_dir=data_dir)
    p = page(server.link("zofia", lang="en"), wait_for=READY, locale="pl-PL")
    wait_for_text(p.locator(".cw-topbar"), "Conferencing")
    p.locator("button.cw-new-conversation").click()
    wait_for_text(p.locator(".cw-dialog"), "Create Conversation")
    assert english_on_page(p, english_words()), "the same check sees English where there is English"


def test_a_polish_technician_on_a_tablet_sees_whole_labels_in_the_case_chat(
    polish_world: tuple[Store, Path, dict[str, int]],
    voila_server: Callable[..., VoilaServer],
    page: Callable[..., Any],
) -> None:
    store, data_dir, _chats = polish_world
    server = voila_server(store_url=store.url, secret=SECRET, data_dir=data_dir)
    p = page(server.link("tomasz", lang="pl"), wait_for=READY, viewport={"width": 768, "height": 1024})
    p.locator(".cw-history .cw-tile").filter(has_text="Drgania wrzeciona").first.click()
    p.locator(".cw-messages .cw-case-status select").select_option(label="rozwiązane")  # sign-off is asked now
    ask = p.locator(".cw-messages .cw-signoff-request")
    wait_for_text(ask, "Poproś o potwierdzenie")
    # Polish labels are longer than English ones: no button of the open chat may cut its label.
    cut = p.evaluate(
        """() => [...document.querySelectorAll('.cw-messages button')]
            .filter((b) => b.offsetParent !== null && b.scrollWidth > b.clientWidth + 1)
            .map((b) => b.textContent.trim())"""
    )
    assert cut == []
