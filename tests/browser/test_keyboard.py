"""Keyboard only (issue 15): open a conversation, send, reply and create a conversation without the mouse.

Every action goes through ``page.keyboard`` (F6, Tab, arrows, Enter, typing); ``page.evaluate`` only reads where
the focus is. Real Chromium against the repository's dashboard.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest

from .support import VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
READY = ".cw-app .cw-history .cw-tile"
MAX_STEPS = 80
"""More Tab presses than the app has controls between any two places the test goes to."""

def focused(p: Any, test: str) -> bool:
    """Whether the focused element passes the JavaScript predicate ``test`` (given as ``el``)."""
    return bool(p.evaluate(f"() => {{ const el = document.activeElement; return !!el && ({test}); }}"))


def press_until(p: Any, key: str, test: str) -> None:
    """Press ``key`` until the focused element passes ``test``; fails after ``MAX_STEPS`` presses."""
    for _ in range(MAX_STEPS):
        if focused(p, test):
            return
        p.keyboard.press(key)
    assert focused(p, test), f"{key} never reached {test}"


def wait_focus(p: Any, test: str) -> None:
    try:
        p.wait_for_function(f"() => {{ const el = document.activeElement; return !!el && ({test}); }}", timeout=30_000)
    except Exception as exc:
        where = p.evaluate("() => document.activeElement && document.activeElement.outerHTML.slice(0, 200)")
        raise AssertionError(f"focus never passed {test}; it is on {where}") from exc


COMPOSER = "el.matches('.cw-composer textarea')"


def test_open_send_reply_and_create_without_the_mouse(server: VoilaServer, page: Callable[..., Any]) -> None:
    p = page(server.link("alice"), wait_for=READY)
    tag = secrets.token_hex(3)
    # F6 into the history, Tab to its list, arrows to the case chat, Enter opens it and focus moves to the composer.
    p.wait_for_function("() => document.querySelector('.cw-history[aria-label]') !== null")
    p.keyboard.press("F6")
    wait_focus(p, "el.matches('.cw-history')")
    press_until(p, "Tab", "el.matches('.cw-tile')")
    press_until(p, "ArrowDown", "el.matches('.cw-history-case .cw-tile')")
    title = p.evaluate("() => document.activeElement.querySelector('.cw-tile-title').textContent")
    p.keyboard.press("Enter")
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    wait_focus(p, COMPOSER)

    # Send: type and Enter.
    original = f"Keyboard only {tag}"
    p.keyboard.type(original)
    p.keyboard.press("Enter")
    wait_for_text(p.locator(".cw-stream"), original)

    # Reply: Shift+Tab back from the composer to that message's Reply action, Enter, type, Enter.
    mine = f"el.matches('.cw-action-reply') && el.closest('.cw-message').textContent.includes({original!r})"
    press_until(p, "Shift+Tab", mine)
    p.keyboard.press("Enter")
    wait_focus(p, COMPOSER)
    answer = f"Answered by keyboard {tag}"
    p.keyboard.type(answer)
    p.keyboard.press("Enter")
    reply = p.locator(".cw-stream .cw-message").filter(has_text=answer)
    wait_for_text(reply, answer)
    wait_for_text(reply.locator(".cw-reply-quote"), original)
    # The composer leaves reply mode (and puts the focus back into itself) once the kernel has the reply.
    p.wait_for_function(
        "() => { const box = document.querySelector('.cw-composer textarea');"
        " const bar = document.querySelector('.cw-composer-mode');"
        " return box.value === '' && (!bar || bar.hidden) && document.activeElement === box; }"
    )

    # Create a conversation: Shift+F6 back to the history, Tab to "New conversation", fill the dialog, Enter.
    p.keyboard.press("Shift+F6")
    wait_focus(p, "el.matches('.cw-history')")
    press_until(p, "Tab", "el.matches('.cw-new-conversation')")
    p.keyboard.press("Enter")
    wait_focus(p, "el.closest('.cw-dialog') !== null")
    press_until(p, "Tab", "el.matches('.cw-dialog input[type=text]')")
    new_title = f"Keyboard chat {tag}"
    p.keyboard.type(new_title)
    press_until(p, "Tab", "el.matches('.cw-dialog select[multiple]')")
    p.keyboard.press("ArrowDown")  # selects the first person offered
    p.wait_for_function("() => document.querySelector('.cw-dialog select[multiple]').selectedOptions.length === 1")
    press_until(p, "Tab", "el.matches('.cw-dialog .cw-create-conversation')")
    p.keyboard.press("Enter")
    p.locator(".cw-dialog").wait_for(state="hidden")
    wait_for_text(p.locator(".cw-messages .cw-area-title"), new_title)
    wait_for_text(p.locator(".cw-history"), new_title)
    assert not p.page_errors, p.page_errors
