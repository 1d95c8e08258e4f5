"""The conferencing dashboard in real headless Chromium against a live Voilà server, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import Store
from conferencing_widgets.core.identity import make_token
from conferencing_widgets.core.model import NewMessage
from conferencing_widgets.store.wakers import ENV_NO_RELAY

from .support import VoilaServer, case_chat, wait_for_text

BOTH_BACKENDS = True  # conftest runs this module on SQLite and on PostgreSQL

pytestmark = pytest.mark.browser
APP = ".cw-app"

def open_app(page: Callable[..., Any], server: VoilaServer, login: str) -> Any:
    return page(server.link(login), wait_for=f"{APP} .cw-history .cw-tile")


def open_tile(p: Any, title: str) -> None:
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)


def test_message_reaches_other_page_live_and_badge_updates(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    open_title, other_title = f"Live {tag}", f"Other {tag}"
    case_chat(store, open_title)
    other = case_chat(store, other_title)
    customer = open_app(page, server, "alice")
    technician = open_app(page, server, "tom.tech")
    open_tile(customer, open_title)
    open_tile(technician, open_title)
    # Both page kernels follow the feed through the server's relay, as under ``conferencing serve``.
    assert server.relay_stats()["clients"] >= 2

    # Live means without reloading: a marker set in the customer's page must survive. (Speed is measured in
    # benchmarks/dashboard_bench.py, not asserted here: these machines are shared.)
    customer.evaluate("() => { window.__sameDocument = true; }")
    technician.locator(".cw-composer textarea").fill(f"Spindle bearing ordered {tag}")
    technician.locator(".cw-composer textarea").press("Enter")
    wait_for_text(customer.locator(".cw-stream .cw-message"), f"Spindle bearing ordered {tag}")
    assert customer.evaluate("() => window.__sameDocument === true")
    # The box clears once the kernel confirms the send.
    technician.wait_for_function("() => document.querySelector('.cw-composer textarea').value === ''")

    # A message in another conversation raises that tile's unread badge, live.
    store.post_message(NewMessage(conversation_id=other, body="Second topic"), author="tom.tech")
    badge = customer.locator(".cw-tile", has_text=other_title).locator(".cw-unread")
    badge.wait_for(state="visible", timeout=15_000)
    assert badge.inner_text() == "1"
    # The newest conversation moves to the top of its section.
    wait_for_text(customer.locator(".cw-history-case .cw-tile").first, other_title)
    # Hidden controls stay hidden (the whiteboard PNG listener has no button of its own in the app).
    assert customer.locator(".cw-messages .cw-wb-png-button").count() == 1
    assert not customer.locator(".cw-messages .cw-wb-png-button").is_visible()
    customer.assert_no_errors("Failed to load resource")


@pytest.mark.slow  # a server of its own
def test_without_a_relay_each_kernel_follows_on_its_own(
    world: tuple[Store, Path], voila_server: Callable[..., VoilaServer], page: Callable[..., Any]
) -> None:
    """The fallback of a server whose relay did not come up (and of JupyterLab kernels): each page kernel LISTENs
    (PostgreSQL) or watches its doorbells (SQLite) itself, and messages still arrive live."""
    store, data_dir = world
    server = voila_server(
        store_url=store.url, secret="browser-test-secret", data_dir=data_dir, extra_env={ENV_NO_RELAY: "1"}, reuse=False
    )
    assert server.relay_proc is None
    tag = secrets.token_hex(3)
    title = f"No relay {tag}"
    case_chat(store, title)
    customer = open_app(page, server, "alice")
    technician = open_app(page, server, "tom.tech")
    open_tile(customer, title)
    open_tile(technician, title)
    technician.locator(".cw-composer textarea").fill(f"Followed without a relay {tag}")
    technician.locator(".cw-composer textarea").press("Enter")
    wait_for_text(customer.locator(".cw-stream .cw-message"), f"Followed without a relay {tag}")
    customer.assert_no_errors("Failed to load resource")


def test_customer_creates_direct_chat_and_colleague_sees_it(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    tag = secrets.token_hex(3)
    alice = open_app(page, server, "alice")
    adam = open_app(page, server, "adam")
    alice.locator(".cw-new-conversation").click()
    dialog = alice.locator(".cw-dialog")
    dialog.wait_for(state="visible")
    dialog.locator("select[multiple] option").first.wait_for(state="attached")
    # Only Alice's own company is offered: no vendor staff, no other customers.
    offered = [t.replace("\xa0", " ") for t in dialog.locator("select[multiple] option").all_inner_texts()]
    assert offered == ["Adam Fischer"]
    dialog.locator("input[type=text]").fill(f"Night shift {tag}")
    dialog.locator("select[multiple]").select_option(label="Adam Fischer")
    alice.locator(".cw-create-conversation").click()
    wait_for_text(alice.locator(".cw-messages .cw-area-title"), f"Night shift {tag}")
    wait_for_text(adam.locator(".cw-history-direct .cw-tile"), f"Night shift {tag}", timeout_ms=5_000)


def test_dialog_offers_technician_only_vendor_people(server: VoilaServer, page: Callable[..., Any]) -> None:
    tom = open_app(page, server, "tom.tech")
    tom.locator(".cw-new-conversation").click()
    tom.locator(".cw-dialog select[multiple] option").first.wait_for(state="attached")
    offered = {t.replace("\xa0", " ") for t in tom.locator(".cw-dialog select[multiple] option").all_inner_texts()}
    assert offered == {"Tina Nowak", "Erik Lindqvist", "Ada Admin"}


@pytest.mark.parametrize("kind", ["tampered", "expired", "wrong-secret", "missing", "unknown-user"])
def test_bad_links_show_denied_page(kind: str, server: VoilaServer, page: Callable[..., Any]) -> None:
    good = make_token("alice", server.secret, timedelta(hours=1))
    tokens = {
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "expired": make_token("alice", server.secret, timedelta(seconds=-5)),
        "wrong-secret": make_token("alice", "another-secret", timedelta(hours=1)),
        "missing": None,
        "unknown-user": make_token("mallory", server.secret, timedelta(hours=1)),
    }
    token = tokens[kind]
    url = server.url("conferencing.ipynb", **({"token": token} if token else {}))
    p = page(url, wait_for=".cw-denied")
    text = p.locator(".cw-denied").inner_text()
    assert "link" in text.lower() or "account" in text.lower()
    assert p.locator(APP).count() == 0
    assert p.locator(".cw-tile").count() == 0


def test_hostile_message_is_inert(world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]) -> None:
    store, _ = world
    tag = secrets.token_hex(3)
    title = f"XSS {tag}"
    cid = case_chat(store, title)
    payloads = [
        '<img src=x onerror="window.__xss=1;alert(1)">',
        "<script>window.__xss=1;alert(1)</script>",
        "[click](javascript:window.__xss=1)",
    ]
    for body in payloads:
        store.post_message(NewMessage(conversation_id=cid, body=body), author="tom.tech")
    p = open_app(page, server, "alice")
    open_tile(p, title)
    stream = p.locator(".cw-stream .cw-message")
    wait_for_text(stream, "<img src=x onerror")  # shown as text
    wait_for_text(stream, "<script>window.__xss=1")
    for link in p.locator(".cw-stream a").all():
        assert "javascript" not in (link.get_attribute("href") or "")
    p.locator(".cw-stream .cw-message").last.hover()
    assert p.evaluate("window.__xss") is None
    assert p.dialogs == []
    assert p.locator(".cw-stream script, .cw-stream img[onerror]").count() == 0
