"""Pages whose browser is gone end; pages that are open, even idle, live on and lose nothing (issue 12).

The kernel of a page that vanished without its unload beacon used to live as long as its conversations stayed
busy, because every live update counts as kernel activity. ``voila.kernel_pool.PoolKernelManager`` shuts a kernel
down once it has had no websocket connection for ``abandon_timeout`` (default ``cull_idle_timeout``), whatever its
activity; the websocket ping closes connections whose peer vanished silently. These tests shorten the timeouts
on a private server and prove, in Chromium:

- a crashed tab (CDP ``Page.crash``) whose conversation keeps receiving messages has its kernel shut down within
  the timeout, while another page in that conversation receives every message and an idle open page lives on;
- a page whose network vanishes without closing anything (a TCP proxy that stops passing bytes) is noticed by the
  ping and ends the same way;
- ten pages whose connections are all cut at once reconnect and show every message exactly once.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import Service, Store
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.testing import wait_until

from .support import RecordedPage, VoilaServer, case_chat, wait_for_text
from .tcp_proxy import tcp_proxy

pytestmark = [pytest.mark.browser, pytest.mark.slow]
APP = ".cw-app"
SECRET = "abandoned-page-secret"
CULL_IDLE_TIMEOUT = 15
"""Seconds; voila.json's 600 s (``cull_idle_timeout`` and ``abandon_timeout``), shortened on a private server."""
CULL_INTERVAL = 2
CULL_ARGS = [
    f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_TIMEOUT}",
    f"--PoolKernelManager.abandon_timeout={CULL_IDLE_TIMEOUT}",
    f"--MappingKernelManager.cull_interval={CULL_INTERVAL}",
]
SLACK = 20
"""Seconds on top of a deadline, for a busy 2-core machine."""


@dataclass(frozen=True, kw_only=True)
class World:
    store: Store
    data_dir: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("abandoned")
    store = Store(f"sqlite:///{data_dir / 'store.db'}")
    seed_demo(store)
    yield World(store=store, data_dir=data_dir)
    store.close()


@pytest.fixture()
def server(world: World, voila_server: Callable[..., VoilaServer]) -> VoilaServer:
    return voila_server(
        store_url=world.store.url, secret=SECRET, data_dir=world.data_dir, reuse=False, extra_args=CULL_ARGS
    )


def kernel_model(server: VoilaServer, kernel_id: str) -> dict[str, Any] | None:
    """``GET /api/kernels/<id>`` (``connections`` counts open websockets); ``None`` once the kernel is gone."""
    try:
        with urllib.request.urlopen(f"{server.base_url}/api/kernels/{kernel_id}", timeout=5) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise

def open_conversation(page: Callable[..., RecordedPage], url: str, title: str) -> RecordedPage:
    p = page(url, wait_for=f"{APP} .cw-history .cw-tile")
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    return p


def stream_bodies(p: RecordedPage, tag: str) -> list[str]:
    """Texts of the stream's messages that carry ``tag``, in order."""
    return list(
        p.evaluate(
            """tag => [...document.querySelectorAll('.cw-stream .cw-message')]
                .map(m => m.innerText).filter(t => t.includes(tag))""",
            tag,
        )
    )


class Poster:
    """Posts numbered messages into a conversation, one per ``every`` seconds, as a technician's Service."""

    def __init__(self, store: Store, conversation_id: int, tag: str, every: float = 1.0) -> None:
        self.service = Service(store, "tom.tech")
        self.conversation_id = conversation_id
        self.tag = tag
        self.every = every
        self.sent: list[str] = []
        self._last = 0.0

    def tick(self) -> None:
        """Post the next message if ``every`` seconds have passed since the last one."""
        if time.monotonic() - self._last >= self.every:
            body = f"{self.tag} update {len(self.sent) + 1:03d}"
            self.service.post(self.conversation_id, body, client_id=f"{self.tag}-{len(self.sent)}")
            self.sent.append(body)
            self._last = time.monotonic()


def wait_for_all(p: RecordedPage, poster: Poster, timeout: float = 30.0) -> None:
    """Every message the poster sent is in the page's stream, exactly once and in order."""

    def complete() -> bool:
        shown = stream_bodies(p, poster.tag)
        return [s for s in poster.sent if any(s in b for b in shown)] == poster.sent

    wait_until(complete, timeout, f"all {len(poster.sent)} messages in the page")
    shown = stream_bodies(p, poster.tag)
    for body in poster.sent:
        assert sum(body in b for b in shown) == 1, f"{body!r} shown {sum(body in b for b in shown)} times"


def assert_abandoned_kernel_ends(server: VoilaServer, kernel: str, poster: Poster, limit: float) -> float:
    """Keep the conversation busy until the kernel is gone; the seconds it took (fails after ``limit``)."""
    dropped = time.monotonic()

    def gone() -> bool:
        poster.tick()
        return kernel_model(server, kernel) is None

    wait_until(gone, limit, "the abandoned page's kernel to be shut down", interval=0.2)
    assert f"Culling abandoned kernel {kernel}" in server.log()
    return time.monotonic() - dropped


