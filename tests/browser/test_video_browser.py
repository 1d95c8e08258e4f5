"""Video calls in real headless Chromium against live Voilà servers (SQLite store).

- Jitsi: the cw-video button opens a new window whose URL is the provider's room URL (a stub Jitsi server on
  loopback records the request), with Chromium's pop-up blocker ON, so the window must come from the click;
  the other member's Join appears live; closing the window ends the lone starter's call on both pages.
- Built-in call: two Chromium pages with fake camera and microphone connect peer to peer on loopback, each
  receives the other's video, and hanging up ends the call record on both sides.
"""

from __future__ import annotations

import http.server
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conferencing_widgets import Store
from conferencing_widgets.calls import store as call_store
from conferencing_widgets.testing import launch_chromium, wait_until

from .support import BROWSER_SECRET, VoilaServer, case_chat, wait_for_text

pytestmark = pytest.mark.browser
SECRET = BROWSER_SECRET
FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


# -- fixtures -------------------------------------------------------------------------------------


class JitsiStub:
    """A tiny HTTP server on loopback standing in for Jitsi Meet; records every request path."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                stub.paths.append(self.path)
                body = b"<!doctype html><title>Jitsi stub</title><p>meeting</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jitsi"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def jitsi() -> Iterator[JitsiStub]:
    stub = JitsiStub()
    yield stub
    stub.close()

def launch(chromium: Any, *, extra_args: Sequence[str] = (), **options: Any) -> Any:
    """Another Chromium from the session's Playwright (its own flags)."""
    return launch_chromium(chromium.browser_type, extra_args=extra_args, **options)


def new_context(browser: Any) -> Any:
    """A context whose requests to other hosts never leave the machine (as the ``page`` fixture does)."""
    context = browser.new_context()
    context.set_default_timeout(30_000)
    return context


def open_conversation(p: Any, server: VoilaServer, login: str, title: str) -> None:
    p.goto(server.link(login))
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)



# -- Jitsi ----------------------------------------------------------------------------------------


def test_video_button_opens_jitsi_room_window_and_other_member_sees_join(
    world: tuple[Store, Path],
    jitsi: JitsiStub,
    voila_server: Callable[..., VoilaServer],
    chromium: Any,
    page: Callable[..., Any],
) -> None:
    store, data_dir = world
    server = voila_server(
        store_url=store.url,
        secret=SECRET,
        data_dir=data_dir,
        extra_env={"CONFERENCING_JITSI_URL": jitsi.url, "CONFERENCING_VIDEO_PROVIDER": "jitsi"},
    )
    title = f"Jitsi {secrets.token_hex(3)}"
    cid = case_chat(store, title)
    tom = page()
    open_conversation(tom, server, "tom.tech", title)

    # The pop-up blocker stays on (Playwright turns it off by default): only a window opened by the click works.
    browser = launch(chromium, ignore_default_args=["--disable-popup-blocking"])
    try:
        context = new_context(browser)
        alice = context.new_page()
        open_conversation(alice, server, "alice", title)
        button = alice.locator(".cw-video button.cw-video-button")
        button.wait_for(state="visible")
        with context.expect_page(timeout=30_000) as popup_info:
            button.click()
        popup = popup_info.value  # no Playwright call on Alice's page until the window exists
        popup.wait_for_url(f"{jitsi.url}/**", timeout=30_000)
        call = next(c for c in _calls(store, cid))
        room = call_store.get_call(store, call).room
        assert urlsplit(popup.url).path == urlsplit(f"{jitsi.url}/{room}").path
        assert f"/jitsi/{room}" in jitsi.paths  # the stub really served the room page
        assert all("alice" not in path.lower() for path in jitsi.paths)

        # Tom's stream shows Join live; Alice's own row too; the engineer-facing parts carry no room name.
        wait_for_text(tom.locator(".cw-stream .cw-message"), "Video call", timeout_ms=5_000)
        join = tom.locator(".cw-stream a.cw-call-join")
        join.wait_for(state="visible", timeout=5_000)
        assert "/voila/render/call.ipynb?call=" in (join.get_attribute("href") or "")
        assert room not in tom.content()

        # Alice closes the meeting window: she was alone, so the call ends and Join disappears for Tom.
        popup.close()
        join.wait_for(state="detached", timeout=10_000)
        wait_for_text(tom.locator(".cw-stream .cw-message"), "ended", timeout_ms=5_000)
        ended = call_store.get_call(store, call)
        assert ended.ended_at is not None and ended.participants == ("alice",)
        wait_for_text(tom.locator(".cw-details-media"), "Alice Moreau", timeout_ms=5_000)
    finally:
        browser.close()


def _calls(store: Store, conversation_id: int) -> list[int]:
    from conferencing_widgets.calls.store import calls_of

    return [c.id for c in calls_of(store, conversation_id)]


# -- built-in call ---------------------------------------------------------------------------------


