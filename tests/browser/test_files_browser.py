"""File sharing in real headless Chromium against a live Voilà server (the repository's dashboard).

One page uploads through "+" -> Upload new file (the file chooser, chunked binary messages) while another page
of a second member watches: files appear live in the watcher's Files list, downloads match byte for byte,
images preview, an over-limit file is refused before sending, and a hostile file name stays inert text.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import ConversationKind, Store
from conferencing_widgets.files.store import attachments_of

from .support import VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
LIMIT = 64 * 1024 * 1024
"""The server's upload limit in these tests (CONFERENCING_MAX_UPLOAD_BYTES): shown as "64 MB"."""
UPLOAD_TIMEOUT_MS = 240_000
"""Generous: the test machine is small and shared."""

@pytest.fixture()
def server(world: tuple[Store, Path], voila_server: Callable[..., VoilaServer]) -> VoilaServer:
    store, data_dir = world
    return voila_server(
        store_url=store.url,
        secret="files-browser-secret",
        data_dir=data_dir,
        extra_env={"CONFERENCING_MAX_UPLOAD_BYTES": str(LIMIT)},
    )


def new_chat(store: Store) -> tuple[int, str]:
    """A fresh case chat of alice and adam (and the case's technician), so tests never share a files list."""
    title = f"Files {secrets.token_hex(3)}"
    case = store.get_case_by_number("SR-2026-00042")
    conv = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title=title, created_by="alice", members=["adam"], case_id=case.id
    )
    return conv.id, title


def open_chat(page: Callable[..., Any], server: VoilaServer, login: str, title: str) -> Any:
    p = page(server.link(login), wait_for=".cw-app .cw-history .cw-tile")
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    return p


def choose_files(p: Any, *paths: Path) -> None:
    """Open "+" -> Upload new file and pick ``paths`` in the file chooser."""
    if p.locator(".cw-plus-menu").first.is_hidden():
        p.locator("button.cw-plus").click()
    with p.expect_file_chooser() as chooser:
        p.locator(".cw-upload .cw-upload-button").click()
    assert chooser.value.is_multiple()
    chooser.value.set_files([str(path) for path in paths])


def write_random(path: Path, size: int) -> str:
    """Write ``size`` random bytes (in 1 MiB pieces); their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        left = size
        while left:
            block = os.urandom(min(left, 1 << 20))
            digest.update(block)
            fh.write(block)
            left -= len(block)
    return digest.hexdigest()


def download_sha256(p: Any, attachment_id: int, within: str = ".cw-details-files") -> tuple[str, str]:
    """Click a file in ``within``; the SHA-256 and suggested name of what the browser saved."""
    with p.expect_download(timeout=UPLOAD_TIMEOUT_MS) as download:
        p.locator(f"{within} [data-cw-file='{attachment_id}']").first.click()
    path = download.value.path()
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest(), download.value.suggested_filename


def test_large_uploads_reach_the_watcher_live_and_download_exactly(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any], tmp_path: Path
) -> None:
    store, _ = world
    chat, title = new_chat(store)
    small, big = tmp_path / "trace-5mb.bin", tmp_path / "spindle-60mb.bin"
    sums = {small.name: write_random(small, 5 * 1000 * 1000), big.name: write_random(big, 60 * 1000 * 1000)}
    watcher = open_chat(page, server, "adam", title)
    uploader = open_chat(page, server, "alice", title)

    choose_files(uploader, small, big)
    uploader.locator(".cw-upload-item progress").first.wait_for(state="attached")
    files = watcher.locator(".cw-details-files")
    wait_for_text(files, small.name, timeout_ms=UPLOAD_TIMEOUT_MS)
    wait_for_text(files, big.name, timeout_ms=UPLOAD_TIMEOUT_MS)
    # Newest first, and the stream shows the file messages too.
    assert files.inner_text().index(big.name) < files.inner_text().index(small.name)
    wait_for_text(watcher.locator(".cw-stream .cw-message"), big.name)

    stored = {a.name: a for a in attachments_of(store, chat)}
    assert {n: a.sha256 for n, a in stored.items()} == sums
    for name in (small.name, big.name):
        digest, suggested = download_sha256(watcher, stored[name].id)
        assert digest == sums[name] and suggested == name
    watcher.assert_no_errors()
    uploader.assert_no_errors()


def test_image_preview_over_limit_refusal_and_hostile_names(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any], tmp_path: Path
) -> None:
    from PIL import Image

    store, _ = world
    chat, title = new_chat(store)
    image = tmp_path / "gearbox.png"
    buf = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 140, 60)).save(buf, "PNG")
    image.write_bytes(buf.getvalue())
    hostile = tmp_path / '<img src=x onerror="window.__pwned=1">\u202egnp.txt'
    hostile.write_text("harmless content\n")
    too_big = tmp_path / "too-big.bin"
    with too_big.open("wb") as fh:
        fh.truncate(LIMIT + 1)  # sparse: the browser refuses it from its size, no byte is read or sent
    watcher = open_chat(page, server, "adam", title)
    uploader = open_chat(page, server, "alice", title)

    choose_files(uploader, too_big)
    refused = uploader.locator(".cw-upload-item.cw-upload-refused")
    wait_for_text(refused, "larger than the limit of 64 MB")
    assert attachments_of(store, chat) == []

    choose_files(uploader, image, hostile)
    files = watcher.locator(".cw-details-files")
    wait_for_text(files, "gearbox.png", timeout_ms=60_000)
    wait_for_text(files, '<img src=x onerror="window.__pwned=1">', timeout_ms=60_000)

    # The image: a thumbnail in the list, and the full picture in the viewer.
    thumb = files.locator("img.cw-file-list-thumb").first
    thumb.wait_for(state="visible")
    assert thumb.evaluate("img => img.naturalWidth > 0 && img.src.startsWith('data:image/jpeg')")
    (img_att,) = [a for a in attachments_of(store, chat) if a.name == "gearbox.png"]
    files.locator(f"[data-cw-file='{img_att.id}']").last.click()
    preview = watcher.locator(".cw-viewer .cw-viewer-image")
    preview.wait_for(state="visible", timeout=30_000)
    watcher.wait_for_function(
        "() => { const i = document.querySelector('.cw-viewer .cw-viewer-image'); "
        "return i && i.complete && i.naturalWidth === 320; }"
    )
    assert preview.get_attribute("src").startswith("blob:")

    # The hostile name is text: no element was created from it, no script ran, the RTL override is gone.
    for p in (watcher, uploader):
        assert p.evaluate("() => window.__pwned === undefined")
        assert p.locator(".cw-app img[onerror]").count() == 0
    shown = files.inner_text()
    assert '<img src=x onerror="window.__pwned=1">gnp.txt' in shown and "\u202e" not in shown
    (bad,) = [a for a in attachments_of(store, chat) if a.name.endswith("gnp.txt")]
    files.locator(f"[data-cw-file='{bad.id}']").first.click()
    wait_for_text(watcher.locator(".cw-viewer .cw-viewer-text"), "harmless content")
    watcher.assert_no_errors()
    uploader.assert_no_errors()
