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
