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
- PostgreSQL: ``LISTEN`` on a dedicated autocommit connection (a page: one channel per topic; otherwise
  ``cw_events``); the loop waits on its socket (``add_reader``) instead of psycopg's 100 ms timer. A broken
  connection is re-opened with backoff.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import select
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import make_url

from conferencing_widgets.core.errors import StorageError
from conferencing_widgets.core.model import Event
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.store import audience

if TYPE_CHECKING:
    from conferencing_widgets.store.base import StoreBase as Store

log = logging.getLogger(__name__)

SAFETY_INTERVAL = 10.0
"""Seconds between catch-up checks when no wake-up came (guards against a missed one)."""
POLL_INTERVAL = 0.1
"""Seconds between ``data_version`` polls when inotify is not available."""
VISIBILITY_RETRIES = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032)
"""Re-query delays after an inotify wake-up whose commit is not visible yet."""
STORE_RETRY_INTERVAL = 0.5
"""Seconds between catch-up attempts while the store is unreachable (e.g. PostgreSQL restarting)."""


class Waker(Protocol):
    """Tells the feed that something may have changed."""

    needs_visibility_retry: bool

    def fileno(self) -> int | None:
        """A descriptor that becomes readable on news, or None when the waker must be polled."""

    def drain(self) -> bool:
        """Consume pending readiness; True when it may mean news (or the waker reconnected)."""

    def close(self) -> None:
        """Release the descriptor and any connection."""


class TargetedWaker(Waker, Protocol):
    """A waker that rings only for some topics; ``set_topics`` changes them (e.g. a page joined a chat)."""

    def set_topics(self, topics: set[str]) -> None:
        """Listen to exactly these topics from now on."""


class DoorbellWaker:
    """Watches one doorbell file per topic (``<db>.bells/<topic>``) with inotify; writers touch them after commit."""

    needs_visibility_retry = False

    def __init__(self, folder: Path, topics: Iterable[str]) -> None:
        import inotify_simple

        self._folder = folder
        self._mask = inotify_simple.flags.ATTRIB | inotify_simple.flags.MODIFY | inotify_simple.flags.CLOSE_WRITE
        self._inotify = inotify_simple.INotify(nonblocking=True)
        self._watches: dict[str, int] = {}
        self.wakeups = 0
        """How many drains reported news (tests count wake-ups with it)."""
        self.set_topics(set(topics))

    def set_topics(self, topics: set[str]) -> None:
        self._folder.mkdir(exist_ok=True)
        for topic in sorted(topics - self._watches.keys()):
            path = self._folder / topic
            # Create the bell without writing to it, so other pages watching it are not woken.
            os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0o666))
            self._watches[topic] = self._inotify.add_watch(str(path), self._mask)
        for topic in sorted(self._watches.keys() - topics):
            wd = self._watches.pop(topic)
            try:
                self._inotify.rm_watch(wd)
            except OSError:  # the bell was removed meanwhile
                pass

    @property
    def topics(self) -> set[str]:
        return set(self._watches)

    def fileno(self) -> int | None:
        return int(self._inotify.fileno())

    def drain(self) -> bool:
        try:
            events = self._inotify.read(timeout=0)
        except BlockingIOError:
            return False
        got = any(not e.mask & self._flags_ignored for e in events)
        if got:
            self.wakeups += 1
        return got

    @property
    def _flags_ignored(self) -> int:
        import inotify_simple

        return int(inotify_simple.flags.IGNORED)

    def close(self) -> None:
        self._inotify.close()


class InotifyWaker:
    """Watches the SQLite database folder for writes to the database or its WAL file."""

    needs_visibility_retry = True

    def __init__(self, db_path: Path) -> None:
        import inotify_simple

        self._flags = inotify_simple.flags
        self._names = {db_path.name, db_path.name + "-wal"}
        self._inotify = inotify_simple.INotify(nonblocking=True)
        mask = self._flags.MODIFY | self._flags.CREATE | self._flags.MOVED_TO | self._flags.CLOSE_WRITE
        self._inotify.add_watch(str(db_path.parent), mask)
        self.wakeups = 0

    def fileno(self) -> int | None:
        return int(self._inotify.fileno())

    def drain(self) -> bool:
        try:
            events = self._inotify.read(timeout=0)
        except BlockingIOError:
            return False
        got = any(e.name in self._names for e in events)
        if got:
            self.wakeups += 1
        return got

    def close(self) -> None:
        self._inotify.close()


