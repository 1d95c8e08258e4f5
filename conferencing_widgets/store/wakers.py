"""Wakers: what tells a feed that something may have changed, at no idle cost.

- ``DoorbellWaker`` (SQLite): one doorbell file per topic, watched with inotify per file; a feed of everything
  watches the bell every event rings (``audience.EVERYTHING``).
- ``InotifyWaker`` (SQLite without a doorbell folder): inotify on the database folder (the ``-wal`` file).
- ``DataVersionWaker`` (SQLite without inotify): polls ``PRAGMA data_version``.
- ``RelayWaker`` (``store/relay_client.py``, served by ``store/relay.py``): the server's one ``LISTEN``
  connection (PostgreSQL) or one inotify instance on the doorbells (SQLite), reached over a UNIX socket;
  ``make_waker`` picks it when the relay of this store answers.
- ``PostgresListenWaker``: ``LISTEN`` on a dedicated autocommit connection, waited on through its socket (the
  fallback without a relay: JupyterLab kernels, the CLI).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import make_url

from conferencing_widgets.store import audience

if TYPE_CHECKING:
    from conferencing_widgets.store.base import StoreBase as Store

log = logging.getLogger(__name__)


POLL_INTERVAL = 0.1
ENV_NO_RELAY = "CONFERENCING_FEED_NO_RELAY"
"""``1``: never use the server's feed relay (each feed LISTENs itself; tests compare the two)."""


"""Seconds between ``data_version`` polls when inotify is not available."""


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
    safety_factor = 6.0
    """Rung after every commit: re-check by id only every 6 x ``SAFETY_INTERVAL`` (a writer crashing between its
    commit and its ring delays that event by at most this)."""

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

    def __init__(self, conninfo: str, channels: str | Iterable[str], *, origin: str = "") -> None:
        self._conninfo = conninfo
        self.origin = origin
        """The store's ``origin``: a ``NOTIFY`` that carries it (its own read mark) is no news to this page."""
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
            while (note := pgconn.notifies()) is not None:
                got = got or not self.origin or audience.note_origin(note.extra) != self.origin
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


_fallback_logged = False


def _relay_waker(store: Store, channels: set[str], origin: str = "") -> Waker | None:
    """A waker fed by this server's relay for this store, or None (logged once per process) when none answers."""
    global _fallback_logged
    from conferencing_widgets.store import relay_client as relay

    if os.environ.get(ENV_NO_RELAY) == "1":
        return None
    path = relay.socket_path_from_env()
    try:
        return relay.RelayWaker(path, channels, key=relay.store_key(store.url), origin=origin)
    except relay.RelayUnavailable as exc:
        if not _fallback_logged:
            own = "LISTEN connection" if store.backend == "postgresql" else "inotify instance"
            log.info("%s; this process's feeds each use their own %s", exc, own)
            _fallback_logged = True
        return None


def make_waker(store: Store, topics: set[str] | None = None) -> Waker:
    """The best waker for the store's backend: for ``topics`` only, or (None) for every commit."""
    url = make_url(store.url)
    if store.backend == "postgresql":
        from conferencing_widgets.store.base import NOTIFY_CHANNEL

        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        channels = {NOTIFY_CHANNEL} if topics is None else {audience.channel(t) for t in topics}
        # Targeted feeds skip their store's own read marks (``Store.origin_for``); a feed of everything never does.
        origin = store.origin if topics is not None else ""
        relayed = _relay_waker(store, channels, origin)
        if relayed is not None:
            return relayed
        return PostgresListenWaker(conninfo, channels, origin=origin)
    db_path = Path(url.database or "").resolve()
    if os.environ.get("CONFERENCING_FEED_POLL") != "1":
        try:
            bells = store.bells_dir()
            if bells is not None:
                # A feed of everything watches the bell every event rings. The server's relay watches every page's
                # doorbells with one inotify instance (Linux allows only 128 per user by default); without it, this
                # page watches its own.
                wanted = {audience.EVERYTHING} if topics is None else topics
                relayed = _relay_waker(store, {audience.channel(t) for t in wanted})
                if relayed is not None:
                    return relayed
                return DoorbellWaker(bells, wanted)
            return InotifyWaker(db_path)
        except (ImportError, OSError) as exc:
            # EMFILE here usually means fs.inotify.max_user_instances (128) is used up: run the relay.
            log.warning("inotify unavailable (%s); polling data_version (wakes on every commit)", exc)
    return DataVersionWaker(db_path)
