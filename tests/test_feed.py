"""The live feed between OS processes: a post in one process wakes ``wait``/``wait_blocking`` in another, and a
lost listener connection loses nothing because readers catch up by event id."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from support import World, seed_world

from conferencing_widgets import ChangeFeed, Event, NewMessage, Store
from conferencing_widgets.store import audience
from conferencing_widgets.store.wakers import ENV_NO_RELAY, DataVersionWaker, DoorbellWaker

pytestmark = pytest.mark.timeout(120)

WAKE_LIMIT = 2.0
"""Seconds a wait may take after a post. Far below the feed's 10 s safety re-check, so only a real wake-up passes."""

POSTER = r"""
import sys
from conferencing_widgets.core.model import NewMessage
from conferencing_widgets.store import Store

store = Store(sys.argv[1])
store.last_event_id()  # connect before saying ready
print("ready", flush=True)
for line in sys.stdin:
    cmd, _, rest = line.rstrip("\n").partition(" ")
    if cmd == "quit":
        break
    author, cid, body = rest.split(" ", 2)
    msg, _ = store.post_message(NewMessage(conversation_id=int(cid), body=body), author=author)
    print(f"posted {msg.id}", flush=True)
store.close()
"""


class Poster:
    """A second OS process that posts messages when told to."""

    def __init__(self, url: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", POSTER, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._line() == "ready"

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line:
            raise AssertionError(f"the poster process died (exit code {self.proc.wait(5)})")
        return line

    def send(self, author: str, conversation_id: int, body: str) -> None:
        """Ask for a post without waiting for it."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"post {author} {conversation_id} {body}\n")
        self.proc.stdin.flush()

    def posted(self) -> int:
        """The id of the message the last ``send`` stored."""
        kind, _, value = self._line().partition(" ")
        assert kind == "posted"
        return int(value)

    def post(self, author: str, conversation_id: int, body: str) -> int:
        """Post and wait until it is committed."""
        self.send(author, conversation_id, body)
        return self.posted()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture()
def poster(seeded: World) -> Poster:
    p = Poster(seeded.store.url)
    yield p
    p.close()


def message_ids(events: list[Event]) -> list[int]:
    return [int(e.ref_id) for e in events if e.kind == "message" and e.ref_id is not None]


def collect_blocking(feed: ChangeFeed, after: int, count: int, timeout: float = 10.0) -> list[Event]:
    """Wait until ``count`` message events after ``after`` arrived (following the feed by id)."""
    got: list[Event] = []
    deadline = time.monotonic() + timeout
    while len(message_ids(got)) < count and time.monotonic() < deadline:
        new = feed.wait_blocking(after=after, timeout=max(0.01, deadline - time.monotonic()))
        got += new
        after = new[-1].id if new else after
    return got


async def collect_async(feed: ChangeFeed, after: int, count: int, timeout: float = 10.0) -> list[Event]:
    got: list[Event] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(message_ids(got)) < count and loop.time() < deadline:
        new = await feed.wait(after=after, timeout=max(0.01, deadline - loop.time()))
        got += new
        after = new[-1].id if new else after
    return got


def test_post_in_another_process_wakes_both_waits(seeded: World, poster: Poster) -> None:
    store, cid = seeded.store, seeded.acme_case_chat
    with store.feed() as feed:
        # Blocking wait.
        after = store.last_event_id()
        t0 = time.monotonic()
        poster.send("tom", cid, "hello-blocking")
        events = feed.wait_blocking(after=after, timeout=5)
        elapsed = time.monotonic() - t0
        assert elapsed < WAKE_LIMIT, f"wait_blocking took {elapsed:.2f}s"
        [mid] = message_ids(events)
        assert mid == poster.posted() and store.get_message(mid).body == "hello-blocking"
        assert all(e.id > after for e in events)

        # asyncio wait, in a fresh event loop.
        after = events[-1].id

        async def wait_async() -> tuple[list[Event], float]:
            t0 = time.monotonic()
            poster.send("tom", cid, "hello-async")
            found = await feed.wait(after=after, timeout=5)
            return found, time.monotonic() - t0

        events, elapsed = asyncio.run(wait_async())
        assert elapsed < WAKE_LIMIT, f"wait took {elapsed:.2f}s"
        [mid] = message_ids(events)
        assert mid == poster.posted() and store.get_message(mid).body == "hello-async"

        # Posts made while nobody waits are all returned by the next wait, in order.
        after = events[-1].id
        ids = [poster.post("tom", cid, f"batch-{i}") for i in range(3)]
        assert message_ids(feed.wait_blocking(after=after, timeout=5)) == ids

        # Nothing new: the wait times out with nothing.
        last = store.last_event_id()
        t0 = time.monotonic()
        assert feed.wait_blocking(after=last, timeout=0.3) == []
        assert 0.25 <= time.monotonic() - t0 < WAKE_LIMIT


def _listener_pids(store: Store) -> set[int]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()"
            )
        ).scalars()
        return {int(p) for p in rows}


def _terminate(store: Store, pid: int) -> None:
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one() is True


@pytest.fixture()
def pg_world(pg_store: Store) -> World:
    return seed_world(pg_store)


def idle_wait_cpu(wait: Callable[[], list[Event]]) -> tuple[list[Event], float]:
    """Run a wait that should find nothing; return its result and the CPU seconds the process spent meanwhile."""
    cpu = time.process_time()
    found = wait()
    return found, time.process_time() - cpu


@pytest.mark.postgres
def test_pg_terminated_listener_reconnects_and_catches_up(pg_world: World) -> None:
    store, cid = pg_world.store, pg_world.acme_case_chat
    poster = Poster(store.url)
    try:
        before = _listener_pids(store)
        with store.feed() as feed:
            [pid] = _listener_pids(store) - before

            # Blocking reader: kill its LISTEN connection and post while it is gone; the reader gets every event.
            after = store.last_event_id()
            _terminate(store, pid)
            ids = [poster.post("tom", cid, f"while-down-{i}") for i in range(4)]
            got = collect_blocking(feed, after, len(ids))
            assert message_ids(got) == ids
            after = got[-1].id
            # The next wait notices the dead socket, reconnects and waits quietly (no busy loop on the dead fd)...
            found, cpu = idle_wait_cpu(lambda: feed.wait_blocking(after=after, timeout=0.6))
            assert found == [] and cpu < 0.3, f"idle wait used {cpu:.2f}s CPU"
            [pid] = _listener_pids(store) - before
            # ...and a new post wakes it at once through the new connection.
            t0 = time.monotonic()
            poster.send("tom", cid, "after-reconnect")
            got = feed.wait_blocking(after=after, timeout=5)
            assert time.monotonic() - t0 < WAKE_LIMIT
            assert message_ids(got) == [poster.posted()]
            after = got[-1].id

            # asyncio reader: the same, with the socket watched by the event loop (add_reader).
            async def scenario() -> None:
                nonlocal after
                assert await feed.wait(after=after, timeout=0.1) == []  # now the loop watches the LISTEN socket
                _terminate(store, pid)
                ids = [poster.post("tom", cid, f"async-down-{i}") for i in range(3)]
                got = await collect_async(feed, after, len(ids))
                assert message_ids(got) == ids
                after = got[-1].id
                cpu = time.process_time()
                assert await feed.wait(after=after, timeout=0.6) == []
                cpu = time.process_time() - cpu
                assert cpu < 0.3, f"idle async wait used {cpu:.2f}s CPU"
                assert len(_listener_pids(store) - before) == 1
                t0 = time.monotonic()
                poster.send("tom", cid, "async-after-reconnect")
                woke = await feed.wait(after=after, timeout=5)
                elapsed = time.monotonic() - t0
                assert message_ids(woke) == [poster.posted()]
                assert elapsed < WAKE_LIMIT, f"async wait after the reconnect took {elapsed:.2f}s"

            asyncio.run(scenario())
    finally:
        poster.close()


def test_sqlite_polling_waker_wakes_too(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without inotify the feed polls ``PRAGMA data_version``; a commit from another connection still wakes it."""
    world = seed_world(sqlite_store)
    monkeypatch.setenv("CONFERENCING_FEED_POLL", "1")
    other = Store(sqlite_store.url)  # a second engine, as another process would have
    try:
        with sqlite_store.feed() as feed:
            assert isinstance(feed._waker, DataVersionWaker)
            after = sqlite_store.last_event_id()
            msg = NewMessage(conversation_id=world.acme_direct, body="polled")
            timer = threading.Timer(0.1, lambda: other.post_message(msg, author="adam"))
            t0 = time.monotonic()
            timer.start()
            events = feed.wait_blocking(after=after, timeout=5)
            timer.join()
            assert time.monotonic() - t0 < WAKE_LIMIT
            [mid] = message_ids(events)
            assert sqlite_store.get_message(mid).body == "polled"
    finally:
        other.close()


def test_a_sqlite_feed_of_everything_wakes_on_each_event_and_not_on_signals(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator's feed (no topics) watches the doorbell every event rings: woken at commit, not by the WAL."""
    world = seed_world(sqlite_store)
    monkeypatch.setenv(ENV_NO_RELAY, "1")
    other = Store(sqlite_store.url)  # a second engine, as another process would have
    try:
        with sqlite_store.feed() as feed:
            waker = feed._waker
            assert isinstance(waker, DoorbellWaker) and waker.topics == {audience.EVERYTHING}
            other.signal(world.acme_direct, "adam", "typing", ttl_s=5)  # ephemeral: not an event
            assert not waker.drain(), "a typing signal must not wake a feed of events"
            after = sqlite_store.last_event_id()
            other.post_message(NewMessage(conversation_id=world.acme_direct, body="rung"), author="adam")
            assert waker.drain() and waker.wakeups == 1
            [mid] = message_ids(feed.wait_blocking(after=after, timeout=5))
            assert sqlite_store.get_message(mid).body == "rung"
    finally:
        other.close()


def test_closing_the_feed_ends_an_async_wait(seeded: World) -> None:
    feed = seeded.store.feed()
    last = seeded.store.last_event_id()

    async def scenario() -> tuple[list[Event], float]:
        asyncio.get_running_loop().call_later(0.2, feed.close)
        t0 = time.monotonic()
        return await feed.wait(after=last, timeout=5), time.monotonic() - t0

    events, elapsed = asyncio.run(scenario())
    assert events == [] and elapsed < WAKE_LIMIT
    feed.close()  # twice is fine


def test_an_open_writer_holds_back_later_event_ids(seeded: World) -> None:
    """Issue 17's store-side suspects, driven by hand: a writer holds an event id uncommitted while a second writer
    posts and a reader catches up in between. The second writer must wait (PostgreSQL: the advisory lock of
    ``lock_id_order``; SQLite: ``BEGIN IMMEDIATE``), so no id ever becomes visible after a higher one and a reader
    that moved past an id can never see a lower one appear later."""
    store, cid = seeded.store, seeded.acme_case_chat
    start = store.last_event_id()
    with store.engine.connect() as held:
        if store.backend == "sqlite":
            held = held.execution_options(sqlite_begin="IMMEDIATE")
        tx = held.begin()
        first = store.append_event(held, "message", conversation_id=cid, payload={"author": "alice"})
        second: list[int] = []
        writer = threading.Thread(
            target=lambda: second.append(
                store.post_message(NewMessage(conversation_id=cid, body="second"), author="tom")[0].id
            )
        )
        writer.start()
        writer.join(0.5)
        try:
            assert writer.is_alive(), "a second writer got its event id while an earlier one was uncommitted"
            assert store.changes(after=start) == []  # the reader's snapshot in between sees neither
        finally:
            tx.commit()
    writer.join(30)
    assert not writer.is_alive() and second
    events = store.changes(after=start)
    assert [e.id for e in events] == [first, first + 1]
    assert message_ids(events) == [second[0]]
