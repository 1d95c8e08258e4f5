"""Files chosen offline (issue 16) in real headless Chromium against a live Voilà server.

A file chosen while the browser is offline (``context.set_offline(True)``) shows as "waiting for the network" and
is kept in IndexedDB under the user's scope; after a reload it is back without being chosen again, and once the
page is online it is stored exactly once, with the right bytes, and IndexedDB is empty.

A page cannot be reloaded while the browser is really offline (there is no service worker: the reload would
fail), so for the reload the page is online at the network level while ``navigator.onLine`` says "offline" (an
init script reads a sessionStorage flag); going "online" clears the flag and fires the browser's ``online`` event.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import Store
from conferencing_widgets.files.store import attachments_of
from conferencing_widgets.testing import wait_until
from conferencing_widgets.ui.messages import outbox_scope

from .support import PASTE_PNG, PNG_1PX, RecordedPage, VoilaServer, case_chat, wait_for_text

pytestmark = pytest.mark.browser

FAKE_OFFLINE = """
Object.defineProperty(Navigator.prototype, "onLine", {
  configurable: true,
  get() { return window.sessionStorage.getItem("cw-test-offline") !== "1"; },
});
"""
"""``navigator.onLine`` is false while the tab's sessionStorage says so (the real network stays up)."""

KEPT = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("cw-upload-outbox", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("files", { keyPath: "uid" });
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const all = db.transaction("files", "readonly").objectStore("files").getAll();
    all.onsuccess = () => {
      db.close();
      resolve(all.result.map((e) => ({ uid: e.uid, scope: e.scope, conversation_id: e.conversation_id, name: e.name,
        size: e.size, blob: e.file instanceof Blob && e.file.size === e.size })));
    };
  };
})"""
"""The entries of the page's IndexedDB file outbox (without the bytes)."""




def open_chat(page: Callable[..., RecordedPage], url: str, title: str) -> RecordedPage:
    p = page(url, wait_for=".cw-app .cw-history .cw-tile", viewport={"width": 1400, "height": 900})
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    wait_until(lambda: "conversation=" in p.evaluate("location.href"), 15, "the conversation in the URL")
    return p


def landed_in(p: RecordedPage, title: str) -> None:
    p.locator(".cw-app .cw-history .cw-tile").first.wait_for(state="visible", timeout=60_000)
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title, timeout_ms=30_000)


def open_plus(p: RecordedPage) -> None:
    if p.locator(".cw-plus-menu").first.is_hidden():
        p.locator("button.cw-plus").click()


def kept(p: RecordedPage) -> list[dict[str, Any]]:
    return list(p.evaluate(KEPT))


