"""Resumable uploads in real headless Chromium against a live Voilà server (the repository's dashboard).

The page's upload travels to the Voilà server's own endpoint (``voila/upload_handler.py``), not over the kernel
websocket. The network is throttled with CDP ``Network.emulateNetworkConditions`` so the cut lands about half
way: going offline drops the connection, going online again resumes from the server's offset; a page reload in
the middle resumes once the same file is chosen again. Each time the stored bytes' SHA-256 matches, and what the
page sent in all (its XHR upload progress, per file) is at most 1.1x the file.
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
from conferencing_widgets.testing import wait_until

from .support import VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
SIZE = 50 * 1000 * 1000
THROTTLE = 12 * 1000 * 1000
"""Upload bytes per second under CDP throttling: about 4 s for the file, so the cut lands near half."""
TIMEOUT_S = 240.0

@pytest.fixture()
def server(world: tuple[Store, Path], voila_server: Callable[..., VoilaServer]) -> VoilaServer:
    store, data_dir = world
    return voila_server(
        store_url=store.url,
        secret="upload-resume-secret",
        data_dir=data_dir,
        extra_env={"CONFERENCING_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024)},
    )


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("upload-file") / "spindle-noise.bin"
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        for _ in range(SIZE // (1 << 20) + 1):
            block = os.urandom(min(1 << 20, SIZE - fh.tell()))
            digest.update(block)
            fh.write(block)
    return path, digest.hexdigest()


def new_chat(store: Store) -> tuple[int, str]:
    title = f"Resume {secrets.token_hex(3)}"
    case = store.get_case_by_number("SR-2026-00042")
    conv = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title=title, created_by="alice", members=["adam"], case_id=case.id
    )
    return conv.id, title


def open_chat(page: Callable[..., Any], server: VoilaServer, title: str) -> Any:
    p = page(server.link("alice"), wait_for=".cw-app .cw-history .cw-tile")
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    return p


def throttle(p: Any, *, offline: bool = False) -> Any:
    cdp = p.context.new_cdp_session(p.page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": THROTTLE},
    )
    return cdp


def set_offline(cdp: Any, offline: bool) -> None:
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": THROTTLE},
    )


def choose(p: Any, path: Path, button: str = ".cw-upload .cw-upload-button") -> None:
    if p.locator(".cw-plus-menu").first.is_hidden():
        p.locator("button.cw-plus").click()
    with p.expect_file_chooser() as chooser:
        p.locator(button).first.click()
    chooser.value.set_files(str(path))


def sent(p: Any, name: str) -> dict[str, Any]:
    return p.evaluate("(n) => (window.__cwUploadStats || {})[n] || {sent: 0, requests: 0, resumedAt: []}", name)


def wait_until_half_sent(p: Any, name: str) -> None:
    p.wait_for_function(
        "([n, half]) => ((window.__cwUploadStats || {})[n] || {sent: 0}).sent >= half",
        arg=[name, SIZE // 2],
        timeout=TIMEOUT_S * 1000,
        polling=50,
    )


def stored(store: Store, chat: int, name: str, timeout: float = TIMEOUT_S) -> Any:
    found: list[Any] = []

    def ready() -> bool:
        found[:] = [a for a in attachments_of(store, chat) if a.name == name]
        return bool(found)

    wait_until(ready, timeout, f"{name} stored")
    return found[0]


def no_partial_files(data_dir: Path) -> bool:
    return not list((data_dir / "uploads").glob("*.part"))


def test_cut_at_half_offline_then_online_resumes_and_sends_only_the_rest(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any], big_file: tuple[Path, str]
) -> None:
    store, data_dir = world
    path, digest = big_file
    chat, title = new_chat(store)
    p = open_chat(page, server, title)
    cdp = throttle(p)

    choose(p, path)
    wait_until_half_sent(p, path.name)
    set_offline(cdp, True)
    p.locator(".cw-upload-item.cw-upload-paused").wait_for(timeout=30_000)
    before = sent(p, path.name)["sent"]
    assert SIZE * 0.4 < before < SIZE * 0.9
    set_offline(cdp, False)

    att = stored(store, chat, path.name)
    assert att.sha256 == digest and att.size == SIZE
    stats = sent(p, path.name)
    assert stats["resumedAt"] and stats["resumedAt"][0] >= SIZE * 0.4  # resumed from the server's offset
    assert stats["sent"] <= 1.1 * SIZE, stats
    wait_for_text(p.locator(".cw-upload-item.cw-upload-done"), "shared")
    wait_until(lambda: no_partial_files(data_dir), 10, "the partial file moved into the blob store")
    assert p.evaluate("() => localStorage.getItem('cw-upload-pending-v1')") in (None, "{}")


def test_reload_in_the_middle_resumes_when_the_same_file_is_chosen_again(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any], big_file: tuple[Path, str]
) -> None:
    store, _ = world
    path, digest = big_file
    chat, title = new_chat(store)
    p = open_chat(page, server, title)
    throttle(p)

    choose(p, path)
    wait_until_half_sent(p, path.name)
    # The reload drops the running request; what the page had sent is read at the last moment before it.
    before = p.evaluate("(n) => { const s = window.__cwUploadStats[n].sent; location.reload(); return s; }", path.name)
    p.locator(".cw-app .cw-history .cw-tile").first.wait_for(timeout=60_000)
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    if p.locator(".cw-plus-menu").first.is_hidden():
        p.locator("button.cw-plus").click()
    pending = p.locator(".cw-upload-item.cw-upload-pending")
    wait_for_text(pending, "choose the same file again to resume")
    assert path.name in pending.inner_text()
    throttle(p)
    choose(p, path, ".cw-upload-pending .cw-upload-resume")

    att = stored(store, chat, path.name)
    assert att.sha256 == digest
    after = sent(p, path.name)
    assert after["resumedAt"] and after["resumedAt"][0] >= SIZE * 0.4
    assert before + after["sent"] <= 1.1 * SIZE, (before, after)
    assert attachments_of(store, chat) == [att]  # one file, posted once


def test_without_the_endpoint_the_page_falls_back_to_the_kernel_websocket(
    world: tuple[Store, Path], voila_server: Callable[..., VoilaServer], page: Callable[..., Any], tmp_path: Path
) -> None:
    store, data_dir = world
    # jupyter_server's own identity provider: Voilà without the upload routes (like a notebook in JupyterLab).
    server = voila_server(
        store_url=store.url,
        secret="upload-resume-secret",
        data_dir=data_dir,
        extra_env={"CONFERENCING_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024)},
        extra_args=["--Voila.identity_provider_class=jupyter_server.auth.identity.PasswordIdentityProvider"],
    )
    chat, title = new_chat(store)
    path = tmp_path / "fallback-trace.bin"
    data = os.urandom(3_000_000)
    path.write_bytes(data)
    p = open_chat(page, server, title)
    choose(p, path)
    att = stored(store, chat, path.name, timeout=120)
    assert att.sha256 == hashlib.sha256(data).hexdigest()
    wait_for_text(p.locator(".cw-upload-item.cw-upload-done"), "shared")
    assert sent(p, path.name)["requests"] == 0  # no PATCH: the bytes went over the websocket
    assert p.locator(".cw-upload-camera").count() == 0  # a desktop pointer: no camera entry
    p.assert_no_errors("404")


def test_phones_get_a_camera_entry_and_photos_lose_their_location(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any], tmp_path: Path
) -> None:
    from PIL import Image

    store, _ = world
    chat, title = new_chat(store)
    photo = tmp_path / "IMG_2044.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees
    exif[0x8825] = {1: "N", 2: (48.0, 8.0, 0.0), 3: "E", 4: (11.0, 34.0, 0.0)}  # where it was taken
    exif[0x010F] = "PhoneMaker"
    Image.new("RGB", (64, 32), (200, 30, 30)).save(photo, "JPEG", exif=exif)
    p = page(
        server.link("alice"),
        wait_for=".cw-app .cw-history .cw-tile",
        is_mobile=True,
        has_touch=True,
        viewport={"width": 412, "height": 860},
    )
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    if p.locator(".cw-plus-menu").first.is_hidden():
        p.locator("button.cw-plus").click()
    camera = p.locator(".cw-upload .cw-upload-camera")
    wait_for_text(camera, "Take a photo")
    picker = p.locator(".cw-upload .cw-upload-camera-input")
    assert picker.get_attribute("accept") == "image/*" and picker.get_attribute("capture") == "environment"
    with p.expect_file_chooser() as chooser:
        camera.click()
    assert not chooser.value.is_multiple()
    chooser.value.set_files(str(photo))

    att = stored(store, chat, photo.name, timeout=120)
    from conferencing_widgets.core.config import Settings
    from conferencing_widgets.files.service import blob_store_for

    data = blob_store_for(Settings(data_dir=world[1])).read(att.sha256)
    img = Image.open(io.BytesIO(data))
    assert img.size == (32, 64) and not img.getexif() and b"PhoneMaker" not in data
