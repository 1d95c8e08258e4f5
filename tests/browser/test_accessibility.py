"""Accessibility, themes and screen sizes in real Chromium against Voilà.

- axe-core (npm, installed by ``make test``) finds no serious or critical violation on the customer's and the
  technician's pages with a conversation open, with the new-conversation dialog open, on a whiteboard, and in the
  dark theme;
- the areas are labelled landmarks, F6 / Shift+F6 move between them, the dialog keeps focus and Esc closes it;
- at 360×640, 768×1024, 1,024×768 and 1,440×900 no control is clipped (its box lies inside the viewport and inside
  every ancestor that clips) and no label overflows its box; narrow screens switch areas with tabs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import ConversationKind, NewMessage, Store
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.config import Settings
from conferencing_widgets.whiteboard.service import WhiteboardService

from .support import BROWSER_SECRET, IN_CI, VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
SECRET = BROWSER_SECRET
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("CW_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "test-artifacts"))

# Every visible control of the app, and whether it lies outside the viewport or a clipping ancestor, or its text
# overflows its box.
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const vw = document.documentElement.clientWidth, vh = window.innerHeight;
  const controls = document.querySelectorAll(
    '.cw-app button, .cw-app textarea, .cw-app input, .cw-app select, .cw-app .cw-composer-hint, .cw-app label');
  for (const n of controls) {
    if (n.offsetParent === null) continue;
    const r = n.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;  // absent, or visually hidden for screen readers only
    const text = (n.textContent || n.placeholder || '').trim().slice(0, 30);
    const name = n.className.toString().slice(0, 50) + ' "' + text + '"';
    // Controls inside a scrolling area (the history, Details, the stream) may lie scrolled out of view: the user
    // scrolls to them. Everything else (toolbars, the composer and its hint) must fit in the viewport and in every
    // ancestor that clips.
    let scrolled = false;
    for (let a = n.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if ((s.overflowY === 'auto' || s.overflowY === 'scroll') && a.scrollHeight > a.clientHeight + 1) {
        scrolled = true; break;
      }
    }
    const outside = r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5;
    if (outside && !scrolled) problems.push('outside viewport: ' + name);
    for (let a = n.parentElement; a && a !== document.body && !scrolled; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const b = a.getBoundingClientRect();
      if (r.left < b.left - 0.5 || r.right > b.right + 0.5 || r.top < b.top - 0.5 || r.bottom > b.bottom + 0.5) {
        problems.push('clipped by ' + a.className.toString().slice(0, 40) + ': ' + name); break;
      }
    }
    if (!['TEXTAREA', 'INPUT', 'SELECT'].includes(n.tagName) && n.scrollWidth > n.clientWidth + 1)
      problems.push('text overflows: ' + name);
  }
  return problems;
}"""

@pytest.fixture(scope="module")
def axe_path() -> Path:
    if not AXE.is_file():
        if IN_CI:
            pytest.fail(f"axe-core is missing at {AXE}: `make test` installs it with npm (package.json).")
        pytest.skip(f"axe-core is not installed ({AXE}); run `npm install` in the repository (make test does).")
    return AXE