def test_a_file_chosen_offline_waits_survives_a_reload_and_is_stored_once_when_online(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., RecordedPage], tmp_path: Path
) -> None:
    store, _ = world
    title = f"Basement {secrets.token_hex(3)}"
    chat = case_chat(store, title)
    path = tmp_path / f"basement-{secrets.token_hex(2)}.bin"
    data = os.urandom(300_000)
    path.write_bytes(data)
    p = open_chat(page, server.link("alice"), title)
    p.context.add_init_script(FAKE_OFFLINE)  # for the reload below; until then the flag is unset

    open_plus(p)  # the kernel opens the "+" menu: before the network goes (or paste/drop the file into the composer)
    p.locator(".cw-upload .cw-upload-button").first.wait_for(state="visible")
    p.context.set_offline(True)
    p.locator(".cw-reconnecting").wait_for(state="visible")
    p.locator(".cw-upload input.cw-upload-input").first.set_input_files(str(path))
    row = p.locator(".cw-upload-item.cw-upload-offline", has_text=path.name)
    wait_for_text(row, "waiting for the network")
    wait_until(lambda: len(kept(p)) == 1, 10, "the file kept in IndexedDB")
    (entry,) = kept(p)
    # A picture pasted into the composer meanwhile waits the same way; the composer's line says so.
    pasted = f"pasted-{secrets.token_hex(2)}.png"
    p.evaluate(PASTE_PNG, [pasted, PNG_1PX])
    wait_for_text(p.locator(".cw-composer .cw-composer-upload"), f"{pasted}: waiting for the network")
    wait_until(lambda: len(kept(p)) == 2, 10, "the pasted file kept in IndexedDB")
    assert entry["scope"] == outbox_scope("alice") and entry["conversation_id"] == chat
    assert entry["name"] == path.name and entry["size"] == len(data) and entry["blob"]
    assert p.locator(".cw-upload-note").count() == 0, "IndexedDB works here: no warning about a reload"
    assert [a for a in attachments_of(store, chat) if a.name == path.name] == []

    # Reloaded while "offline": the row is back from IndexedDB, without choosing the file again.
    p.evaluate("() => { sessionStorage.setItem('cw-test-offline', '1'); }")
    # This page too, so the network coming back does not send the file before the reload.
    p.evaluate("() => {" + FAKE_OFFLINE + "}")
    p.context.set_offline(False)
    p.page.reload()
    landed_in(p, title)
    open_plus(p)
    wait_for_text(p.locator(".cw-upload-item.cw-upload-offline", has_text=path.name), "waiting for the network")
    assert p.locator(".cw-upload-pending").count() == 0  # not offered as "choose the same file again"
    wait_for_text(p.locator(".cw-upload-item.cw-upload-offline", has_text=pasted), "waiting for the network")
    assert sorted(e["name"] for e in kept(p)) == sorted([path.name, pasted])
    assert [a for a in attachments_of(store, chat) if a.name in (path.name, pasted)] == []

    # Online: it goes to the conversation it was chosen in, once, with its bytes; IndexedDB is empty after.
    p.evaluate("() => { sessionStorage.removeItem('cw-test-offline'); window.dispatchEvent(new Event('online')); }")
    found: list[Any] = []

    def stored() -> bool:
        found[:] = [a for a in attachments_of(store, chat) if a.name == path.name]
        return bool(found)

    wait_until(stored, 90, f"{path.name} stored")
    (att,) = found
    wait_until(lambda: any(a.name == pasted for a in attachments_of(store, chat)), 60, f"{pasted} stored")
    assert att.sha256 == hashlib.sha256(data).hexdigest() and att.size == len(data)
    wait_for_text(p.locator(".cw-upload-item.cw-upload-done", has_text=path.name), "shared")
    wait_until(lambda: kept(p) == [], 10, "the IndexedDB entry to go")

    p.page.reload()
    landed_in(p, title)
    open_plus(p)
    p.wait_for_timeout(1500)  # time for a (wrong) second upload to start
    assert p.locator(".cw-upload-item").count() == 0 and kept(p) == []
    assert [a.id for a in attachments_of(store, chat) if a.name == path.name] == [att.id]
    assert len([a for a in attachments_of(store, chat) if a.name == pasted]) == 1


def test_without_indexeddb_the_file_waits_in_memory_and_the_row_says_a_reload_loses_it(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., RecordedPage], tmp_path: Path
) -> None:
    store, _ = world
    title = f"Private {secrets.token_hex(3)}"
    chat = case_chat(store, title)
    path = tmp_path / f"private-{secrets.token_hex(2)}.txt"
    path.write_bytes(b"no storage in private mode\n" * 100)
    p = page()
    p.context.add_init_script("Object.defineProperty(window, 'indexedDB', { configurable: true, value: undefined });")
    p.page.goto(server.link("alice"))
    p.locator(".cw-app .cw-history .cw-tile").first.wait_for(state="visible")
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    open_plus(p)
    p.locator(".cw-upload .cw-upload-button").first.wait_for(state="visible")

    p.context.set_offline(True)
    p.locator(".cw-reconnecting").wait_for(state="visible")
    p.locator(".cw-upload input.cw-upload-input").first.set_input_files(str(path))
    row = wait_for_text(p.locator(".cw-upload-item.cw-upload-offline", has_text=path.name), "waiting for the network")
    wait_for_text(row.locator(".cw-upload-note"), "lost if the page is reloaded")

    p.context.set_offline(False)
    wait_until(lambda: any(a.name == path.name for a in attachments_of(store, chat)), 90, f"{path.name} stored")
    wait_for_text(p.locator(".cw-upload-item.cw-upload-done", has_text=path.name), "shared")
    assert p.locator(".cw-upload-note").count() == 0
