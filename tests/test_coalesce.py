"""A live page updates what surrounds the open stream once per burst (ui/coalesce.py), and the stream at once."""

from __future__ import annotations

import asyncio
import logging

import pytest
from support import World

from conferencing_widgets import Service
from conferencing_widgets.ui import ConferencingApp
from conferencing_widgets.ui.coalesce import Coalescer


async def _until(condition: object, timeout: float = 10.0) -> None:
    """Wait on a condition (polled), never on a fixed sleep."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "the condition never became true"
        await asyncio.sleep(0.01)


def test_without_a_running_loop_it_runs_at_once() -> None:
    runs: list[list[int]] = []
    later = Coalescer(runs.append)
    later.add([1])
    later.add([2, 3])
    assert runs == [[1], [2, 3]] and not later.waiting
    later.add([4], defer=False)
    assert runs[-1] == [4]


def test_a_burst_is_one_run_with_everything_in_order() -> None:
    runs: list[list[int]] = []

    async def scenario() -> None:
        later = Coalescer(runs.append, quiet=0.05, max_wait=30)
        for i in range(5):
            later.add([i])
        assert runs == [] and later.waiting
        await _until(lambda: runs)
        assert runs == [[0, 1, 2, 3, 4]] and not later.waiting

    asyncio.run(scenario())


def test_a_burst_that_never_pauses_still_runs_by_max_wait() -> None:
    runs: list[list[int]] = []

    async def scenario() -> None:
        later = Coalescer(runs.append, quiet=0.2, max_wait=0.3)
        added = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not runs:  # a batch every 10 ms never leaves a quiet 0.2 s
            assert loop.time() < deadline, "max_wait never ran the batches"
            later.add([added])
            added += 1
            await asyncio.sleep(0.01)
        assert runs[0] == list(range(len(runs[0]))) and later.waiting is (added > len(runs[0]))
        later.cancel()

    asyncio.run(scenario())


def test_a_failing_timer_run_is_logged_and_the_next_burst_runs(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[list[int]] = []
    fail = [True]

    def run(items: list[int]) -> None:
        if fail:
            fail.pop()
            raise RuntimeError("a panel failed to update")
        runs.append(items)

    async def scenario() -> None:
        later = Coalescer(run, quiet=0.02)
        later.add([1])
        await _until(lambda: not later.waiting and "deferred page update failed" in caplog.text)
        later.add([2])
        await _until(lambda: runs)
        assert runs == [[2]]

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())


def test_a_live_page_shows_a_burst_at_once_then_refreshes_its_tiles_and_marks_it_read_once(seeded: World) -> None:
    """The stream takes each message as it comes; the history tiles (tens of ms each) and the read mark follow
    once, afterwards."""
    order: list[str] = []

    async def scenario() -> None:
        alice = ConferencingApp(Service(seeded.store, "alice"), live=False)
        alice.open_conversation(seeded.acme_direct)
        refresh = alice.history.refresh

        def counted() -> None:
            order.append("tiles")
            refresh()

        alice.history.refresh = counted  # type: ignore[method-assign]
        marks: list[int] = []
        mark_read = alice.service.mark_read

        def counted_mark(cid: int, message_id: int | None = None) -> int:
            marks.append(message_id or 0)
            return mark_read(cid, message_id)

        alice.service.mark_read = counted_mark  # type: ignore[method-assign]
        alice.start_live()
        try:
            adam = seeded.service("adam", posts_per_minute=1000)
            sent = [adam.post(seeded.acme_direct, f"burst {i}") for i in range(4)]
            ids = {m.id for m in sent}

            def shown() -> bool:
                have = {r["id"] for r in alice.messages.stream.window}
                if ids <= have and "stream" not in order:
                    order.append("stream")
                return ids <= have

            await _until(shown)
            await _until(lambda: "tiles" in order)
            await asyncio.sleep(0)  # let a second, wrongly scheduled run show itself
            assert order[0] == "stream", order
            assert order.count("tiles") <= 2, order  # once per burst (twice if the feed split it at a pause)
            # The burst is read once it was shown: one read mark (two if split), up to the newest message.
            await _until(lambda: marks and marks[-1] == max(ids))
            assert len(marks) <= 2, marks
            assert alice.service.unread(seeded.acme_direct) == 0
            # The tiles follow the page's own mark (on PostgreSQL no wake-up comes back for it: they refresh after it).
            await _until(lambda: alice.history.unread_for(seeded.acme_direct) == 0)
            # The page's own read mark comes back through the feed and refreshes the tiles' unread badges once
            # more; then the page is quiet.
            await _until(lambda: not alice._later.waiting)
            assert order.count("tiles") <= 2 + len(marks), order
        finally:
            alice.close()

    asyncio.run(scenario())
