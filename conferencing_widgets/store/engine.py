"""Engines for the two backends, with the SQLite settings the notes call for.

PostgreSQL: a page kernel is idle most of the time, and PostgreSQL's connections are few (100 here), so a page
keeps at most ``POOL_SIZE`` pooled connection while it is active and gives it back ``pool_idle`` seconds after
its last use (``CONFERENCING_POOL_IDLE``). An active page posts on a warm connection; an idle one holds none.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from conferencing_widgets.core.errors import InvalidInput

SQLITE_BUSY_TIMEOUT_MS = 15_000
POOL_SIZE = 1
"""Pooled PostgreSQL connections kept while a process is active (a page does one thing at a time)."""
MAX_OVERFLOW = 4
"""Extra connections for bursts (threads, a slow export); closed when given back."""
DEFAULT_POOL_IDLE = 30
"""Seconds without use after which the pooled connections are closed (``CONFERENCING_POOL_IDLE``)."""
ENV_POOL_IDLE = "CONFERENCING_POOL_IDLE"
PING_AFTER_IDLE_S = 2.0
"""A pooled connection unused this long is pinged before use; a hot one is not (``ping_if_idle``)."""
LAST_USED = "cw_last_used"


def pool_idle_seconds(env: dict[str, str] | None = None) -> float:
    """``CONFERENCING_POOL_IDLE`` (validated by ``load_settings``; a bad value here falls back to the default)."""
    raw = (os.environ if env is None else env).get(ENV_POOL_IDLE, "")
    try:
        value = float(raw)
    except ValueError:
        return float(DEFAULT_POOL_IDLE)
    return value if value > 0 else float(DEFAULT_POOL_IDLE)


class IdleReaper:
    """Closes an engine's pooled connections once none was checked out for ``idle`` seconds.

    A timer is armed at check-in (at most one at a time, so an idle process runs no timer at all); when it fires
    and the pool is still idle, the checked-in connections are closed. The next checkout opens a new one.
    """

    def __init__(self, engine: Engine, idle: float) -> None:
        self._engine = weakref.ref(engine)
        self.idle = idle
        self.released = 0
        """How many times idle connections were closed (tests watch it)."""
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._last_use = time.monotonic()
        event.listen(engine, "checkin", self._on_checkin)
        event.listen(engine, "checkout", self._on_checkout)

    def _on_checkout(self, *_args: Any) -> None:
        self._last_use = time.monotonic()

    def _on_checkin(self, *_args: Any) -> None:
        self._last_use = time.monotonic()
        with self._lock:
            if self._timer is None:
                self._arm(self.idle)

    def _arm(self, delay: float) -> None:
        timer = threading.Timer(delay, self._fire)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _fire(self) -> None:
        engine = self._engine()
        if engine is None:
            return
        with self._lock:
            self._timer = None
            pool: Any = engine.pool
            left = self.idle - (time.monotonic() - self._last_use)
            if pool.checkedout() > 0 or left > 0:
                # In use, or used since: look again when it may be idle (a check-in re-arms otherwise).
                self._arm(max(left, 0.05) if pool.checkedout() == 0 else self.idle)
                return
            if pool.checkedin() > 0:
                pool.dispose()
                self.released += 1

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


def ping_if_idle(engine: Engine, idle: float = PING_AFTER_IDLE_S) -> None:
    """Check a pooled connection before use only when it sat unused for ``idle`` seconds.

    ``pool_pre_ping`` sends ``SELECT 1`` before *every* checkout: one round trip more on every store call, about a
    fifth of a busy page's round trips (the soak's profile). A connection used a moment ago is almost surely alive;
    if the server went away meanwhile, the call fails with ``StorageError``, SQLAlchemy drops the pool, and the
    next call connects afresh, as after any lost connection. An older one is pinged, and a dead one replaced by
    the pool without the caller noticing (SQLAlchemy's pessimistic disconnect handling, with ``DisconnectionError``).
    """

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get(LAST_USED)
        if last is not None and time.monotonic() - last < idle:
            return
        autocommit = dbapi_connection.autocommit
        try:
            # In autocommit: one round trip, and no transaction left open for the caller's isolation level.
            dbapi_connection.autocommit = True
            dbapi_connection.execute("SELECT 1")
            dbapi_connection.autocommit = autocommit
        except engine.dialect.loaded_dbapi.Error as err:
            raise exc.DisconnectionError() from err

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[LAST_USED] = time.monotonic()


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs and pick psycopg 3 for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises several types here
        raise InvalidInput(f"Not a store URL: {url!r}. Use sqlite:///path or postgresql://...") from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InvalidInput(f"Unsupported store backend {parsed.get_backend_name()!r}: use SQLite or PostgreSQL.")
    return url


REAPERS: weakref.WeakKeyDictionary[Engine, IdleReaper] = weakref.WeakKeyDictionary()
"""The idle reaper of each PostgreSQL engine (tests and benchmarks read ``released``)."""


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and explicit BEGIN modes."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW)
        ping_if_idle(engine)
        REAPERS[engine] = IdleReaper(engine, pool_idle_seconds())
        return engine
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (pysqlite's own transaction handling is deferred-only).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Read-then-write transactions must take the write lock up front (BEGIN IMMEDIATE),
        # otherwise concurrent writers fail with "database is locked" despite busy_timeout.
        # ``sqlite_begin=None``: a single-statement read, a snapshot by itself (``StoreBase.reading(single=True)``).
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        if mode is not None:
            conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
