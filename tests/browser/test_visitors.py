"""Visitors one after another on the real dashboard: preheated kernels, closed pages and culled kernels.

``voila.json`` preheats ``conferencing.ipynb``: each kernel runs the notebook before anyone asks for it and
waits in ``get_query_string()`` for its visitor. These tests prove in Chromium that a preheated kernel shows
only the visitor who was handed to it, never the one before, and that kernels of pages that vanish without
saying goodbye are culled even though the app's live follower keeps running in them.

Closing a page (unload handlers run) shuts its kernel down: ``test_harness.py::
test_closing_or_reloading_a_page_shuts_its_kernel_down`` proves that on a probe notebook; here visitor 1's
close is only checked because the next visitor's "was it preheated?" check relies on her kernel being gone.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psutil
import pytest

from conferencing_widgets import ConversationKind, Store
from conferencing_widgets.core.identity import make_token
from conferencing_widgets.core.model import NewMessage
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.testing import wait_until
from conferencing_widgets.voila.serve import voila_config_dir

from .support import REPO_DASHBOARDS, RecordedPage, VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
APP = ".cw-app"
SECRET = "visitors-test-secret"
CULL_IDLE_TIMEOUT = 10
"""Seconds; voila.json's 600 s, shortened on a private server through ``extra_args``."""
CULL_INTERVAL = 2
POOL_FILLED = "Kernel pool of conferencing.ipynb is filled"


def pooled_kernels() -> int:
    """Kernels Voilà keeps preheated for the repository's dashboards (``kernel_pools_config`` of voila.json)."""
    config = json.loads((voila_config_dir() / "voila.json").read_text(encoding="utf-8"))
    pools = config["VoilaKernelManager"]["kernel_pools_config"]
    return sum(
        int(pool["pool_size"])
        for name, pool in pools.items()
        if name != "default" and (REPO_DASHBOARDS / name).exists()
    )



@dataclass(frozen=True, kw_only=True)
class Customer:
    """A demo customer with a conversation and a message that only she (and her company) may ever see."""

    login: str
    name: str
    company: str
    title: str
    message: str

    def private_strings(self) -> list[str]:
        return [self.name, self.company, self.title, self.message]


@dataclass(frozen=True, kw_only=True)
class World:
    store: Store
    data_dir: Path
    alice: Customer
    bella: Customer
    alice_titles: frozenset[str]
    """Every conversation title in Alice's history that Bella's history does not hold (demo ones included)."""


