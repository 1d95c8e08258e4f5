"""The outbox and honest reconnects in Chromium against a real Voilà (issue 16).

- A message typed while the browser is offline (``context.set_offline(True)``) shows at once as "Sending…", is kept
  in localStorage, survives a reload, and is posted exactly once when the page is back (counted in the store after
  the reconnect and after a second reload); the reload lands in the same conversation (``conversation=`` in the URL).
- An entry the kernel already posted but never acknowledged (the answer was lost) is resent after a reload and is
  still one message: the post is idempotent by client id.
- A page whose connections are cut (a TCP proxy drops them) shows "Reconnecting…" and the banner goes once it is
  back; the composer still works.
- A culled kernel (shut down through Voilà's REST API) gives the "session ended" prompt; its Reload lands in the
  same conversation and the page works again.

``set_offline`` in Chromium flips ``navigator.onLine`` and blocks new requests; whether it also cuts an open
websocket does not matter here: the page treats an offline browser as disconnected either way.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import ConversationKind, MessageKind, Service, Store
from conferencing_widgets.testing import wait_until
from conferencing_widgets.ui.messages import outbox_scope

from .support import RecordedPage, VoilaServer, case_chat, wait_for_text
from .tcp_proxy import tcp_proxy

pytestmark = pytest.mark.browser
APP = ".cw-app"
SCRATCH = Path(__file__).resolve().parents[2] / "build" / "screens"
"""Screenshots to look at (not checked in)."""


def open_chat(page: Callable[..., RecordedPage], url: str, title: str, **options: Any) -> RecordedPage:
    p = page(url, wait_for=f"{APP} .cw-history .cw-tile", viewport={"width": 1400, "height": 900}, **options)
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    # The open conversation goes into the URL (history.replaceState), so a reload lands in it. (Read through the
    # page: the sync API's ``page.url`` only updates while Playwright is called.)
    wait_until(lambda: "conversation=" in p.evaluate("location.href"), 15, "the conversation in the URL")
    return p


def posted(store: Store, conversation_id: int, text: str) -> int:
    """How many messages of the conversation hold ``text`` (the store is the system of record)."""
    return sum(m.body == text for m in Service(store, "alice").messages(conversation_id, limit=200))


def shown(p: RecordedPage, text: str) -> int:
    return int(
        p.evaluate(
            "t => [...document.querySelectorAll('.cw-stream .cw-message')].filter(m => m.innerText.includes(t)).length",
            text,
        )
    )


def outbox_entries(p: RecordedPage, login: str) -> list[dict[str, Any]]:
    raw = p.evaluate("k => window.localStorage.getItem(k)", f"cw-outbox:{outbox_scope(login)}")
    return list(json.loads(raw)) if raw else []


def type_and_send(p: RecordedPage, text: str) -> None:
    box = p.locator(".cw-composer textarea")
    box.fill(text)
    box.press("Enter")


def landed_in(p: RecordedPage, title: str) -> None:
    """After a reload: the app is back with the same conversation open, without a click."""
    p.locator(f"{APP} .cw-history .cw-tile").first.wait_for(state="visible", timeout=60_000)
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title, timeout_ms=30_000)
    p.locator(".cw-composer textarea:not([disabled])").wait_for(state="visible")


def test_message_typed_offline_shows_as_sending_survives_a_reload_and_is_posted_once(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Outbox {tag}"
    cid = case_chat(store, title)
    text = f"Typed in the basement {tag}"
    p = open_chat(page, server.link("alice"), title)
    assert f"conversation={cid}" in p.evaluate("location.href")

    p.context.set_offline(True)
    p.locator(".cw-reconnecting").wait_for(state="visible")
    type_and_send(p, text)
    row = p.locator(".cw-stream .cw-outbox", has_text=text)
    wait_for_text(row, "Sending…")
    assert p.locator(".cw-composer textarea").input_value() == "", "the box is free for the next message"
    entries = outbox_entries(p, "alice")
    assert [(e["conversation_id"], e["text"]) for e in entries] == [(cid, text)]
    assert len(entries[0]["client_id"]) <= 64 and entries[0]["created"]
    assert posted(store, cid, text) == 0 and shown(p, text) == 0
    SCRATCH.mkdir(parents=True, exist_ok=True)
    p.page.screenshot(path=str(SCRATCH / "outbox-sending-en.png"))

    # Back online, and reloaded at once: whichever page sends it, it is one message, in the same conversation.
    p.context.set_offline(False)
    p.page.reload()
    landed_in(p, title)
    p.locator(".cw-stream .cw-message", has_text=text).wait_for(state="visible", timeout=30_000)
    wait_until(lambda: p.locator(".cw-stream .cw-outbox").count() == 0, 20, "the outbox row to go")
    assert p.locator(".cw-reconnecting").is_hidden()
    assert posted(store, cid, text) == 1 and shown(p, text) == 1
    wait_until(lambda: outbox_entries(p, "alice") == [], 20, "the stored entry to go")

    p.page.reload()
    landed_in(p, title)
    p.locator(".cw-stream .cw-message", has_text=text).wait_for(state="visible", timeout=30_000)
    assert posted(store, cid, text) == 1 and shown(p, text) == 1
    assert p.locator(".cw-stream .cw-outbox").count() == 0


def test_an_entry_posted_but_never_acknowledged_is_resent_after_a_reload_and_stays_one_message(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Lost answer {tag}"
    cid = case_chat(store, title)
    text = f"The kernel took it, the answer got lost {tag}"
    client_id = f"lost{tag}"
    Service(store, "alice").post(cid, text, client_id=client_id)
    p = open_chat(page, server.link("alice"), title)
    entry = {"client_id": client_id, "conversation_id": cid, "text": text, "created": "2026-12-01T10:00:00Z"}
    key = f"cw-outbox:{outbox_scope('alice')}"
    p.evaluate("([k, v]) => window.localStorage.setItem(k, v)", [key, json.dumps([entry])])
    # Another user of the same browser never sees it: the outbox is scoped per signed-in user.
    assert outbox_entries(p, "tom.tech") == []

    p.page.reload()
    landed_in(p, title)
    wait_until(lambda: outbox_entries(p, "alice") == [], 30, "the kernel to acknowledge the resent entry")
    assert p.locator(".cw-stream .cw-outbox").count() == 0
    assert posted(store, cid, text) == 1 and shown(p, text) == 1


def test_a_failed_entry_offers_retry_and_discard(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Refused {tag}"
    cid = case_chat(store, title)
    other = store.create_conversation(
        kind=ConversationKind.DIRECT, title=f"Not hers {tag}", created_by="tom.tech", members=["tom.tech"]
    ).id
    p = open_chat(page, server.link("alice"), title)
    # A stale or tampered outbox: a text over the length limit here, and one for a chat she is not in elsewhere.
    when = "2026-12-01T10:00:00Z"
    entry = {"client_id": f"bad{tag}", "conversation_id": cid, "text": "x" * 100_000, "created": when}
    stale = {"client_id": f"st{tag}", "conversation_id": other, "text": f"stale {tag}", "created": when}
    key = f"cw-outbox:{outbox_scope('alice')}"
    p.evaluate("([k, v]) => window.localStorage.setItem(k, v)", [key, json.dumps([entry, stale])])
    p.page.reload()
    landed_in(p, title)
    row = p.locator(".cw-stream .cw-outbox.cw-outbox-failed")
    row.wait_for(state="visible", timeout=30_000)
    assert row.locator(".cw-outbox-retry").is_visible() and row.locator(".cw-outbox-discard").is_visible()
    wait_until(lambda: all(e.get("error") for e in outbox_entries(p, "alice")), 30, "both entries to be refused")
    row.locator(".cw-outbox-retry").click()  # refused again: still there, still failed
    wait_until(lambda: bool(outbox_entries(p, "alice")[0].get("error")), 30, "the retry to be refused again")
    p.locator(".cw-stream .cw-outbox.cw-outbox-failed .cw-outbox-discard").first.click()
    wait_until(lambda: len(outbox_entries(p, "alice")) == 1, 10, "the discarded entry to go")
    assert p.locator(".cw-stream .cw-outbox").count() == 0, "the other conversation's entry is not shown here"
    assert posted(store, cid, "x" * 100_000) == 0


def test_a_note_a_reply_and_an_edit_sent_offline_keep_what_they_are(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Offline kinds {tag}"
    cid = case_chat(store, title)
    question = Service(store, "alice").post(cid, f"Is the spindle safe to run {tag}?")
    mine = Service(store, "tom.tech").post(cid, f"Checking the bearing {tag}")
    p = open_chat(page, server.link("tom.tech"), title)
    bar = p.locator(".cw-composer-mode")

    # A reply begun online and sent once the network is gone.
    asked = p.locator(".cw-stream .cw-message", has_text=f"Is the spindle safe to run {tag}?")
    asked.hover()
    asked.locator(".cw-action-reply").click()
    wait_for_text(bar, "Replying to")
    p.context.set_offline(True)
    p.locator(".cw-reconnecting").wait_for(state="visible")
    type_and_send(p, f"Yes, below 6000 rpm {tag}")
    wait_for_text(p.locator(".cw-stream .cw-outbox", has_text=f"Yes, below 6000 rpm {tag}"), "Your reply")
    bar.wait_for(state="hidden")
    # An internal note written offline: the toggle is linked to the composer in the browser, so the outbox knows.
    p.locator(".cw-note-toggle").click()
    type_and_send(p, f"Quote a new bearing {tag}")
    note_row = p.locator(".cw-stream .cw-outbox.cw-outbox-note", has_text=f"Quote a new bearing {tag}")
    wait_for_text(note_row, "Internal note")
    assert "mod-active" not in (p.locator(".cw-note-toggle").get_attribute("class") or ""), "the toggle is reset"
    SCRATCH.mkdir(parents=True, exist_ok=True)
    p.page.screenshot(path=str(SCRATCH / "outbox-note-and-reply.png"))
    kinds = [(bool(e.get("note")), e.get("reply_to")) for e in outbox_entries(p, "tom.tech")]
    assert kinds == [(False, question.id), (True, None)]
    assert posted(store, cid, f"Quote a new bearing {tag}") == 0
    p.context.set_offline(False)
    wait_until(lambda: outbox_entries(p, "tom.tech") == [], 40, "the outbox to be sent")

    # An edit begun online and saved once the network is gone.
    own = p.locator(".cw-stream .cw-message", has_text=f"Checking the bearing {tag}")
    own.hover()
    own.locator(".cw-action-edit").click()
    wait_for_text(bar, "Editing")
    p.context.set_offline(True)
    p.locator(".cw-reconnecting").wait_for(state="visible")
    box = p.locator(".cw-composer textarea")
    box.fill(f"Checked the bearing: worn {tag}")
    box.press("Enter")
    wait_for_text(p.locator(".cw-stream .cw-outbox", has_text=f"worn {tag}"), "Saving your edit…")
    assert [e.get("edit_of") for e in outbox_entries(p, "tom.tech")] == [mine.id]
    p.context.set_offline(False)
    wait_until(lambda: outbox_entries(p, "tom.tech") == [], 40, "the edit to be saved")

    staff = {m.body: m for m in Service(store, "tom.tech").messages(cid, limit=50)}
    assert staff[f"Quote a new bearing {tag}"].kind is MessageKind.NOTE
    assert staff[f"Yes, below 6000 rpm {tag}"].reply_to_id == question.id
    assert staff[f"Checked the bearing: worn {tag}"].id == mine.id
    assert [v.body for v in Service(store, "tom.tech").message_versions(mine.id)] == [f"Checking the bearing {tag}"]
    customer = [m.body for m in Service(store, "alice").messages(cid, limit=50)]
    assert f"Quote a new bearing {tag}" not in customer and f"Yes, below 6000 rpm {tag}" in customer
    p.locator(".cw-stream .cw-message.cw-note", has_text=f"Quote a new bearing {tag}").wait_for(timeout=30_000)
    wait_for_text(p.locator(".cw-stream .cw-message", has_text=f"worn {tag}"), "edited")


def test_cut_connections_show_reconnecting_until_the_page_is_back(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Flaky {tag}"
    cid = case_chat(store, title)
    with tcp_proxy(server.port) as proxy:
        p = open_chat(page, proxy.via(server.link("alice")), title)
        # Record every time the banner shows or hides (it may be brief on loopback).
        p.evaluate(
            """() => {
                window.__banner = [];
                const b = document.querySelector('.cw-reconnecting');
                new MutationObserver(() => window.__banner.push(b.hidden ? 'hidden' : 'shown'))
                    .observe(b, { attributes: true, attributeFilter: ['hidden'] });
            }"""
        )
        assert proxy.drop_all() >= 1
        wait_until(lambda: p.evaluate("window.__banner").count("shown") >= 1, 20, "the banner to show")
        wait_until(lambda: p.evaluate("window.__banner")[-1] == "hidden", 60, "the banner to go")
        assert p.locator(".cw-reconnecting").is_hidden()
        text = f"After the bump {tag}"
        type_and_send(p, text)
        p.locator(".cw-stream .cw-message", has_text=text).wait_for(state="visible", timeout=30_000)
        wait_until(lambda: p.locator(".cw-stream .cw-outbox").count() == 0, 20, "no row left in the outbox")
        assert posted(store, cid, text) == 1


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_culled_kernel_offers_a_reload_that_lands_in_the_same_conversation(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., RecordedPage], lang: str
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Culled {tag}"
    cid = case_chat(store, title)
    p = open_chat(page, server.link("alice", lang=lang), title)
    kernel = p.kernel_id()
    request = urllib.request.Request(f"{server.base_url}/api/kernels/{kernel}", method="DELETE")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204
    gone = p.locator(".cw-kernel-gone")
    gone.wait_for(state="visible", timeout=30_000)
    words = {"en": ("session on the server has ended", "Reload"), "pl": ("została zakończona", "Wczytaj ponownie")}
    assert words[lang][0] in gone.inner_text()
    assert p.locator(".cw-reload").inner_text() == words[lang][1]
    assert p.locator(".cw-reconnecting").is_hidden()
    p.page.screenshot(path=str(SCRATCH / f"outbox-kernel-gone-{lang}.png"))
    p.locator(".cw-reload").click()
    landed_in(p, title)
    assert p.kernel_id() != kernel
    assert p.locator(".cw-kernel-gone").is_hidden()
    text = f"Back after the cull {tag}"
    type_and_send(p, text)
    p.locator(".cw-stream .cw-message", has_text=text).wait_for(state="visible", timeout=30_000)
    assert posted(store, cid, text) == 1


def test_polish_page_says_reconnecting_and_sending_in_polish(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Piwnica {tag}"
    cid = case_chat(store, title)
    text = f"Bez sieci {tag}"
    p = open_chat(page, server.link("alice", lang="pl"), title, locale="pl-PL")
    p.context.set_offline(True)
    banner = p.locator(".cw-reconnecting")
    banner.wait_for(state="visible")
    assert banner.inner_text() == "Ponowne łączenie…"
    type_and_send(p, text)
    row = p.locator(".cw-stream .cw-outbox", has_text=text)
    wait_for_text(row, "Wysyłanie…")
    assert row.locator(".cw-outbox-discard").inner_text() == "Odrzuć"
    SCRATCH.mkdir(parents=True, exist_ok=True)
    p.page.screenshot(path=str(SCRATCH / "outbox-sending-pl.png"))
    p.context.set_offline(False)
    p.locator(".cw-stream .cw-message", has_text=text).wait_for(state="visible", timeout=30_000)
    wait_until(lambda: row.count() == 0, 20, "the outbox row to go")
    banner.wait_for(state="hidden")
    assert posted(store, cid, text) == 1
