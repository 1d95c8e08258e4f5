"""Typing indicator, "seen by" and drafts in real Chromium against Voilà, two users in two pages (issue 13, slice C).

Covered: "Alice Moreau is typing…" shown live in the other page (an aria-live region with ``cw-typing``) and
cleared on send; "Seen by" (``cw-seen``) appearing live when the other user opens the conversation; a draft
kept on the server after the typing stops and restored after a reload; an image pasted into the composer
uploaded with progress and posted.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import Service, Settings, Store
from conferencing_widgets.store import drafts as drafts_store
from conferencing_widgets.testing import wait_until

from .support import PASTE_PNG, PNG_1PX, VoilaServer, case_chat, wait_for_text

BOTH_BACKENDS = True  # conftest runs this module on SQLite and on PostgreSQL

pytestmark = pytest.mark.browser
APP = ".cw-app"
EMPTY = "(sel) => (document.querySelector(sel)?.textContent ?? 'missing') === ''"

def open_chat(page: Callable[..., Any], server: VoilaServer, login: str, title: str, p: Any = None) -> Any:
    if p is None:
        p = page(server.link(login), wait_for=f"{APP} .cw-history .cw-tile", viewport={"width": 1400, "height": 900})
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    return p


def test_typing_is_shown_live_and_cleared_on_send(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Typing {tag}"
    case_chat(store, title)
    alice = open_chat(page, server, "alice", title)
    tom = open_chat(page, server, "tom.tech", title)
    line = tom.locator(".cw-messages .cw-typing")
    assert line.get_attribute("aria-live") == "polite"
    box = alice.locator(".cw-composer textarea")
    box.press_sequentially(f"Checking the spindle {tag}", delay=20)
    wait_for_text(line, "Alice Moreau is typing…")
    assert alice.locator(".cw-messages .cw-typing").inner_text() == "", "never your own"
    box.press("Enter")
    wait_for_text(tom.locator(".cw-stream .cw-message"), f"Checking the spindle {tag}")
    tom.wait_for_function(EMPTY, arg=".cw-messages .cw-typing", timeout=15_000)


def test_seen_by_appears_live_when_the_other_user_reads(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Seen {tag}"
    cid = case_chat(store, title)
    Service(store, "tom.tech", Settings(posts_per_minute=10_000)).post(cid, f"Please check the log {tag}")
    tom = open_chat(page, server, "tom.tech", title)
    seen = tom.locator(".cw-messages .cw-seen")
    tom.wait_for_function(EMPTY, arg=".cw-messages .cw-seen", timeout=15_000)
    open_chat(page, server, "alice", title)  # opening marks the message read
    wait_for_text(seen, "Seen by Alice Moreau")


def test_a_draft_survives_a_reload(world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Draft {tag}"
    cid = case_chat(store, title)
    alice = open_chat(page, server, "alice", title)
    text = f"Half-written <b>answer</b> {tag}"
    alice.locator(".cw-composer textarea").fill(text)
    wait_until(lambda: drafts_store.draft(store, "alice", cid) == text, 15, "the draft saved on the server")
    alice.reload()
    alice.locator(f"{APP} .cw-history .cw-tile").first.wait_for(timeout=60_000)
    open_chat(page, server, "alice", title, alice)
    alice.wait_for_function(
        "(t) => document.querySelector('.cw-composer textarea')?.value === t", arg=text, timeout=15_000
    )
    alice.locator(".cw-composer textarea").press("Enter")
    wait_for_text(alice.locator(".cw-stream .cw-message"), f"Half-written <b>answer</b> {tag}")
    wait_until(lambda: drafts_store.draft(store, "alice", cid) == "", 15, "the draft cleared by the send")




def test_an_image_pasted_into_the_composer_is_uploaded_and_posted(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Paste {tag}"
    case_chat(store, title)
    alice = open_chat(page, server, "alice", title)
    tom = open_chat(page, server, "tom.tech", title)
    name = f"pasted-{tag}.png"
    alice.evaluate(PASTE_PNG, [name, PNG_1PX])
    wait_for_text(alice.locator(".cw-composer .cw-composer-upload"), f"{name} shared")
    wait_for_text(tom.locator(".cw-stream .cw-message"), name)
    assert alice.locator(".cw-composer textarea").input_value() == "", "the file is not pasted as text"