def _customer(store: Store, login: str, case_number: str, tag: str) -> Customer:
    user = store.get_user(login)
    case = store.get_case_by_number(case_number)
    title = f"{user.display_name.split()[0]} private {tag}"
    conv = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE,
        title=title,
        created_by=login,
        members=list(case.technicians),
        case_id=case.id,
    )
    message = f"{login} confidential note {tag}"
    store.post_message(NewMessage(conversation_id=conv.id, body=message), author=login)
    return Customer(
        login=login, name=user.display_name, company=store.get_group(user.group_id).name, title=title, message=message
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A demo store of this module's own (so its server serves these visitors only) with tagged private data."""
    data_dir = tmp_path_factory.mktemp("visitors")
    store = Store(f"sqlite:///{data_dir / 'store.db'}")
    seed_demo(store)
    tag = secrets.token_hex(4)
    alice = _customer(store, "alice", "SR-2026-00042", tag)  # ACME
    bella = _customer(store, "bella", "SR-2026-00061", tag)  # Borg
    assert store.get_user("alice").group_id != store.get_user("bella").group_id
    titles = {c.conversation.title for c in store.inbox("alice", limit=500)}
    titles -= {c.conversation.title for c in store.inbox("bella", limit=500)}
    yield World(store=store, data_dir=data_dir, alice=alice, bella=bella, alice_titles=frozenset(titles))
    store.close()


def arrive_preheated(server: VoilaServer, page: Callable[..., RecordedPage], url: str, wait_for: str) -> RecordedPage:
    """Open ``url`` once only pooled kernels run, and check that the page got one of *those* kernels.

    The kernel process serving the page existed before the request was sent, and Voilà started it as a
    preheated one (``VOILA_PREHEAT=True`` in its environment), so it ran the notebook before this visitor existed.
    """
    # Right after start-up Voilà serves a cold kernel until the pool's first kernel is registered (it logs this).
    wait_until(lambda: POOL_FILLED in server.log(), 60, "the dashboard's kernel pool to fill")
    waiting = server.wait_for_kernel_count(pooled_kernels(), timeout=60)  # earlier pages' kernels are gone
    p = page(url, wait_for=wait_for)
    pid = server.kernel_pid(p.kernel_id())
    assert pid is not None, f"no kernel process for the page's kernel {p.kernel_id()}"
    assert pid in waiting, f"the page's kernel {pid} was started for it, not preheated before it (pool: {waiting})"
    assert psutil.Process(pid).environ().get("VOILA_PREHEAT") == "True"
    return p


def close_and_wait_for_shutdown(server: VoilaServer, p: RecordedPage) -> None:
    """Close like a user (unload runs) and wait until the page's kernel is gone."""
    kernel = p.kernel_id()
    pid = server.kernel_pid(kernel)
    p.close()
    wait_until(lambda: server.kernel_status(kernel) == 404, 20, "the closed page's kernel to shut down")
    wait_until(lambda: pid is None or not psutil.pid_exists(pid), 20, "the closed page's kernel process to exit")


def assert_no_kernel_holds(server: VoilaServer, token: str, whose: str) -> None:
    """No kernel process of the server has ``token`` anywhere in its environment (Voilà passes the visitor's URL
    into the next pool kernel it starts; ``kernel_pool.PoolKernelManager`` drops it)."""
    pids = server.kernel_pids()
    assert pids, "no kernels to inspect"
    holding = [pid for pid in pids if any(token in v for v in psutil.Process(pid).environ().values())]
    assert not holding, f"{whose} link token is in the environment of kernel(s) {holding}"


def assert_absent(html: str, strings: list[str], whose: str) -> None:
    leaked = [s for s in strings if s in html]
    assert not leaked, f"{whose} data in the page: {leaked}"


def test_each_visitor_of_a_preheated_kernel_sees_only_herself(
    world: World, voila_server: Callable[..., VoilaServer], page: Callable[..., RecordedPage]
) -> None:
    server = voila_server(store_url=world.store.url, secret=SECRET, data_dir=world.data_dir)
    alice, bella = world.alice, world.bella
    alice_link, bella_link = server.link(alice.login), server.link(bella.login)
    alice_secrets = [*alice.private_strings(), *world.alice_titles, alice_link.split("token=")[1]]
    bella_secrets = [*bella.private_strings(), bella_link.split("token=")[1]]

    # Visitor 1: Alice of ACME sees herself and her company's conversations, opens one and reads it.
    first = arrive_preheated(server, page, alice_link, f"{APP} .cw-history .cw-tile")
    wait_for_text(first.locator(".cw-topbar"), alice.name)
    wait_for_text(first.locator(".cw-topbar"), alice.company)
    first.locator(".cw-tile", has_text=alice.title).first.click()
    wait_for_text(first.locator(".cw-stream .cw-message"), alice.message)
    first_pid = server.kernel_pid(first.kernel_id())
    close_and_wait_for_shutdown(server, first)
    # The pool kernel started while Alice was served waits for the next visitor without her link.
    server.wait_for_kernel_count(pooled_kernels(), timeout=60)
    assert_no_kernel_holds(server, alice_link.split("token=")[1], "visitor 1's")

    # Visitor 2: Bella of Borg, on the kernel Voilà preheated while Alice was being served.
    second = arrive_preheated(server, page, bella_link, f"{APP} .cw-history .cw-tile")
    assert server.kernel_pid(second.kernel_id()) != first_pid
    wait_for_text(second.locator(".cw-topbar"), bella.name)
    wait_for_text(second.locator(".cw-topbar"), bella.company)
    second.locator(".cw-tile", has_text=bella.title).first.click()
    wait_for_text(second.locator(".cw-stream .cw-message"), bella.message)
    html = second.content()
    # The serialized DOM holds what she sees (history, top bar, stream), so a missing string below means absent.
    assert all(s in html for s in bella.private_strings()), "page.content() lacks what the page shows"
    assert_absent(html, alice_secrets, "visitor 1's")
    second.assert_no_errors("Failed to load resource")
    close_and_wait_for_shutdown(server, second)

    # Visitor 3: Bella's expired link, on the next preheated kernel: the denied page and nobody's data.
    expired = make_token(bella.login, SECRET, timedelta(seconds=-5))
    third = arrive_preheated(server, page, server.url("conferencing.ipynb", token=expired), ".cw-denied")
    assert "expired" in third.locator(".cw-denied").inner_text().lower()
    assert third.locator(f"{APP}, .cw-tile, .cw-topbar").count() == 0
    html = third.content()
    assert_absent(html, bella_secrets, "the previous visitor's")
    assert_absent(html, alice_secrets, "visitor 1's")


@pytest.mark.slow  # waits for the culler
def test_kernel_of_a_vanished_page_is_culled_despite_its_live_follower(
    world: World, voila_server: Callable[..., VoilaServer], page: Callable[..., RecordedPage]
) -> None:
    cull_args = [
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_TIMEOUT}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL}",
    ]
    server = voila_server(
        store_url=world.store.url, secret=SECRET, data_dir=world.data_dir, reuse=False, extra_args=cull_args
    )
    assert set(cull_args) <= set(psutil.Process(server.proc.pid).cmdline())
    p = page(server.link(world.alice.login), wait_for=f"{APP} .cw-history .cw-tile")
    kernel = p.kernel_id()
    pid = server.kernel_pid(kernel)
    assert pid is not None

    # An open page is never culled (cull_connected is false), even past the idle timeout: it still answers.
    time.sleep(CULL_IDLE_TIMEOUT + 2 * CULL_INTERVAL)
    assert server.kernel_status(kernel) == 200
    p.locator(".cw-tile", has_text=world.alice.title).first.click()
    wait_for_text(p.locator(".cw-stream .cw-message"), world.alice.message)

    # The connection drops without unload (crash, lost network): Voilà never hears a shutdown request.
    dropped = time.monotonic()
    p.context.close()
    time.sleep(2)
    assert server.kernel_status(kernel) == 200, "the kernel went away without culling; this test proves nothing"

    # Meanwhile the store keeps changing where Alice cannot see: her app's live follower wakes up and reads the
    # events, but must send nothing to the (gone) page, or the kernel would never count as idle.
    borg_only = world.store.create_conversation(
        kind=ConversationKind.DIRECT, title=f"Borg only {secrets.token_hex(3)}", created_by="bella", members=["bruno"]
    )
    last_post = time.monotonic()

    def culled() -> bool:
        nonlocal last_post
        if time.monotonic() - last_post > 1:
            world.store.post_message(NewMessage(conversation_id=borg_only.id, body="unrelated"), author="bella")
            last_post = time.monotonic()
        return server.kernel_status(kernel) == 404

    limit = CULL_IDLE_TIMEOUT + 2 * CULL_INTERVAL + 15  # idle timeout, culler period, a busy 2-core machine
    wait_until(culled, limit, "the vanished page's kernel to be culled")
    took = time.monotonic() - dropped
    wait_until(lambda: not psutil.pid_exists(pid), 20, "the culled kernel process to exit")
    assert f"Culling 'idle' kernel 'python3' ({kernel})" in server.log()
    # Preheated kernels waiting for their visitor are never culled, however long they wait.
    assert len(server.kernel_pids()) == pooled_kernels()
    print(f"culled {took:.1f} s after the page vanished (idle timeout {CULL_IDLE_TIMEOUT} s)")
