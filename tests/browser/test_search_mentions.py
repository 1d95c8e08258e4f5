"""Mentions and search in real Chromium against Voilà, two users in two pages, on SQLite and PostgreSQL.

- mention autocomplete (``@`` opens the members list; arrows, Enter/Tab pick, Esc closes), the ``cw-mention``
  span in the stream, the ``cw-mention-badge`` on the mentioned user's tile (live), the "Mentions" filter;
- search (``cw-search``) with each filter, hostile input, and opening a result that lies pages back in context.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import Service, Settings, Store
from conferencing_widgets.core.model import NewMessage
from conferencing_widgets.files.service import FileService
from conferencing_widgets.whiteboard.service import WhiteboardService

from .support import VoilaServer, case_chat, wait_for_text

BOTH_BACKENDS = True  # conftest runs this module on SQLite and on PostgreSQL

pytestmark = pytest.mark.browser
APP = ".cw-app"
CASE = "SR-2026-00042"

def open_app(page: Callable[..., Any], server: VoilaServer, login: str) -> Any:
    return page(server.link(login), wait_for=f"{APP} .cw-history .cw-tile")


def open_tile(p: Any, title: str) -> None:
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)


def test_mention_autocomplete_badge_and_filter(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Mention {tag}"
    case_chat(store, title)
    alice = open_app(page, server, "alice")
    tom = open_app(page, server, "tom.tech")
    open_tile(alice, title)
    box = alice.locator(".cw-composer textarea")

    # "@" opens the members list; Esc closes it without touching the text.
    box.press_sequentially("Hi @")
    options = alice.locator(".cw-mention-list .cw-mention-option")
    wait_for_text(options.first, "Tom Becker")
    assert options.count() == 1  # members only: no Adam (not in this chat), no one of another company
    box.press("Escape")
    alice.locator(".cw-mention-list").wait_for(state="hidden")
    assert box.input_value() == "Hi @"
    # Typing on reopens it; Tab picks (Enter would too), then Enter sends.
    box.press_sequentially("to")
    wait_for_text(options.first, "Tom Becker")
    box.press("ArrowDown")
    box.press("Tab")
    alice.wait_for_function("() => document.querySelector('.cw-composer textarea').value === 'Hi @tom.tech '")
    box.press_sequentially(f"please check {tag}")
    box.press("Enter")
    mention = alice.locator(".cw-stream .cw-message", has_text=tag).locator(".cw-mention")
    wait_for_text(mention, "@Tom Becker")

    # Tom's tile gets the mention badge live; the Mentions filter keeps only such conversations.
    badge = tom.locator(".cw-tile", has_text=title).locator(".cw-mention-badge")
    wait_for_text(badge, "@1")
    tom.locator(".cw-mentions-filter").click()
    # Only the conversations that mention Tom stay (the demo's spindle chat has one too), this one among them.
    mentioning = [c.conversation.title for c in Service(store, "tom.tech").mention_history(limit=200)]
    assert title in mentioning
    tom.wait_for_function(
        """(titles) => {
          const tiles = [...document.querySelectorAll('.cw-history .cw-tile')];
          return tiles.length === titles.length && titles.every(t => tiles.some(e => e.textContent.includes(t)));
        }""",
        arg=mentioning,
    )
    open_tile(tom, title)
    badge.wait_for(state="detached")
    assert "cw-mentions-me" in (tom.locator(".cw-stream .cw-message", has_text=tag).get_attribute("class") or "")

    # Mentioning someone who is not a member says so and sends nothing.
    box.fill(f"@bella look {tag}-x")
    box.press("Enter")
    wait_for_text(alice.locator(".cw-composer .cw-error"), "is not a member of this conversation")
    assert box.input_value() == f"@bella look {tag}-x"
    alice.assert_no_errors("Failed to load resource")


def seed_search(store: Store, data_dir: Path, tag: str) -> tuple[int, str, int]:
    """A chat with a target message 80 messages back, a file, a board and a mention of Alice."""
    title = f"Search {tag}"
    cid = case_chat(store, title)
    settings = Settings(data_dir=data_dir, posts_per_minute=10_000)
    alice, tom = Service(store, "alice", settings), Service(store, "tom.tech", settings)
    target = alice.post(cid, f"Wrzeciona hałasują przy 6000 obr {tag}")
    for i in range(80):
        store.post_message(NewMessage(conversation_id=cid, body=f"filler {i}"), author="tom.tech")
    tom.post(cid, f"Wrzeciono wymienione {tag}")
    tom.post(cid, f"@alice proszę sprawdzić {tag}")
    FileService(alice).upload_bytes(cid, f"log-{tag}.txt", b"vibration log")
    WhiteboardService(alice).create(cid, f"Sketch {tag}")
    return cid, title, target.id


def search(p: Any, text: str) -> Any:
    """Run a search in the box and wait for its answer (the widget's ``serial`` moves on with each one)."""
    root = p.locator(".cw-search-root")
    before = int(root.get_attribute("data-serial") or 0)
    box = p.locator(".cw-search input")
    box.fill(text)
    box.press("Enter")
    p.wait_for_function("(n) => Number(document.querySelector('.cw-search-root').dataset.serial) > n", arg=before)
    return p.locator(".cw-search .cw-search-result")


def snippets(results: Any) -> list[str]:
    return [t.replace("\xa0", " ") for t in results.locator(".cw-search-snippet").all_inner_texts()]


def test_search_with_each_filter_and_open_in_context(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, data_dir = world
    tag = secrets.token_hex(3)
    cid, title, target = seed_search(store, data_dir, tag)
    alice = open_app(page, server, "alice")
    bella = open_app(page, server, "bella")

    results = search(alice, f"wrzeciono {tag}")  # Polish inflection: wrzeciono finds wrzeciona
    wait_for_text(results.first, "Wrzeciono wymienione")
    assert results.count() == 2 and snippets(results)[1].startswith("Wrzeciona hałasują")
    assert results.first.locator(".cw-search-snippet mark").first.inner_text() == "Wrzeciono"
    assert search(alice, f"halasuja {tag}").count() == 1  # accents folded
    froms = search(alice, f"{tag} from:tom.tech")
    assert froms.count() == 2 and set(froms.locator(".cw-search-result-author").all_inner_texts()) == {"Tom Becker"}
    assert search(alice, f'{tag} in:"{title}"').count() == 5
    assert search(alice, f"{tag} in:{cid} has:file").count() == 1
    assert search(alice, f"{tag} case:{CASE} has:whiteboard").count() == 1
    mentions = search(alice, f"{tag} is:mention")
    assert mentions.count() == 1 and "proszę sprawdzić" in snippets(mentions)[0]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert search(alice, f"{tag} after:{tomorrow}").count() == 0
    wait_for_text(alice.locator(".cw-search .cw-search-status"), "No messages found")
    assert search(alice, f"{tag} before:{tomorrow}").count() == 5
    # Hostile or empty input: a clear error, or nothing found; never another company's messages.
    search(alice, '"*')
    wait_for_text(alice.locator(".cw-search .cw-search-error"), "Nothing to search for")
    assert search(alice, f'{tag} NEAR("x" *) OR 1=1; --').count() == 0
    assert search(bella, f"{tag}").count() == 0

    # Opening a result that lies 80 messages back loads the window around it, highlighted.
    results = search(alice, f"hałas {tag}")
    results.first.click()
    wait_for_text(alice.locator(".cw-messages .cw-area-title"), title)
    focus = alice.locator(f".cw-stream .cw-message.cw-focus[data-id='{target}']")
    wait_for_text(focus, "Wrzeciona hałasują")
    assert alice.locator(".cw-stream .cw-message", has_text=f"@Alice Moreau proszę sprawdzić {tag}").count() == 0
    assert focus.is_visible()
    # Keyboard: Enter on a focused result opens it too.
    results = search(alice, f"wymienione {tag}")
    results.first.focus()
    results.first.press("Enter")
    wait_for_text(alice.locator(".cw-stream .cw-message.cw-focus"), "Wrzeciono wymienione")
    alice.assert_no_errors("Failed to load resource")
