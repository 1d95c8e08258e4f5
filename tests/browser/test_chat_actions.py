"""Reply, edit, delete and reactions in real Chromium against Voilà, two users in two pages (issue 13, slice A).

Covered: a reply whose quote jumps to an original pages back (the window around it is loaded and the original
highlighted), reply mode with Esc, Up arrow in an empty composer to edit the last message, Esc to cancel an edit,
an edit and a delete seen live in the other page, earlier versions opened from the "edited" mark, reactions from
the picker, typed in and toggled, with who reacted on hover and keyboard focus, and a typed reaction that is not an
emoji refused with an error in the area.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import Service, Settings, Store
from conferencing_widgets.core.model import NewMessage

from .support import VoilaServer, case_chat, wait_for_text

BOTH_BACKENDS = True  # conftest runs this module on SQLite and on PostgreSQL

pytestmark = pytest.mark.browser
APP = ".cw-app"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "chat-actions.png"

def open_chat(page: Callable[..., Any], server: VoilaServer, login: str, title: str) -> Any:
    p = page(server.link(login), wait_for=f"{APP} .cw-history .cw-tile", viewport={"width": 1400, "height": 900})
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    return p


def message(p: Any, text: str) -> Any:
    return p.locator(".cw-stream .cw-message", has_text=text).first


def test_reply_quote_jumps_to_an_original_pages_back(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Jump {tag}"
    cid = case_chat(store, title)
    tom = Service(store, "tom.tech", Settings(posts_per_minute=10_000))
    original = tom.post(cid, f"The original question {tag}")
    for i in range(70):  # more than a page (50) between the original and the reply
        store.post_message(NewMessage(conversation_id=cid, body=f"filler {i}"), author="tom.tech")
    tom.post(cid, f"Answer to the original {tag}", reply_to=original.id)
    alice = open_chat(page, server, "alice", title)
    reply = message(alice, f"Answer to the original {tag}")
    wait_for_text(reply.locator(".cw-reply-quote"), f"The original question {tag}")
    assert alice.locator(".cw-stream .cw-message", has_text=f"The original question {tag}").count() == 1  # the quote
    reply.locator(".cw-reply-quote").click()
    target = alice.locator(f'.cw-stream .cw-message.cw-highlight[data-id="{original.id}"]')
    target.wait_for(state="visible", timeout=15_000)
    assert f"The original question {tag}" in target.inner_text()

    # Reply from the page: the bar says to whom, Esc cancels, the reply shows its quote in the other page.
    technician = open_chat(page, server, "tom.tech", title)
    box = alice.locator(".cw-composer textarea")
    reply.hover()
    reply.locator(".cw-action-reply").click()
    bar = alice.locator(".cw-composer-mode")
    wait_for_text(bar, "Replying to Tom Becker")
    box.press("Escape")
    bar.wait_for(state="hidden")
    reply.locator(".cw-action-reply").focus()  # keyboard only: focus and Enter
    alice.keyboard.press("Enter")
    wait_for_text(bar, "Replying to Tom Becker")
    alice.wait_for_function("() => document.activeElement === document.querySelector('.cw-composer textarea')")
    alice.keyboard.type(f"Thanks, that helps {tag}")
    alice.keyboard.press("Enter")
    mine = message(technician, f"Thanks, that helps {tag}")
    wait_for_text(mine.locator(".cw-reply-quote"), f"Answer to the original {tag}")
    bar.wait_for(state="hidden")
    # The bar shows the moment Reply is pressed, before Python has answered, so a reply typed at once stays one.
    at_once = reply.locator(".cw-action-reply").evaluate(
        "b => { b.click(); const bar = document.querySelector('.cw-composer-mode');"
        " return bar.hidden ? '' : bar.textContent; }"
    )
    assert at_once.startswith("Replying to Tom Becker"), at_once
    box.press("Escape")
    bar.wait_for(state="hidden")


def test_edit_and_delete_are_seen_live(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"Edit {tag}"
    case_chat(store, title)
    alice = open_chat(page, server, "alice", title)
    tom = open_chat(page, server, "tom.tech", title)
    box = alice.locator(".cw-composer textarea")
    box.fill(f"Spindel at 8000 rpm {tag}")
    box.press("Enter")
    wait_for_text(tom.locator(".cw-stream .cw-message"), f"Spindel at 8000 rpm {tag}")
    alice.wait_for_function("() => document.querySelector('.cw-composer textarea').value === ''")

    # Up arrow in the empty box edits the last message; Esc cancels and leaves the box empty.
    box.press("ArrowUp")
    alice.wait_for_function(
        "(t) => document.querySelector('.cw-composer textarea').value === t", arg=f"Spindel at 8000 rpm {tag}"
    )
    wait_for_text(alice.locator(".cw-composer-mode"), "Editing")
    box.press("Escape")
    alice.locator(".cw-composer-mode").wait_for(state="hidden")
    alice.wait_for_function("() => document.querySelector('.cw-composer textarea').value === ''")
    box.press("ArrowUp")
    alice.wait_for_function("() => document.querySelector('.cw-composer textarea').value !== ''")
    box.fill(f"Spindle at 8000 rpm {tag}")
    box.press("Enter")
    edited = message(tom, f"Spindle at 8000 rpm {tag}")
    edited.locator(".cw-edited").wait_for(state="visible", timeout=15_000)
    assert tom.locator(".cw-stream .cw-message", has_text="Spindel").count() == 0
    assert alice.locator(".cw-stream .cw-message", has_text=tag).count() == 1  # edited in place, not re-posted
    assert tom.locator(".cw-stream .cw-message").last.locator(".cw-action-edit, .cw-action-delete").count() == 0
    # The other reader opens the earlier versions from the "edited" mark.
    edited.locator(".cw-edited").click()
    wait_for_text(edited.locator(".cw-versions .cw-version"), f"Spindel at 8000 rpm {tag}")
    assert edited.locator(".cw-edited").get_attribute("aria-expanded") == "true"

    # Delete: a tombstone with author and time in both pages, the text gone.
    row = message(alice, f"Spindle at 8000 rpm {tag}")
    row.hover()
    row.locator(".cw-action-delete").click()
    tomb = tom.locator(".cw-stream .cw-message.cw-deleted").last
    wait_for_text(tomb, "message deleted")
    assert "Alice Moreau" in tomb.inner_text() and tomb.locator("time").count() == 1
    assert tom.locator(".cw-stream .cw-message", has_text=f"8000 rpm {tag}").count() == 0
    assert tomb.locator(".cw-message-actions").count() == 0


def test_reactions_with_who_reacted(world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"React {tag}"
    cid = case_chat(store, title)
    Service(store, "alice").post(cid, f"Bearing replaced {tag}")
    alice = open_chat(page, server, "alice", title)
    tom = open_chat(page, server, "tom.tech", title)

    # Tom picks 👍 from the picker with the mouse.
    row = message(tom, f"Bearing replaced {tag}")
    row.hover()
    row.locator(".cw-action-react").click()
    tom.locator(".cw-react-picker .cw-react-choice", has_text="👍").click()
    chip = message(alice, f"Bearing replaced {tag}").locator(".cw-reaction", has_text="👍")
    wait_for_text(chip, "👍 1")
    assert "Tom Becker" in (chip.get_attribute("title") or "")
    assert "Tom Becker" in (chip.get_attribute("aria-label") or "")
    # Alice toggles it on with a click: 2, hers marked; and off again.
    chip.click()
    wait_for_text(message(tom, tag).locator(".cw-reaction"), "👍 2")
    # Alice's own page re-renders her row on its own schedule: wait for it, do not read it at once.
    message(alice, f"Bearing replaced {tag}").locator('.cw-reaction[aria-pressed="true"]', has_text="👍").wait_for()
    chip.click()
    wait_for_text(message(tom, tag).locator(".cw-reaction"), "👍 1")

    # Keyboard only: focus the react button, Enter opens the picker, type an emoji, Enter.
    mine = message(alice, f"Bearing replaced {tag}")
    mine.locator(".cw-action-react").focus()
    alice.keyboard.press("Enter")
    alice.locator(".cw-react-picker").wait_for(state="visible")
    alice.locator(".cw-react-input").focus()
    alice.keyboard.insert_text("🛠️")
    alice.keyboard.press("Enter")
    typed = message(tom, tag).locator(".cw-reaction", has_text="🛠")
    wait_for_text(typed, "1")
    typed.focus()  # who reacted is announced on focus too (aria-label)
    assert "Alice Moreau" in tom.evaluate("() => document.activeElement.getAttribute('aria-label')")

    # Text typed as a reaction is refused with an error in the area; nothing is added.
    mine.locator(".cw-action-react").click()
    alice.locator(".cw-react-input").fill("<img src=x onerror=window.__xss=1>")
    alice.locator(".cw-react-input").press("Enter")
    wait_for_text(alice.locator(".cw-messages .cw-error"), "one emoji")
    assert mine.locator(".cw-reaction").count() == 2
    assert alice.evaluate("typeof window.__xss") == "undefined" and alice.dialogs == []
    # Escape closes an open picker.
    mine.locator(".cw-action-react").click()
    alice.locator(".cw-react-picker").wait_for(state="visible")
    alice.keyboard.press("Escape")
    alice.locator(".cw-react-picker").wait_for(state="hidden")


def test_screenshot_of_a_stream_with_reply_edit_tombstone_and_reactions(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any], backend_is_sqlite: None
) -> None:
    store, _ = world
    title = f"Spindle follow-up {secrets.token_hex(2)}"
    cid = case_chat(store, title)
    alice, tom = Service(store, "alice"), Service(store, "tom.tech")
    q = alice.post(cid, "The spindle still hums above **6000 rpm** after the bearing change.")
    a = tom.post(cid, "Did you re-balance the tool holder?", reply_to=q.id)
    alice.post(cid, "Yes, balanced to G2.5 yesterday.", reply_to=a.id)
    typo = tom.post(cid, "Then lets check the belt tension.")
    tom.edit_message(typo.id, "Then let's check the belt tension next.")
    oops = alice.post(cid, "Sent to the wrong chat, sorry")
    alice.delete_message(oops.id)
    for who, emoji in (("alice", "👍"), ("tom.tech", "✅"), ("alice", "✅")):
        Service(store, who).react(typo.id, emoji)
    p = open_chat(page, server, "alice", title)
    message(p, "belt tension").locator(".cw-reaction").first.wait_for(state="visible")
    p.locator(".cw-messages").screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


@pytest.fixture()
def backend_is_sqlite(world: tuple[Store, Path]) -> None:
    if world[0].backend != "sqlite":
        pytest.skip("the screenshot is taken once, on the SQLite run")
