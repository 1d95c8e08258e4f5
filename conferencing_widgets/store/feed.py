"""Following the events table: wake up as soon as something new is committed, at no idle cost.

A *waker* only says "something may have changed". The feed then reads events after its last id, so a
lost wake-up or a reconnect never loses anything. A slow safety re-check covers any missed wake-up.

A feed with a ``ReadScope`` (a page) is *targeted*: it is woken only by events of its user's audience
(``store/audience.py`` topics: its conversations, its private events, staff or all-case-chat events) and
reads only those (``Store.changes_for``). A feed without one follows everything (operators, tests).

- SQLite, targeted: one doorbell file per topic (``<db>.bells/<topic>``), touched by the writer after its
  commit and watched with inotify per file. Untargeted: inotify on the database folder (the ``-wal`` file
  changes on every commit); that wake-up can arrive a moment before the commit is visible, so the reader
  re-queries briefly. Without inotify, ``PRAGMA data_version`` is polled (it wakes on every commit).
- PostgreSQL: through the server's feed relay (``store/relay.py``: one ``LISTEN`` connection per server, reached
  over a UNIX socket) when it answers, else ``LISTEN`` on a dedicated autocommit connection (a page: one channel
  per topic; otherwise ``cw_events``); the loop waits on its socket (``add_reader``) instead of psycopg's 100 ms
  timer. A broken connection is re-opened with backoff.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import select
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from conferencing_widgets.core.errors import StorageError
from conferencing_widgets.core.model import Event
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.store import audience
from conferencing_widgets.store.wakers import (
    POLL_INTERVAL,
    Waker,
    make_waker,
)

if TYPE_CHECKING:
    from conferencing_widgets.store.changes import ChangeQueries as Store


log = logging.getLogger(__name__)


SAFETY_INTERVAL = 10.0


"""Seconds between catch-up checks when no wake-up came (guards against a missed one).

A waker that cannot miss a wake-up silently multiplies it by its ``safety_factor``: the relay wakes every page when
it reconnects and pings PostgreSQL itself, and a doorbell is rung after every commit, so their pages re-check
rarely (an idle page's CPU is mostly these checks: 200 pages every 10 s cost ~2 % of a core)."""


VISIBILITY_RETRIES = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032)


"""Re-query delays after an inotify wake-up whose commit is not visible yet."""


STORE_RETRY_INTERVAL = 0.5


"""Seconds between catch-up attempts while the store is unreachable (e.g. PostgreSQL restarting)."""


RETARGET_KINDS = frozenset({"conversation", "members", "user"})


"""Events after which a targeted feed recomputes its topics (the readable set or the account may have changed)."""


