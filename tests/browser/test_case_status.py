"""Case status in real Chromium, a customer's page beside a technician's: live status changes with their notice,
and a customer's reply handing a case waiting on them back to the vendor."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import ConversationKind, Store
from conferencing_widgets.session import Session

from .support import VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
APP = ".cw-app"
SELECTED = (
    "(sel) => { const s = document.querySelector(sel);"
    " return s && s.selectedOptions[0]?.textContent.replace(/\\u00a0/g, ' '); }"
)
"""The visible label of a select's chosen option (ipywidgets writes spaces as no-break spaces)."""

def new_case_chat(store: Store, title: str) -> int:
    """A case of Alice's company, its chat with Alice and Tom, and Alice's first message."""
    case = store.add_case(number=f"SR-T-{secrets.token_hex(3)}", title=title, group_id="acme", technicians=["tom.tech"])
    alice = Session(None, store, "alice")
    conv = alice.chat.create_conversation(kind=ConversationKind.SERVICE_CASE, title=title, case_id=case.id)
    alice.chat.post(conv.id, "The spindle stops at random.")
    return conv.id


def open_case(page: Callable[..., Any], server: VoilaServer, login: str, title: str) -> Any:
    p = page(server.link(login), wait_for=f"{APP} .cw-history .cw-tile")
    p.locator(".cw-history-case .cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    p.locator(".cw-messages .cw-case-status").first.wait_for(state="visible")
    return p


def test_the_status_change_is_seen_live_on_both_sides_with_the_notice_in_the_stream(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, _ = world
    title = f"Status live {secrets.token_hex(3)}"
    new_case_chat(store, title)
    customer = open_case(page, server, "alice", title)
    technician = open_case(page, server, "tom.tech", title)
    # The customer has a read-only chip, the technician a select.
    assert customer.locator(".cw-messages .cw-case-status select").count() == 0
    wait_for_text(customer.locator(".cw-messages .cw-case-status"), "open")
    customer.evaluate("() => { window.__sameDocument = true; }")

    technician.locator(".cw-messages .cw-case-status select").select_option(label="waiting on customer")

    wait_for_text(customer.locator(".cw-messages .cw-case-status"), "waiting on customer")
    wait_for_text(customer.locator(".cw-messages .cw-turn"), "waiting on you")
    notice = "Tom Becker set the case to “waiting on customer”."
    wait_for_text(customer.locator(".cw-stream .cw-message").last, notice)
    wait_for_text(technician.locator(".cw-stream .cw-message").last, notice)
    assert customer.evaluate("() => window.__sameDocument === true")  # live, no reload
    # Both tiles carry the new chip; whose turn reads from each side.
    customer_tile = customer.locator(".cw-history-case .cw-tile", has_text=title)
    technician_tile = technician.locator(".cw-history-case .cw-tile", has_text=title)
    wait_for_text(customer_tile.locator(".cw-case-status"), "waiting on customer")
    wait_for_text(customer_tile.locator(".cw-turn"), "waiting on you")
    wait_for_text(technician_tile.locator(".cw-case-status"), "waiting on customer")
    wait_for_text(technician_tile.locator(".cw-turn"), "waiting on ACME")
    wait_for_text(customer.locator(".cw-details .cw-details-case-status"), "waiting on customer")
    technician.wait_for_function(SELECTED, arg=".cw-messages .cw-case-status select")
    assert technician.evaluate(SELECTED, ".cw-messages .cw-case-status select") == "waiting on customer"
    customer.assert_no_errors("Failed to load resource")
    technician.assert_no_errors("Failed to load resource")


def test_a_customer_reply_flips_waiting_on_customer_to_waiting_on_vendor(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, _ = world
    title = f"Status flip {secrets.token_hex(3)}"
    chat = new_case_chat(store, title)
    case_id = store.get_conversation(chat).case_id
    assert case_id is not None
    Session(None, store, "tom.tech").cases.set_status(case_id, "waiting_on_customer")
    customer = open_case(page, server, "alice", title)
    technician = open_case(page, server, "tom.tech", title)
    wait_for_text(customer.locator(".cw-messages .cw-case-status"), "waiting on customer")

    box = customer.locator(".cw-composer textarea")
    box.fill("Here is the alarm log.")
    box.press("Enter")

    wait_for_text(customer.locator(".cw-messages .cw-case-status"), "waiting on vendor")
    wait_for_text(customer.locator(".cw-messages .cw-turn"), "waiting on MachTool")
    flip = "Alice Moreau replied: the case is now “waiting on vendor”."
    wait_for_text(technician.locator(".cw-stream .cw-message").last, flip)
    technician.wait_for_function(f"() => ({SELECTED})('.cw-messages .cw-case-status select') === 'waiting on vendor'")
    wait_for_text(technician.locator(".cw-messages .cw-turn"), "waiting on you")
    wait_for_text(
        technician.locator(".cw-history-case .cw-tile", has_text=title).locator(".cw-case-status"), "waiting on vendor"
    )
    customer.assert_no_errors("Failed to load resource")
    technician.assert_no_errors("Failed to load resource")