VIDEO_FLOWING = """() => {
  const v = document.querySelector('.cw-call-root video.cw-call-remote');
  if (!v || v.videoWidth === 0) return null;
  return {w: v.videoWidth, t: v.currentTime};
}"""


def _receives_video(p: Any) -> dict[str, float]:
    first = None
    deadline = time.monotonic() + 30
    while first is None:
        assert time.monotonic() < deadline, f"no remote video on {p.url}"
        first = p.evaluate(VIDEO_FLOWING)
        if first is None:
            time.sleep(0.2)
    seen: list[Any] = []

    def frames_keep_coming() -> bool:
        seen.append(p.evaluate(VIDEO_FLOWING))
        return seen[-1] is not None and seen[-1]["t"] > first["t"]

    wait_until(frames_keep_coming, 10, f"video frames to keep coming on {p.url}")
    later: dict[str, float] = seen[-1]
    return later


def test_builtin_call_connects_two_pages_peer_to_peer_and_hang_up_ends_it(
    world: tuple[Store, Path], voila_server: Callable[..., VoilaServer], chromium: Any
) -> None:
    store, data_dir = world
    server = voila_server(
        store_url=store.url, secret=SECRET, data_dir=data_dir, extra_env={"CONFERENCING_VIDEO_PROVIDER": "builtin"}
    )
    title = f"Builtin {secrets.token_hex(3)}"
    cid = case_chat(store, title)
    browser = launch(chromium, extra_args=FAKE_MEDIA)
    try:
        alice_ctx, tom_ctx = new_context(browser), new_context(browser)
        alice_app = alice_ctx.new_page()
        open_conversation(alice_app, server, "alice", title)
        with alice_ctx.expect_page(timeout=30_000) as popup_info:
            alice_app.locator(".cw-video button.cw-video-button").click()
        alice = popup_info.value
        alice.wait_for_url("**/voila/render/call.ipynb?**", timeout=30_000)
        (call_id,) = _calls(store, cid)
        tom = tom_ctx.new_page()
        tom.goto(server.link("tom.tech", "call.ipynb", call=call_id))
        for p in (alice, tom):
            wait_for_text(p.locator(".cw-call-status"), "Press Join call", timeout_ms=60_000)
        alice.locator(".cw-call-join-button").click()
        wait_for_text(alice.locator(".cw-call-status"), "Waiting for others", timeout_ms=10_000)
        tom.locator(".cw-call-join-button").click()

        for p in (alice, tom):
            got = _receives_video(p)
            assert got["w"] > 0
        stats = tom.evaluate("() => document.querySelector('.cw-call-root').dataset.firstRemoteFrameAt")
        assert stats  # requestVideoFrameCallback saw a decoded remote frame
        assert set(call_store.get_call(store, call_id).participants) == {"alice", "tom.tech"}

        tom.locator(".cw-call-hangup").click()
        wait_for_text(alice.locator(".cw-call-status"), "The call has ended", timeout_ms=10_000)
        wait_for_text(tom.locator(".cw-call-status"), "You left the call", timeout_ms=5_000)
        wait_until(lambda: call_store.get_call(store, call_id).ended_at is not None, 5, "the call record to end")
        assert alice.evaluate("() => document.querySelectorAll('video.cw-call-remote').length") == 0
        # Alice's dashboard drops the Join link once the call has ended.
        wait_for_text(alice_app.locator(".cw-stream .cw-message"), "ended", timeout_ms=5_000)
        assert alice_app.locator(".cw-stream a.cw-call-join").count() == 0
    finally:
        browser.close()


def test_call_page_without_camera_says_so_and_can_still_join(
    world: tuple[Store, Path], voila_server: Callable[..., VoilaServer], chromium: Any
) -> None:
    store, data_dir = world
    server = voila_server(
        store_url=store.url, secret=SECRET, data_dir=data_dir, extra_env={"CONFERENCING_VIDEO_PROVIDER": "builtin"}
    )
    cid = case_chat(store, f"Nocam {secrets.token_hex(3)}")
    from conferencing_widgets import Service, Settings
    from conferencing_widgets.calls.service import CallService

    call = CallService(Service(store, "alice", Settings(secret=SECRET, video_provider="builtin"))).start(cid).call
    # No fake devices and a refused permission: the page must explain, not fail silently.
    browser = launch(chromium, extra_args=["--deny-permission-prompts"])
    try:
        p = new_context(browser).new_page()
        p.goto(server.link("tom.tech", "call.ipynb", call=call.id))
        error = p.locator(".cw-call-media-error")
        error.wait_for(state="visible", timeout=60_000)
        text = error.inner_text()
        assert "camera" in text.lower() and ("refused" in text or "No camera" in text)
        p.locator(".cw-call-join-button").click()
        wait_for_text(p.locator(".cw-call-status"), "Waiting for others", timeout_ms=10_000)
        assert call_store.get_call(store, call.id).participants == ("tom.tech",)
    finally:
        browser.close()
