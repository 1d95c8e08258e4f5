"""Every catalogued XSS payload, put into every place a user can type or name something, stays inert in the real
dashboard (headless Chromium against a live Voilà server).

Places: message bodies, edited message bodies, reply quotes (the first line of a replied-to message), conversation
titles, display names (also as who reacted), service case titles, file names, whiteboard titles and whiteboard text
labels. Reaction emoji refuse every payload (``tests/test_chat_actions.py``), so chips here carry real emoji.
Payloads enter the way users and operators enter them: through the service layer (titles,
messages, files, boards, labels) and through ``conferencing load``'s loader (display names, case titles). A payload
the service refuses (an empty or over-long title, say) must be refused with ``InvalidInput`` and write nothing.

Zero payloads may execute: no ``window.__xss`` marker, no dialog, no popup, no request to a payload's URL
(``127.0.0.1:9`` beacons or any other host), and no uncaught page error. The layout must stay intact: the three
areas keep the boxes they have with a harmless conversation open.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from support import load_xss_payloads  # tests/support.py

from conferencing_widgets import ConversationKind, InvalidInput, Service, Settings, Store
from conferencing_widgets.chat.cleaning import clean_title
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.files.service import FileService
from conferencing_widgets.loader import load_file
from conferencing_widgets.whiteboard.service import WhiteboardService

from .support import VoilaServer, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SECRET = "xss-browser-secret"
CHUNK = 16
"""Payloads per hostile chat: 16 messages + 16 file messages + 16 board messages fit one 50-row page."""
APP = ".cw-app"
AREAS = (".cw-history", ".cw-messages", ".cw-details")

# Poke what the payloads became: hover, focus and pointer events on every element of the app; click every link
# that is not a plain http(s)/mailto link (a sanitiser slip would leave javascript:/data: links to click).
_POKE_JS = """
async () => {
  const app = document.querySelector('.cw-app');
  const types = ['pointerover', 'pointerenter', 'mouseover', 'mouseenter', 'mousemove', 'focusin', 'mouseout'];
  const all = Array.from(app.querySelectorAll('*'));
  for (const el of all) {
    for (const t of types) el.dispatchEvent(new MouseEvent(t, { bubbles: true, cancelable: true }));
  }
  let clicked = 0;
  for (const a of app.querySelectorAll('a[href]')) {
    if (!/^(https?|mailto):$/.test(a.protocol)) { a.click(); clicked += 1; }
  }
  await new Promise((r) => setTimeout(r, 300));
  return { elements: all.length, clicked };
}
"""


@dataclass
class HostileWorld:
    store: Store
    data_dir: Path
    payloads: list[str]
    chats: list[int] = field(default_factory=list)
    """The conversations holding messages, files and boards of ``CHUNK`` payloads each."""
    edit_chats: list[int] = field(default_factory=list)
    """The conversations holding ``CHUNK`` messages edited to a payload each, with a reply quoting each."""
    titles: list[str] = field(default_factory=list)
    """Accepted conversation titles, as stored (several payloads may clean to the same title)."""
    refused: dict[str, list[str]] = field(default_factory=dict)
    """Place -> payloads the service refused there (each with a clear InvalidInput)."""
    label_board: int = 0
    control_chat: int = 0
    expected_rows: dict[int, int] = field(default_factory=dict)


def _settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, secret=SECRET, posts_per_minute=10_000)


def _refusing(world: HostileWorld, place: str, payload: str, action: Callable[[], Any]) -> Any:
    """Run one user action; a refusal must be InvalidInput with a message, and is recorded."""
    try:
        return action()
    except InvalidInput as exc:
        assert str(exc).strip(), f"{place}: a refusal without a message"
        world.refused.setdefault(place, []).append(payload)
        return None


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileWorld]:
    data_dir = tmp_path_factory.mktemp("xss")
    store = Store(f"sqlite:///{data_dir / 'store.db'}")
    seed_demo(store)
    payloads = load_xss_payloads()
    w = HostileWorld(store=store, data_dir=data_dir, payloads=payloads)
    settings = _settings(data_dir)
    alice = Service(store, "alice", settings)

    # Display names and case titles come from the operator's loader (``conferencing load``). Names that clean to
    # nothing are refused there; the file is loaded without them.
    users, cases = [], []
    for i, p in enumerate(payloads):
        try:
            clean_title(p)
        except InvalidInput:
            w.refused.setdefault("display name", []).append(p)
            w.refused.setdefault("case title", []).append(p)
            continue
        users.append({"login": f"x{i}", "display_name": p, "group": "acme", "role": "customer"})
        cases.append({"number": f"SR-XSS-{i:03d}", "title": p, "group": "acme"})
    refused_file = data_dir / "refused.json"
    refused_file.write_text(
        json.dumps({"users": [{"login": "bad", "display_name": "\u200b \u202e", "group": "acme", "role": "customer"}]})
    )
    with pytest.raises(InvalidInput, match="display name"):
        load_file(store, refused_file)
    assert "bad" not in {u.login for u in store.users()}  # nothing half-loaded
    people_file = data_dir / "people.json"
    people_file.write_text(json.dumps({"users": users, "cases": cases}))
    load_file(store, people_file)
    has_user = {u["login"] for u in users}

    # Conversation titles: one case chat per payload, about that payload's case.
    for i, p in enumerate(payloads):
        if f"x{i}" not in has_user:
            continue
        case = store.get_case_by_number(f"SR-XSS-{i:03d}")
        conv = _refusing(
            w,
            "conversation title",
            p,
            lambda p=p, case=case: alice.create_conversation(kind="service_case", title=p, members=[], case_id=case.id),
        )
        if conv is not None:
            w.titles.append(conv.title)

    # Messages, file names and board titles: chats of CHUNK payload authors each.
    for start in range(0, len(payloads), CHUNK):
        chunk = [(i, p) for i, p in enumerate(payloads[start : start + CHUNK], start) if f"x{i}" in has_user]
        conv = alice.create_conversation(
            kind=ConversationKind.DIRECT,
            title=f"Hostile chat {start // CHUNK + 1:02d}",
            members=[f"x{i}" for i, _ in chunk],
        )
        rows = 0
        for i, p in chunk:
            author = Service(store, f"x{i}", settings)
            for place, action in (
                ("message body", partial(author.post, conv.id, p)),
                ("file name", partial(FileService(author).upload_bytes, conv.id, p, b"hostile\n")),
                ("whiteboard title", partial(WhiteboardService(author).create, conv.id, p)),
            ):
                if _refusing(w, place, p, action) is not None:
                    rows += 1
        # Mentions of every author of the chunk: their (hostile) display names render as cw-mention spans.
        alice.post(conv.id, "Ping " + " ".join(f"@x{i}" for i, _ in chunk))
        rows += 1
        w.chats.append(conv.id)
        w.expected_rows[conv.id] = rows

    # Edited bodies and reply quotes: each payload author posts, then edits the message to the payload, reacts to
    # it (so their payload display name is in the chip's who-reacted), and alice replies quoting it.
    for start in range(0, len(payloads), CHUNK):
        chunk = [(i, p) for i, p in enumerate(payloads[start : start + CHUNK], start) if f"x{i}" in has_user]
        conv = alice.create_conversation(
            kind=ConversationKind.DIRECT,
            title=f"Edited chat {start // CHUNK + 1:02d}",
            members=[f"x{i}" for i, _ in chunk],
        )
        rows = 0
        for i, p in chunk:
            author = Service(store, f"x{i}", settings)
            msg = author.post(conv.id, "a harmless first draft")
            rows += 1
            if _refusing(w, "edited body", p, partial(author.edit_message, msg.id, p)) is None:
                continue
            author.react(msg.id, "👍")
            alice.post(conv.id, "quoting it", reply_to=msg.id)
            rows += 1
        w.edit_chats.append(conv.id)
        w.expected_rows[conv.id] = rows

    # Whiteboard text labels: every payload on one board, whose own title is a payload too.
    boards = WhiteboardService(alice)
    board = boards.create(w.chats[0], payloads[0])
    w.expected_rows[w.chats[0]] += 1
    for n, p in enumerate(payloads):
        at = [40.0 + 300 * (n % 3), 20.0 + 2.4 * n]
        _refusing(
            w,
            "whiteboard label",
            p,
            lambda p=p, at=at: boards.add_stroke(board.id, "text", [at], color="#1f2937", width=2, text=p),
        )
    w.label_board = board.id

    w.control_chat = alice.create_conversation(kind=ConversationKind.DIRECT, title="Control chat", members=["adam"]).id
    alice.post(w.control_chat, "A harmless message.")
    yield w
    store.close()


@pytest.fixture()
def server(world: HostileWorld, voila_server: Callable[..., VoilaServer]) -> VoilaServer:
    return voila_server(store_url=world.store.url, secret=SECRET, data_dir=world.data_dir)


def boxes(p: Any) -> list[dict[str, float]]:
    return [p.locator(f"{APP} {sel}").first.bounding_box() for sel in AREAS]


def open_chat(p: Any, title: str) -> None:
    """Click the tile titled exactly ``title``; click again if a live re-render of the list swallowed the click."""
    exact = re.compile(f"^{re.escape(title)}$")
    tile = p.locator(".cw-tile").filter(has=p.locator(".cw-tile-title", has_text=exact)).first
    heading = p.locator(".cw-messages .cw-area-title").filter(has_text=exact)
    for _attempt in range(3):
        tile.click()
        try:
            heading.wait_for(state="visible", timeout=10_000)
            return
        except PlaywrightError:
            continue
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title, timeout_ms=1)


def assert_inert(p: Any, where: str) -> None:
    poked = p.evaluate(_POKE_JS)
    assert poked["elements"] > 0
    assert poked["clicked"] == 0, f"{where}: {poked['clicked']} non-http link(s) survived sanitising"
    assert p.evaluate("typeof window.__xss") == "undefined", f"{where}: a payload ran script"
    assert p.dialogs == [], f"{where}: dialogs {p.dialogs}"
    beacons = [url for _m, url in p.requests if "127.0.0.1:9/" in url or "xss" in url.lower()]
    assert beacons == [], f"{where}: requests to payload URLs {beacons}"
    foreign = [url for url in p.external_requests if "cdn.jsdelivr.net" not in url]
    assert foreign == [], f"{where}: requests to other hosts {foreign}"
    assert p.page_errors == [], f"{where}: page errors {p.page_errors}"
    assert len(p.context.pages) == 1, f"{where}: a payload opened a window"


def test_refusals_are_few_and_clear(world: HostileWorld) -> None:
    # Only payloads that clean to nothing or exceed a limit may be refused; the rest must be stored and shown.
    accepted_titles = len(world.titles)
    assert accepted_titles >= len(world.payloads) * 0.9, world.refused.get("conversation title")
    for place, refused in world.refused.items():
        assert len(refused) <= len(world.payloads) * 0.1, (place, refused)


def test_every_payload_stays_inert_in_the_dashboard(
    world: HostileWorld, server: VoilaServer, page: Callable[..., Any]
) -> None:
    p = page(server.link("alice"), wait_for=f"{APP} .cw-history .cw-tile", viewport={"width": 1400, "height": 900})
    open_chat(p, "Control chat")
    baseline = boxes(p)
    assert all(b and b["width"] > 150 and b["height"] > 100 for b in baseline), baseline

    # Conversation titles, case titles and display names (last author) in the history tiles: show them all.
    cases = p.locator(".cw-history-case")
    more = cases.locator(".cw-load-more")
    while more.is_visible():
        shown = cases.locator(".cw-tile").count()
        more.click()
        p.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length > n", arg=[".cw-history-case .cw-tile", shown]
        )
    tile_titles = set(cases.locator(".cw-tile-title").all_text_contents())
    missing = [t for t in set(world.titles) if t not in tile_titles]
    assert not missing, f"titles not shown as text: {missing[:5]}"
    case_texts = cases.locator(".cw-tile-case").all_text_contents()
    assert sum(t.startswith("SR-XSS-") for t in case_texts) == len(world.titles)
    assert_inert(p, "history")

    # Messages, display names, file names and board titles, chat by chat.
    for n, cid in enumerate(world.chats, 1):
        open_chat(p, f"Hostile chat {n:02d}")
        rows = p.locator(".cw-stream .cw-message")
        p.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length === n",
            arg=[".cw-stream .cw-message", world.expected_rows[cid]],
        )
        assert rows.count() == world.expected_rows[cid]
        assert p.locator(".cw-stream script, .cw-details script, .cw-stream iframe, .cw-stream svg").count() == 0
        assert_inert(p, f"hostile chat {n}")
        assert boxes(p) == baseline, f"hostile chat {n} moved the areas"

    # Edited bodies, reply quotes and who-reacted, chat by chat.
    for n, cid in enumerate(world.edit_chats, 1):
        open_chat(p, f"Edited chat {n:02d}")
        p.wait_for_function(
            "([sel, n]) => document.querySelectorAll(sel).length === n",
            arg=[".cw-stream .cw-message", world.expected_rows[cid]],
        )
        assert p.locator(".cw-stream .cw-reply-quote").count() > 0 and p.locator(".cw-stream .cw-edited").count() > 0
        assert p.locator(".cw-stream script, .cw-stream iframe, .cw-stream svg").count() == 0
        assert_inert(p, f"edited chat {n}")
        assert boxes(p) == baseline, f"edited chat {n} moved the areas"

    # The text labels, drawn on the board's canvas, and its payload title.
    board = page(
        server.link("alice", notebook="whiteboard.ipynb", board=world.label_board),
        wait_for="canvas.cw-whiteboard-canvas",
    )
    board.locator('.cw-wb-count:not([data-ready="0"])').wait_for(timeout=60_000)
    labels = len(world.payloads) - len(world.refused.get("whiteboard label", []))
    board.locator(f'.cw-wb-count[data-strokes="{labels}"]').wait_for(timeout=60_000)
    wait_for_text(board.locator(".cw-wb-title"), world.payloads[0])  # the title, shown as text
    assert board.locator(".cw-whiteboard script, .cw-whiteboard [onerror], .cw-whiteboard iframe").count() == 0
    assert board.evaluate("typeof window.__xss") == "undefined", "a board label or title ran script"
    assert board.dialogs == [] and board.page_errors == [], (board.dialogs, board.page_errors)
    assert [url for _m, url in board.requests if "127.0.0.1:9/" in url] == []


@pytest.mark.parametrize("marker", [secrets.token_hex(3)])
def test_the_harness_notices_a_payload_that_runs(marker: str, server: VoilaServer, page: Callable[..., Any]) -> None:
    """Control: script run in the dashboard page is caught by the same checks."""
    p = page(server.link("alice"), wait_for=f"{APP} .cw-history .cw-tile")
    p.evaluate(f"() => {{ const i = new Image(); i.src = 'http://127.0.0.1:9/xss-{marker}'; window.__xss = 1; }}")
    p.wait_for_timeout(300)
    with pytest.raises(AssertionError, match="ran script"):
        assert_inert(p, "control")
    assert any(f"xss-{marker}" in url for _m, url in p.requests)