def serious_violations(p: Any, axe: Path) -> list[str]:
    p.add_script_tag(path=str(axe))
    found = p.evaluate("async () => (await axe.run({resultTypes: ['violations']})).violations")
    return [
        f"{v['id']} ({v['impact']}): " + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def open_app(page: Callable[..., Any], server: VoilaServer, login: str, **options: Any) -> Any:
    p = page(server.link(login), wait_for=".cw-app .cw-history .cw-tile", **options)
    # The landmarks are set by the page's accessibility helper once the areas exist.
    p.wait_for_function("() => document.querySelector('.cw-details[role=complementary]') !== null")
    return p


def open_first_conversation(p: Any) -> None:
    p.locator(".cw-tile").first.click()
    p.wait_for_selector(".cw-stream .cw-message")


@pytest.mark.parametrize("login", ["alice", "tom.tech"])
@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_nothing_serious_in_the_app_and_dialog(
    server: VoilaServer, page: Callable[..., Any], axe_path: Path, login: str, theme: str
) -> None:
    extra = {"theme": "dark"} if theme == "dark" else {}
    p = page(server.link(login, **extra), wait_for=".cw-app .cw-history .cw-tile")
    # A case chat: the stream, its message actions and the whose-turn chips in History and Details.
    p.locator(".cw-history-case .cw-tile").first.click()
    p.wait_for_selector(".cw-stream .cw-message")
    p.wait_for_selector(".cw-details .cw-turn")
    p.locator(".cw-stream .cw-message").last.hover()  # the actions at full strength
    assert serious_violations(p, axe_path) == []
    p.locator(".cw-stream .cw-message .cw-action-reply").first.focus()
    assert serious_violations(p, axe_path) == []
    p.locator(".cw-new-conversation").click()
    p.wait_for_selector(".cw-dialog .cw-create-conversation")
    assert serious_violations(p, axe_path) == []
    if theme == "dark":
        background = p.evaluate("() => getComputedStyle(document.querySelector('.cw-app')).backgroundColor")
        channels = [int(c) for c in background[background.index("(") + 1 : background.index(")")].split(",")[:3]]
        assert max(channels) < 80, f"the dark theme should give a dark app background, got {background}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(ARTIFACTS / f"dark-theme-{login}.png"))


def test_axe_finds_nothing_serious_on_a_whiteboard(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any], axe_path: Path
) -> None:
    store, data_dir = world
    case = store.get_case_by_number("SR-2026-00042")
    conv = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title="Axe board", created_by="alice", members=["tom.tech"], case_id=case.id
    )
    board = WhiteboardService(Service(store, "alice", Settings(data_dir=data_dir, secret=SECRET))).create(conv.id)
    p = page(server.link("alice", notebook="whiteboard.ipynb", board=board.id), wait_for="canvas.cw-whiteboard-canvas")
    assert serious_violations(p, axe_path) == []


def test_areas_are_landmarks_and_f6_moves_between_them(server: VoilaServer, page: Callable[..., Any]) -> None:
    p = open_app(page, server, "alice")
    roles = p.evaluate(
        "() => ['.cw-history', '.cw-messages', '.cw-details'].map(s => {"
        " const n = document.querySelector(s); return [n.getAttribute('role'), n.getAttribute('aria-label')]; })"
    )
    assert roles == [["navigation", "Conversation history"], ["main", "Messages"], ["complementary", "Details"]]
    open_first_conversation(p)
    p.locator(".cw-composer textarea").focus()
    order = []
    for key in ["F6", "F6", "F6", "Shift+F6"]:
        p.keyboard.press(key)
        order.append(p.evaluate("() => document.activeElement.getAttribute('aria-label')"))
    assert order == ["Details", "Conversation history", "Messages", "Conversation history"]


def test_the_history_is_a_keyboard_list(server: VoilaServer, page: Callable[..., Any]) -> None:
    p = open_app(page, server, "alice")
    tiles = p.locator(".cw-history .cw-tile")
    count = tiles.count()
    assert count >= 2, "the demo gives alice a direct chat and a case chat"
    tiles.first.focus()
    focused = "() => [...document.querySelectorAll('.cw-history .cw-tile')].indexOf(document.activeElement)"
    p.keyboard.press("ArrowDown")
    assert p.evaluate(focused) == 1, "ArrowDown crosses from the direct chats into the case chats"
    p.keyboard.press("ArrowUp")
    assert p.evaluate(focused) == 0
    p.keyboard.press("End")
    assert p.evaluate(focused) == count - 1
    p.keyboard.press("Home")
    assert p.evaluate(focused) == 0
    title = tiles.first.locator(".cw-tile-title").inner_text()
    p.keyboard.press("Enter")
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    # Focus follows into the opened conversation: its composer, ready to type and send without the mouse.
    p.wait_for_function("() => document.activeElement && document.activeElement.matches('.cw-composer textarea')")
    p.keyboard.type("Sent without a mouse")
    p.keyboard.press("Enter")
    wait_for_text(p.locator(".cw-stream"), "Sent without a mouse")


