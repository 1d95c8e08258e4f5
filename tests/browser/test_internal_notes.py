"""Internal notes in real Chromium against Voilà (issue 14): a technician writes one, only staff ever see it.

The technician switches on "Internal note" (``cw-note-toggle``), sends, and sees the row with ``cw-note`` and its
"Internal" label; the toggle is off again for the next message. The customer's page, once a later normal message
has arrived on it (so its feed has moved past the note), holds the note's text nowhere: not in the page's HTML, not
in any frame. Screenshots of the technician's stream (English light, Polish dark) go to /work/tools/scratch when
``CW_NOTES_SCREENSHOTS`` names a folder.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import ConversationKind, Store

from .support import VoilaServer, wait_for_text

BOTH_BACKENDS = True  # conftest runs this module on SQLite and on PostgreSQL

pytestmark = pytest.mark.browser
APP = ".cw-app"
CASE = "SR-2026-00042"
SHOTS = os.environ.get("CW_NOTES_SCREENSHOTS", "")

def open_chat(page: Callable[..., Any], server: VoilaServer, login: str, title: str, **params: str) -> Any:
    p = page(server.link(login, **params), wait_for=f"{APP} .cw-history .cw-tile")
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    return p


def send(p: Any, text: str) -> None:
    box = p.locator(".cw-composer textarea")
    box.fill(text)
    box.press("Enter")


def whole_page(p: Any) -> str:
    """The page's HTML and every frame's, as the customer's browser holds them."""
    return "\n".join([p.content(), *(f.content() for f in p.frames)])


def test_a_note_reaches_staff_only(world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]) -> None:
    store, _ = world
    tag = secrets.token_hex(4)
    title = f"Notes {tag}"
    case = store.get_case_by_number(CASE)
    store.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title=title, created_by="alice", members=["tom.tech"], case_id=case.id
    )
    alice = open_chat(page, server, "alice", title)
    tom = open_chat(page, server, "tom.tech", title)
    assert alice.locator(".cw-note-toggle").count() == 0 or alice.locator(".cw-note-toggle").is_hidden()

    toggle = tom.locator(".cw-note-toggle")
    toggle.click()
    tom.wait_for_function("() => document.querySelector('.cw-note-toggle').classList.contains('mod-active')")
    secret = f"internal-{tag}-firmware-is-old"
    send(tom, secret)
    note = tom.locator(".cw-stream .cw-message.cw-note", has_text=secret)
    wait_for_text(note, secret)
    wait_for_text(note.locator(".cw-note-label"), "Internal")
    # The toggle makes the next message a note, not every later one.
    tom.wait_for_function("() => !document.querySelector('.cw-note-toggle').classList.contains('mod-active')")
    public = f"public-{tag}-we-call-at-ten"
    send(tom, public)
    row = tom.locator(".cw-stream .cw-message", has_text=public)
    wait_for_text(row, public)
    assert "cw-note" not in (row.get_attribute("class") or "")

    # The customer gets the later message (so the feed moved past the note) and nothing of the note.
    wait_for_text(alice.locator(".cw-stream .cw-message", has_text=public), public)
    assert secret not in whole_page(alice)
    assert alice.locator(".cw-note").count() == 0
    # Reloading (a fresh page reading the stream from the store) shows no note either.
    again = open_chat(page, server, "alice", title)
    wait_for_text(again.locator(".cw-stream .cw-message", has_text=public), public)
    assert secret not in whole_page(again)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        tom.locator(".cw-messages").screenshot(path=str(Path(SHOTS) / f"notes-en-{store.backend}.png"))
        pl = open_chat(page, server, "tom.tech", title, lang="pl", theme="dark")
        wait_for_text(pl.locator(".cw-note-label").first, "Wewnętrzna")
        pl.locator(".cw-messages").screenshot(path=str(Path(SHOTS) / f"notes-pl-dark-{store.backend}.png"))
    tom.assert_no_errors("Failed to load resource")
    alice.assert_no_errors("Failed to load resource")
