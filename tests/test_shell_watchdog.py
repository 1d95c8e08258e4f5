"""``voila.shell_watchdog``: a page's shell request left unread by an idle kernel gets the kernel poked (issue 12).

The stall itself cannot be produced on demand (a lost wake-up of ipykernel's shell socket), so the watchdog is
driven by hand: requests sent, answers seen, the clock moved. The browser suite runs it on every page.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

from conferencing_widgets.voila.shell_watchdog import (
    POKE_EVERY_S,
    STALL_S,
    ShellWatchdog,
    header_id,
    v1_channel_and_header,
)


def watchdog(busy: bool = False) -> tuple[ShellWatchdog, list[int]]:
    pokes: list[int] = []
    dog = ShellWatchdog(lambda: pokes.append(1), lambda: busy, logging.getLogger("test"), name="k-1")
    return dog, pokes


def run(fn: Any) -> Any:
    async def inside() -> Any:  # PeriodicCallback wants a running loop
        return fn()

    return asyncio.run(inside())


def test_an_answered_request_is_forgotten_and_never_poked() -> None:
    def scenario() -> None:
        dog, pokes = watchdog()
        dog.sent("m1")
        dog.answered("m1")
        assert dog.pending == {}
        assert dog.check(now=10**9) is False and pokes == []
        dog.stop()

    run(scenario)


def test_a_request_unread_by_an_idle_kernel_gets_one_poke_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    def scenario() -> None:
        dog, pokes = watchdog()
        dog.sent("m1")
        start = dog.pending["m1"]
        assert dog.check(now=start + STALL_S / 2) is False, "not yet: the kernel may simply be slow"
        with caplog.at_level(logging.WARNING):
            assert dog.check(now=start + STALL_S + 0.1) is True
        assert pokes == [1] and "k-1" in caplog.text and "poking" in caplog.text
        assert dog.check(now=start + STALL_S + 1) is False, "one poke per interval"
        assert dog.check(now=start + STALL_S + POKE_EVERY_S + 0.2) is True and len(pokes) == 2
        dog.answered("m1")
        assert dog.check(now=start + 10 * POKE_EVERY_S) is False and dog.pokes == 2
        dog.stop()

    run(scenario)


def test_a_busy_kernel_is_left_alone() -> None:
    def scenario() -> None:
        dog, pokes = watchdog(busy=True)
        dog.sent("m1")
        assert dog.check(now=dog.pending["m1"] + 100) is False and pokes == []
        dog.stop()

    run(scenario)


def test_a_failing_poke_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def scenario() -> None:
        def broken() -> None:
            raise RuntimeError("kernel shutting down")

        dog = ShellWatchdog(broken, lambda: False, logging.getLogger("test"), name="k-2")
        dog.sent("m1")
        with caplog.at_level(logging.WARNING):
            assert dog.check(now=dog.pending["m1"] + STALL_S + 1) is True
        assert "kernel shutting down" in caplog.text
        dog.stop()

    run(scenario)


def test_a_flood_of_requests_keeps_a_bounded_memory() -> None:
    def scenario() -> None:
        dog, _pokes = watchdog()
        for i in range(5000):
            dog.sent(f"m{i}")
        assert len(dog.pending) == 1000 and "m4999" in dog.pending and "m0" not in dog.pending
        dog.sent(None)
        dog.answered(None)
        dog.stop()

    run(scenario)


def test_header_ids_from_every_form_a_header_comes_in() -> None:
    raw = json.dumps({"msg_id": "abc", "msg_type": "comm_msg"}).encode()
    assert header_id(raw) == header_id(memoryview(raw)) == header_id(raw.decode()) == "abc"
    assert header_id({"msg_id": "abc"}) == "abc"
    assert header_id(b"not json") is None and header_id(b"[1, 2]") is None and header_id({}) is None
    assert header_id(b"\xff\xfe") is None


def test_v1_frames_give_channel_and_header_without_the_buffers() -> None:
    parts = [b'{"msg_id": "x1"}', b"{}", b"{}", b"{}", b"B" * 100_000]
    assert v1_channel_and_header(serialize_msg_to_ws_v1(parts, "shell")) == ("shell", b'{"msg_id": "x1"}')
    assert v1_channel_and_header((1).to_bytes(8, "little") + (8).to_bytes(8, "little")) == ("", b"")
