"""The feed follower every page uses (ui/live.py): live batches, retries after a failing batch, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest
from support import World

from conferencing_widgets.chat.events import VisibleEvents
from conferencing_widgets.core.model import Event
from conferencing_widgets.ui.live import FeedFollower


def _feed_of(world: World) -> VisibleEvents:
    return VisibleEvents(world.service("alice"))


def test_refresh_hands_over_each_event_once(seeded: World) -> None:
    batches: list[list[Event]] = []
    follower = FeedFollower(_feed_of(seeded), batches.append, name="test")
    assert follower.refresh() == 0 and batches == []
    msg = seeded.service("alice").post(seeded.acme_direct, "one")
    assert follower.refresh() >= 1
    assert any(e.kind == "message" and e.ref_id == msg.id for e in batches[-1])
    assert follower.refresh() == 0 and len(batches) == 1
    assert follower.last_event == seeded.store.last_event_id()


def test_live_loop_survives_a_failing_batch_and_loses_nothing(seeded: World) -> None:
    seen: list[int] = []
    failures = [1]

    def apply(events: list[Event]) -> None:
        if failures:
            failures.pop()
            raise RuntimeError("a view failed to update")
        seen.extend(e.ref_id for e in events if e.kind == "message" and e.ref_id is not None)

    async def scenario() -> None:
        follower = FeedFollower(_feed_of(seeded), apply, name="test")
        follower.start()
        assert follower.running
        alice = seeded.service("alice")
        first = alice.post(seeded.acme_direct, "lost?")
        second = alice.post(seeded.acme_direct, "after the failure")
        for _ in range(100):
            await asyncio.sleep(0.05)
            if second.id in seen:
                break
        follower.stop()
        assert not follower.running
        # The failed batch was tried again: both messages arrived, once each, in order.
        assert seen == [first.id, second.id]

    asyncio.run(scenario())


def test_a_batch_that_keeps_failing_is_skipped(seeded: World) -> None:
    seen: list[int] = []
    poison = seeded.service("alice").post(seeded.acme_direct, "poison")

    def apply(events: list[Event]) -> None:
        ids = [e.ref_id for e in events if e.kind == "message"]
        if poison.id in ids:
            raise RuntimeError("this event always breaks the view")
        seen.extend(i for i in ids if i is not None)

    async def scenario() -> None:
        follower = FeedFollower(_feed_of(seeded), apply, name="test")
        follower.last_event = _event_of(seeded, poison.id) - 1
        follower.start()
        for _ in range(200):
            await asyncio.sleep(0.05)
            if follower.last_event >= _event_of(seeded, poison.id):
                break
        later = seeded.service("alice").post(seeded.acme_direct, "after the poison")
        for _ in range(100):
            await asyncio.sleep(0.05)
            if later.id in seen:
                break
        follower.stop()
        assert seen == [later.id]

    asyncio.run(scenario())


def _event_of(world: World, message_id: int) -> int:
    events = world.store.changes(after=0, limit=10_000)
    return next(e.id for e in events if e.kind == "message" and e.ref_id == message_id)


def test_done_ends_the_live_loop(seeded: World) -> None:
    finished = [False]

    async def scenario() -> None:
        follower = FeedFollower(_feed_of(seeded), lambda _e: None, name="test", done=lambda: finished[0])
        follower.start()
        finished[0] = True
        seeded.service("alice").post(seeded.acme_direct, "wake the loop")
        task = follower._task
        assert task is not None
        await asyncio.wait_for(task, timeout=10)
        assert follower.source._feed is None  # type: ignore[attr-defined]  # the loop released its connection

    asyncio.run(scenario())


def test_closing_while_waiting_logs_nothing(seeded: World, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 18, papercut 2: ``app.close(); store.close()`` printed "live update failed; retrying" and a traceback,
    because the follower's task was still waiting on the feed when its connection went away."""

    async def scenario() -> None:
        follower = FeedFollower(_feed_of(seeded), lambda _e: None, name="test")
        follower.start()
        task = follower._task
        assert task is not None
        await asyncio.sleep(0.2)  # let the task reach its wait on the feed (no synchronisation depends on it)
        follower.stop()
        seeded.store.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
        assert task.done() and not follower.running

    with caplog.at_level(logging.DEBUG, logger="conferencing_widgets"):
        asyncio.run(scenario())
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy]