def test_crashed_page_kernel_ends_while_its_conversation_is_busy(
    world: World, server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    tag = secrets.token_hex(3)
    title = f"Abandoned {tag}"
    cid = case_chat(world.store, title)
    customer = open_conversation(page, server.link("alice"), title)
    technician = open_conversation(page, server.link("tom.tech"), title)
    idle = page(server.link("bella"), wait_for=f"{APP} .cw-history .cw-tile")  # another company: sees none of it
    crashed, watching, resting = customer.kernel_id(), technician.kernel_id(), idle.kernel_id()
    opened = time.monotonic()
    poster = Poster(world.store, cid, tag)
    poster.tick()
    wait_for_all(customer, poster)

    # The tab dies without unload (no shutdown beacon): its websocket closes, its kernel keeps running.
    cdp = customer.context.new_cdp_session(customer.page)
    with contextlib.suppress(Exception):  # the crashed target never answers
        cdp.send("Page.crash", timeout=2000)
    wait_until(lambda: (kernel_model(server, crashed) or {}).get("connections") == 0, 20, "the socket to close")
    assert kernel_model(server, crashed) is not None, "the kernel went away at once; this test proves nothing"

    took = assert_abandoned_kernel_ends(server, crashed, poster, CULL_IDLE_TIMEOUT + 2 * CULL_INTERVAL + SLACK)
    # Busy all along: the idle rule alone would never have culled it.
    assert len(poster.sent) >= CULL_IDLE_TIMEOUT // 2
    print(f"crashed page's kernel ended {took:.1f} s after the crash ({len(poster.sent)} messages meanwhile)")

    # Nothing else was lost: the technician's page got every message, live, and its kernel runs on.
    wait_for_all(technician, poster)
    assert (kernel_model(server, watching) or {}).get("connections", 0) >= 1
    # The idle open page outlives the idle timeout plus two cull passes (checked all along) and still answers.
    outlive = CULL_IDLE_TIMEOUT + 2 * CULL_INTERVAL

    def outlived() -> bool:
        assert kernel_model(server, resting) is not None, "the idle open page's kernel was culled"
        return time.monotonic() - opened > outlive

    wait_until(outlived, outlive + SLACK, "the idle page to outlive the cull timeout", interval=0.5)
    idle.locator(".cw-tile").first.click()
    idle.locator(".cw-messages .cw-area-title").first.wait_for(state="visible", timeout=15_000)
    technician.assert_no_errors("Failed to load resource")


def test_page_whose_network_vanishes_is_noticed_by_the_ping_and_ends(
    world: World, server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    tag = secrets.token_hex(3)
    title = f"Vanished {tag}"
    cid = case_chat(world.store, title)
    poster = Poster(world.store, cid, tag)
    technician = open_conversation(page, server.link("tom.tech"), title)
    with tcp_proxy(server.port) as proxy:
        customer = open_conversation(page, proxy.via(server.link("alice")), title)
        kernel = customer.kernel_id()
        poster.tick()
        wait_for_all(customer, poster)

        # Out of coverage: nothing passes any more, and nothing is closed either (no FIN, no RST).
        proxy.freeze()
        ping = json.loads((Path(__file__).parents[2] / "voila.json").read_text())["Voila"]["tornado_settings"]
        interval_s = ping["ws_ping_interval"] / 1000
        # The ping notices within 3 intervals (+1 for its phase), then the abandon timeout runs.
        limit = 4 * interval_s + CULL_IDLE_TIMEOUT + 2 * CULL_INTERVAL + SLACK
        took = assert_abandoned_kernel_ends(server, kernel, poster, limit)
        assert "WebSocket ping timeout" in server.log()
        print(f"vanished page's kernel ended {took:.1f} s after its network froze")
    wait_for_all(technician, poster)


@pytest.mark.timeout(600)
def test_ten_pages_whose_connections_drop_reconnect_and_lose_nothing(
    world: World, server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    tag = secrets.token_hex(3)
    title = f"Reconnect {tag}"
    cid = case_chat(world.store, title)
    poster = Poster(world.store, cid, tag, every=0.6)
    with tcp_proxy(server.port) as proxy:
        logins = ["alice", "tom.tech"] * 5
        pages = [open_conversation(page, proxy.via(server.link(login)), title) for login in logins]
        kernels = {p.kernel_id() for p in pages}
        assert len(kernels) == 10
        poster.tick()
        for p in pages:
            wait_for_all(p, poster)

        # Every connection is cut at once, while messages keep coming.
        before = proxy.accepted
        assert proxy.drop_all() >= 10
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            poster.tick()
            time.sleep(0.1)
        wait_until(lambda: proxy.accepted >= before + 10, 60, "the ten pages to reconnect")
        for _ in range(3):
            poster.every = 0
            poster.tick()
        for p in pages:
            wait_for_all(p, poster, timeout=60)
        assert all(kernel_model(server, k) is not None for k in kernels)
        assert "Replaying" in server.log() or "Restoring connection" in server.log()