class DataVersionWaker:
    """Polls ``PRAGMA data_version`` on a private connection; it changes when others commit."""

    needs_visibility_retry = False

    def __init__(self, db_path: Path) -> None:
        self._conn = sqlite3.connect(str(db_path), check_same_thread=False)
        self._version = self._read()
        self.wakeups = 0

    def _read(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def fileno(self) -> int | None:
        return None

    def drain(self) -> bool:
        version = self._read()
        changed = version != self._version
        self._version = version
        if changed:
            self.wakeups += 1
        return changed

    def set_topics(self, topics: set[str]) -> None:
        """Every commit changes ``data_version``: the fallback cannot target, so topics change nothing."""

    def close(self) -> None:
        self._conn.close()


class PostgresListenWaker:
    """``LISTEN`` on a dedicated connection; re-opens it after a failure."""

    needs_visibility_retry = False

    def __init__(self, conninfo: str, channels: str | Iterable[str]) -> None:
        self._conninfo = conninfo
        self._channels: set[str] = {channels} if isinstance(channels, str) else set(channels)
        self.wakeups = 0
        self._conn: Any = None  # a psycopg.Connection once connected (imported lazily)
        self.generation = 0
        """Counts successful connects: a new connection may reuse the old descriptor number."""
        self._next_attempt = 0.0
        self._backoff = 0.1
        self._connect()

    def _connect(self) -> bool:
        import psycopg

        now = time.monotonic()
        if now < self._next_attempt:
            return False
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5)
            for ch in sorted(self._channels):
                conn.execute(f"LISTEN {_identifier(ch)}")
        except psycopg.Error as exc:
            log.warning("feed listener cannot connect (%s); retrying in %.1fs", exc, self._backoff)
            self._next_attempt = now + self._backoff
            self._backoff = min(self._backoff * 2, 5.0)
            return False
        self._conn = conn
        self.generation += 1
        self._backoff = 0.1
        return True

    def set_topics(self, topics: set[str]) -> None:
        """LISTEN on the channels of ``topics`` (and UNLISTEN the others) on the open connection."""
        self.set_channels({audience.channel(t) for t in topics})

    def set_channels(self, channels: set[str]) -> None:
        import psycopg

        old, self._channels = self._channels, set(channels)
        if self._conn is None:
            return  # the next connect listens to the new set
        try:
            for ch in sorted(old - self._channels):
                self._conn.execute(f"UNLISTEN {_identifier(ch)}")
            for ch in sorted(self._channels - old):
                self._conn.execute(f"LISTEN {_identifier(ch)}")
        except (psycopg.Error, OSError) as exc:
            log.warning("feed listener lost its connection (%s); reconnecting", exc)
            self._drop()

    @property
    def channels(self) -> set[str]:
        return set(self._channels)

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def fileno(self) -> int | None:
        if self._conn is None:
            return None
        return int(self._conn.fileno())

    def drain(self) -> bool:
        import psycopg

        if self._conn is None:
            # Reconnected: whatever happened meanwhile is caught up by id.
            return self._connect()
        pgconn = self._conn.pgconn
        try:
            pgconn.consume_input()
            got = False
            while pgconn.notifies() is not None:
                got = True
            if pgconn.status != 0:  # CONNECTION_OK
                raise psycopg.OperationalError("listener connection lost")
            if got:
                self.wakeups += 1
            return got
        except (psycopg.Error, OSError) as exc:
            log.warning("feed listener lost its connection (%s); reconnecting", exc)
            self._drop()
            self._connect()
            return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a broken socket may fail any way
                pass

    def close(self) -> None:
        self._drop()


def _identifier(channel: str) -> str:
    """A channel name checked to be a plain identifier (it is put into LISTEN as is)."""
    if not (channel.isascii() and channel.replace("_", "a").isalnum() and len(channel) <= 63):
        raise ValueError(f"not a valid channel name: {channel!r}")
    return channel


def make_waker(store: Store, topics: set[str] | None = None) -> Waker:
    """The best waker for the store's backend: for ``topics`` only, or (None) for every commit."""
    url = make_url(store.url)
    if store.backend == "postgresql":
        from conferencing_widgets.store.base import NOTIFY_CHANNEL

        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        if topics is None:
            return PostgresListenWaker(conninfo, NOTIFY_CHANNEL)
        return PostgresListenWaker(conninfo, {audience.channel(t) for t in topics})
    db_path = Path(url.database or "").resolve()
    if os.environ.get("CONFERENCING_FEED_POLL") != "1":
        try:
            bells = store.bells_dir()
            if topics is not None and bells is not None:
                return DoorbellWaker(bells, topics)
            return InotifyWaker(db_path)
        except (ImportError, OSError) as exc:
            log.info("inotify unavailable (%s); polling data_version", exc)
    return DataVersionWaker(db_path)


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
        self._async_event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader_fd: int | None = None
        self._reader_gen = 0
        self._closed = False
        self._store_down = False

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
        while not found and not self._closed:
            after = max(after, self.position)  # past events of others, which a scoped read skips
            remaining = SAFETY_INTERVAL if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                return []
            fd = self._waker.fileno()
            step = min(remaining, SAFETY_INTERVAL if fd is not None else POLL_INTERVAL)
            if self._store_down:
                step = min(step, STORE_RETRY_INTERVAL)
            if fd is not None:
                ready, _, _ = select.select([fd], [], [], step)
                woke = self._waker.drain() if ready else False
            else:
                time.sleep(step)
                woke = self._waker.drain()
            found = self._poll(after, woke=woke)
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
        while not found and not self._closed:
            after = max(after, self.position)  # past events of others, which a scoped read skips
            wake = self._arm()
            remaining = SAFETY_INTERVAL if deadline is None else deadline - loop.time()
            if remaining <= 0:
                return []
            polled = self._reader_fd is None
            step = min(remaining, POLL_INTERVAL if polled else SAFETY_INTERVAL)
            if self._store_down:
                step = min(step, STORE_RETRY_INTERVAL)
            try:
                await asyncio.wait_for(wake.wait(), step)
                woke = True
            except TimeoutError:
                woke = self._waker.drain() if polled else False
            wake.clear()
            found = self._poll(after)
            if not found and woke and self._waker.needs_visibility_retry:
                # The commit is usually visible at once; only the short re-query sleeps go to a thread.
                found = await loop.run_in_executor(None, functools.partial(self._poll, after, woke=True))
        return found

    def close(self) -> None:
        """Stop following; safe to call twice."""
        if self._closed:
            return
        self._closed = True
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
