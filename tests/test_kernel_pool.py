"""``voila.kernel_pool.PoolKernelManager``: kernels without a websocket connection end; connected ones never do.

Driven without real kernels: a fake kernel record, the connection counts jupyter_server keeps, a fake clock and a
recording ``shutdown_kernel``. The browser proof is ``tests/browser/test_abandoned_page.py``.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from conferencing_widgets.voila import kernel_pool
from conferencing_widgets.voila.kernel_pool import PoolKernelManager

KID = "k-1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(kernel_pool.time, "monotonic", fake)
    return fake


def manager(monkeypatch: pytest.MonkeyPatch, *, abandon: float = 30.0, state: str = "idle") -> tuple[Any, list[str]]:
    km = PoolKernelManager(abandon_timeout=abandon, cull_idle_timeout=600)
    km._kernels[KID] = SimpleNamespace(execution_state=state, kernel_name="python3")
    km._kernel_connections[KID] = 0
    shut: list[str] = []

    async def shutdown_kernel(kernel_id: str, *args: Any, **kwargs: Any) -> None:
        shut.append(kernel_id)
        km._kernels.pop(kernel_id, None)

    async def idle_rule(kernel_id: str) -> None:  # jupyter_server's rule: this kernel is never idle (busy chat)
        return None

    monkeypatch.setattr(km, "shutdown_kernel", shutdown_kernel)
    monkeypatch.setattr(kernel_pool.AsyncMappingKernelManager, "cull_kernel_if_idle", lambda self, k: idle_rule(k))
    return km, shut


def cull(km: Any) -> None:
    asyncio.run(km.cull_kernel_if_idle(KID))


def test_a_kernel_whose_page_left_ends_after_the_timeout(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    km, shut = manager(monkeypatch)
    km.notify_connect(KID)
    clock.now += 3600
    cull(km)
    assert shut == [], "a connected kernel must never be culled, however long it is open"
    km.notify_disconnect(KID)
    clock.now += 29
    cull(km)
    assert shut == []
    clock.now += 2
    cull(km)
    assert shut == [KID]


def test_a_reconnect_resets_the_clock_and_a_second_tab_keeps_it_alive(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    km, shut = manager(monkeypatch)
    km.notify_connect(KID)
    km.notify_connect(KID)  # two connections (e.g. a reconnect that overlaps the old socket)
    km.notify_disconnect(KID)
    clock.now += 100
    cull(km)
    assert shut == []
    km.notify_disconnect(KID)
    clock.now += 20
    km.notify_connect(KID)  # the page came back (flaky network)
    km.notify_disconnect(KID)
    clock.now += 20
    cull(km)
    assert shut == [], "the clock restarts at the last disconnect"
    clock.now += 11
    cull(km)
    assert shut == [KID]


def test_a_never_connected_kernel_waits_while_busy_then_counts_from_idle(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    km, shut = manager(monkeypatch, state="busy")  # a cold kernel still executing the notebook for its page
    cull(km)
    clock.now += 1000
    cull(km)
    assert shut == []
    km._kernels[KID].execution_state = "idle"
    cull(km)  # the clock starts here
    clock.now += 29
    cull(km)
    assert shut == []
    clock.now += 1
    cull(km)
    assert shut == [KID]


@pytest.mark.parametrize(("abandon", "expected"), [(-1.0, 600.0), (0.0, 0.0), (45.0, 45.0)])
def test_abandon_timeout_defaults_to_the_idle_timeout_and_zero_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, clock: Clock, abandon: float, expected: float
) -> None:
    km, shut = manager(monkeypatch, abandon=abandon)
    assert km.abandon_after == expected
    km.notify_connect(KID)
    km.notify_disconnect(KID)
    clock.now += 10**6
    cull(km)
    assert shut == ([] if expected == 0 else [KID])


def test_voila_json_ends_abandoned_kernels_and_forces_no_reconnects() -> None:
    import json

    from conferencing_widgets.voila.serve import voila_config_dir

    config = json.loads((voila_config_dir() / "voila.json").read_text(encoding="utf-8"))
    tornado = config["Voila"]["tornado_settings"]
    # ws_ping_timeout <= ws_ping_interval closes every kernel socket at its first ping (a reconnect per interval).
    assert "ws_ping_timeout" not in tornado
    assert isinstance(tornado["ws_ping_interval"], int) and 0 < tornado["ws_ping_interval"] <= 30_000
    assert config["PoolKernelManager"]["abandon_timeout"] > 0
    assert config["MappingKernelManager"]["cull_idle_timeout"] > 0  # the culler runs the abandon rule too
    assert config["MappingKernelManager"]["cull_connected"] is False


class FakeSocket:
    """A kernel websocket connection as ``end_kernel_connections`` sees it."""

    def __init__(self, kernel_id: str) -> None:
        self.kernel_id = kernel_id
        self.said: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.websocket_handler = SimpleNamespace(close=lambda code, reason: setattr(self, "closed", (code, reason)))

    def _send_status_message(self, status: str) -> None:
        self.said.append(status)


def test_pages_of_a_shut_down_kernel_are_told_it_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    # jupyter_server leaves their sockets open and silent; the page would think it is connected (issue 16).
    from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

    from conferencing_widgets.voila.kernel_ws import end_kernel_connections

    mine, other = FakeSocket(KID), FakeSocket("k-2")
    monkeypatch.setattr(ZMQChannelsWebsocketConnection, "_open_sockets", {mine, other})
    km = PoolKernelManager(abandon_timeout=30, cull_idle_timeout=600)

    async def parent_shutdown(self: Any, kernel_id: str, *args: Any, **kwargs: Any) -> None:
        assert not mine.said, "told only once the kernel is really gone"

    monkeypatch.setattr(kernel_pool.AsyncMappingKernelManager, "shutdown_kernel", parent_shutdown)
    asyncio.run(km.shutdown_kernel(KID))
    assert mine.said == ["dead"] and mine.closed == (1000, "kernel shut down")
    assert other.said == [] and other.closed is None
    broken = FakeSocket("k-3")
    broken._send_status_message = lambda status: (_ for _ in ()).throw(OSError("gone"))  # type: ignore[method-assign]
    monkeypatch.setattr(ZMQChannelsWebsocketConnection, "_open_sockets", {broken})
    assert end_kernel_connections("k-3") == 1 and broken.closed is not None, "a failing status still closes"