class ChangeFeed:
    """Reads events after a given id and waits, sync or async, until there are some."""

    def __init__(
        self,
        store: Store,
        *,
        scope: ReadScope | None = None,
        waker_factory: Callable[[Store, set[str] | None], Waker] = make_waker,
    ) -> None:
        self.store = store
        self.scope = scope
        self.position = 0
        """The newest event id the last read or wait scanned: continue after it (it may be past what it returned)."""
        self._waker = waker_factory(store, self._topics())
        store.feed_opened(scope.login if scope else None)
        self._async_event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader_fd: int | None = None
        self._reader_gen = 0
        self._closed = False
        self._store_down = False

    @property
    def safety_interval(self) -> float:
        """Seconds this feed waits for a wake-up before re-checking by id anyway."""
        return SAFETY_INTERVAL * float(getattr(self._waker, "safety_factor", 1.0))

    def _topics(self) -> set[str] | None:
        if self.scope is None:
            return None
        return audience.scope_topics(self.scope, self.store.member_of(self.scope.login))

    def changes(self, *, after: int, limit: int = 1000) -> list[Event]:
        """Events after ``after`` (no waiting); for a scoped feed only its own. Sets ``position``."""
        if self.scope is None:
            found = self.store.changes(after=after, limit=limit)
            self.position = found[-1].id if found else after
            return found
        found, self.position = self.store.changes_for(self.scope, after=after, limit=limit)
        if any(e.kind in RETARGET_KINDS for e in found):
            self.retarget()
        return found

    def retarget(self) -> None:
        """Recompute the topics of a scoped feed (after its user joined a conversation, say)."""
        topics = self._topics()
        set_topics = getattr(self._waker, "set_topics", None)
        if topics is not None and set_topics is not None:
            set_topics(topics)

    def _poll(self, after: int, *, woke: bool = False) -> list[Event]:
        """Events after ``after``, or none while the store is unreachable.

        A waiting follower rides out a store outage (a PostgreSQL restart, a failover) instead of failing: it
        keeps waiting and retrying every ``STORE_RETRY_INTERVAL``, and catches up by id once the store is back.
        """
        try:
            found = self._after_wake(after) if woke else self.changes(after=after)
        except StorageError as exc:
            if not self._store_down:
                log.warning("feed cannot read the store (%s); retrying until it is back", exc)
            self._store_down = True
            return []
        if self._store_down:
            log.info("feed reads the store again; catching up from event %d", after)
            self._store_down = False
        return found

    def _after_wake(self, after: int) -> list[Event]:
        found = self.changes(after=after)
        if found or not self._waker.needs_visibility_retry:
            return found
        for delay in VISIBILITY_RETRIES:
            time.sleep(delay)
            found = self.changes(after=after)
            if found:
                break
        return found

    # -- blocking -------------------------------------------------------------------------------

    def wait_blocking(self, *, after: int, timeout: float | None = None) -> list[Event]:
        """Block until there are events after ``after`` or ``timeout`` seconds passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.position = after
        found = self._poll(after)
        checked = time.monotonic()
        while not found and not self._closed:
            after = max(after, self.position)  # past events of others, which a scoped read skips
            safety = self.safety_interval
            remaining = safety if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                return []
            fd = self._waker.fileno()
            step = min(remaining, safety if fd is not None else POLL_INTERVAL)
            if self._store_down:
                step = min(step, STORE_RETRY_INTERVAL)
            if fd is not None:
                ready, _, _ = select.select([fd], [], [], step)
                woke = self._waker.drain() if ready else False
            else:
                time.sleep(step)
                woke = self._waker.drain()
            if woke or self._store_down or time.monotonic() - checked >= safety:
                # Read only on news or when the safety re-check is due, not every poll step of a descriptor-less
                # waker (a relay that went away must not turn every page into a 10-queries-a-second poller).
                found = self._poll(after, woke=woke)
                checked = time.monotonic()
        return found

    # -- asyncio --------------------------------------------------------------------------------

    def _arm(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._async_event is None or self._loop is not loop:
            self._async_event = asyncio.Event()
            self._loop = loop
            self._reader_fd = None
        fd = self._waker.fileno()
        gen = getattr(self._waker, "generation", 0)
        if fd != self._reader_fd or gen != self._reader_gen:
            if self._reader_fd is not None:
                loop.remove_reader(self._reader_fd)
            if fd is not None:
                loop.add_reader(fd, self._on_readable)
            self._reader_fd = fd
            self._reader_gen = gen
        return self._async_event

    def _on_readable(self) -> None:
        if self._waker.drain() and self._async_event is not None:
            self._async_event.set()
        reconnected = getattr(self._waker, "generation", 0) != self._reader_gen
        if (reconnected or self._waker.fileno() != self._reader_fd) and self._loop is not None:
            # The PostgreSQL listener reconnected: move the reader to the new socket. Compare generations too,
            # because the new socket often gets the old descriptor number, which epoll dropped on close.
            if self._reader_fd is not None:
                self._loop.remove_reader(self._reader_fd)
                self._reader_fd = None
            if self._async_event is not None:
                self._async_event.set()

    async def wait(self, *, after: int, timeout: float | None = None) -> list[Event]:
        """Wait in the running event loop until there are events after ``after``."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        self.position = after
        found = self._poll(after)
        checked = loop.time()
        while not found and not self._closed:
            after = max(after, self.position)  # past events of others, which a scoped read skips
            wake = self._arm()
            safety = self.safety_interval
            remaining = safety if deadline is None else deadline - loop.time()
            if remaining <= 0:
                return []
            polled = self._reader_fd is None
            step = min(remaining, POLL_INTERVAL if polled else safety)
            if self._store_down:
                step = min(step, STORE_RETRY_INTERVAL)
            try:
                await asyncio.wait_for(wake.wait(), step)
                woke = True
            except TimeoutError:
                woke = self._waker.drain() if polled else False
            wake.clear()
            if not (woke or self._store_down or loop.time() - checked >= safety):
                continue  # a poll step without news: no read until the safety re-check is due
            found = self._poll(after)
            checked = loop.time()
            if not found and woke and self._waker.needs_visibility_retry:
                # The commit is usually visible at once; only the short re-query sleeps go to a thread.
                found = await loop.run_in_executor(None, functools.partial(self._poll, after, woke=True))
        return found

    def close(self) -> None:
        """Stop following; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.store.feed_closed(self.scope.login if self.scope else None)
        if self._loop is not None and self._reader_fd is not None and not self._loop.is_closed():
            try:
                self._loop.remove_reader(self._reader_fd)
            except (RuntimeError, ValueError):
                pass
        if self._async_event is not None:
            self._async_event.set()
        self._waker.close()

    def __enter__(self) -> ChangeFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