def test_the_dialog_keeps_focus_and_esc_closes_it(server: VoilaServer, page: Callable[..., Any]) -> None:
    p = open_app(page, server, "alice")
    p.locator(".cw-new-conversation").click()
    dialog = p.locator(".cw-dialog")
    p.wait_for_function("() => document.querySelector('.cw-dialog').contains(document.activeElement)")
    assert dialog.get_attribute("role") == "dialog"
    for _ in range(12):  # more Tabs than the dialog has controls: focus never leaves it
        p.keyboard.press("Tab")
        assert p.evaluate("() => document.querySelector('.cw-dialog').contains(document.activeElement)")
    for _ in range(3):
        p.keyboard.press("Shift+Tab")
        assert p.evaluate("() => document.querySelector('.cw-dialog').contains(document.activeElement)")
    p.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert p.evaluate("() => document.activeElement.classList.contains('cw-new-conversation')")


@pytest.mark.parametrize(("width", "height"), [(360, 640), (768, 1024), (1024, 768), (1440, 900)])
def test_nothing_is_clipped_at_common_screen_sizes(
    server: VoilaServer, page: Callable[..., Any], width: int, height: int
) -> None:
    p = open_app(page, server, "alice", viewport={"width": width, "height": height})
    narrow = width <= 768
    open_first_conversation(p)
    if narrow:  # one area at a time: opening a conversation shows its messages
        assert p.locator(".cw-history").is_hidden() and p.locator(".cw-details").is_hidden()
        assert p.locator(".cw-area-tab-messages").get_attribute("aria-selected") == "true"
    else:
        assert p.locator(".cw-area-tabs").is_hidden()
        assert p.locator(".cw-history").is_visible() and p.locator(".cw-details").is_visible()
    assert p.locator(".cw-composer-hint").is_visible()
    assert p.evaluate(LAYOUT_PROBLEMS) == []
    if narrow:
        p.locator(".cw-area-tab-details").click()
        wait_for_text(p.locator(".cw-details"), "Members")
        assert p.evaluate(LAYOUT_PROBLEMS) == []
        p.locator(".cw-area-tab-history").click()
    p.locator(".cw-new-conversation").click()
    p.wait_for_selector(".cw-dialog .cw-create-conversation")
    assert p.evaluate(LAYOUT_PROBLEMS) == []


def test_on_a_tablet_every_way_of_opening_a_conversation_shows_its_messages(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    # A tile switches to the Messages tab in the page; the dialog and a search result open through the kernel.
    store, _ = world
    word = f"tabletword{os.getpid()}"
    conv = store.create_conversation(
        kind=ConversationKind.DIRECT, title=f"Shelf {word}", created_by="alice", members=["adam"]
    )
    store.post_message(NewMessage(conversation_id=conv.id, body=f"The {word} is on the shelf."), author="alice")
    p = open_app(page, server, "alice", viewport={"width": 768, "height": 1024})
    messages_tab = p.locator(".cw-area-tab-messages")

    p.locator(".cw-new-conversation").click()
    p.wait_for_selector(".cw-dialog .cw-create-conversation")
    title = f"Tablet chat {os.getpid()}"
    p.locator(".cw-dialog input[type=text]").fill(title)
    p.locator(".cw-dialog select[multiple] option").first.click()
    p.locator(".cw-dialog .cw-create-conversation").click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    p.wait_for_function("() => document.querySelector('.cw-area-tab-messages').ariaSelected === 'true'")
    assert p.locator(".cw-history").is_hidden() and p.locator(".cw-messages .cw-composer").is_visible()

    p.locator(".cw-area-tab-history").click()
    assert messages_tab.get_attribute("aria-selected") == "false"
    box = p.locator(".cw-search input")
    box.fill(word)
    box.press("Enter")
    result = p.locator(".cw-search .cw-search-result").first
    result.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), conv.title)
    p.wait_for_function("() => document.querySelector('.cw-area-tab-messages').ariaSelected === 'true'")
    assert p.locator(".cw-history").is_hidden()
