"""The store's engine, transactions and the append-only events table, on SQLite or PostgreSQL.

The API follows sqlite-utils: keyword options, plain records (model dataclasses) out, and a nestable
``atomic()``. Every change appends an event in the same transaction, so followers of the feed see
exactly what was committed, in commit order of event ids.

The store checks integrity (existence, uniqueness) but no permissions: that is the service's job.
"""

from __future__ import annotations

import contextvars
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.exc import OperationalError

from conferencing_widgets.core.errors import UNREACHABLE_READ, StorageError
from conferencing_widgets.core.model import (
    Event,
)
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.engine import make_engine, normalise_url

if TYPE_CHECKING:  # feed.py imports this module
    from conferencing_widgets.store.feed import ChangeFeed

NOTIFY_CHANNEL = "cw_events"
EVENT_LOCK_KEY = 0x63770001
"""Advisory lock that orders event commits on PostgreSQL."""


def utcnow() -> datetime:
    """Server time, the only clock records are stamped with."""
    return datetime.now(UTC)


class StoreBase:
    """Engine, transactions and events of one store URL. Thread-safe; share one per process."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = normalise_url(url)
        self.engine = engine or make_engine(self.url)
        self.backend = self.engine.dialect.name
        self._conn: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
            "cw_store_connection", default=None
        )

    # -- schema -------------------------------------------------------------------------------

    def create_schema(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        from conferencing_widgets.store.migrations import upgrade

        upgrade(self.engine)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def atomic(self) -> Iterator[Connection]:
        """A write transaction; nested calls join the outer one.

        On SQLite it begins IMMEDIATE (takes the write lock first) and retries when the lock stays
        busy past the timeout, so concurrent writers never see "database is locked".
        """
        current = self._conn.get()
        if current is not None:
            yield current
            return
        attempts = 0
        while True:
            attempts += 1
            try:
                with self.engine.connect() as conn:
                    if self.backend == "sqlite":
                        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                    token = self._conn.set(conn)
                    try:
                        with conn.begin():
                            yield conn
                    finally:
                        self._conn.reset(token)
                return
            except OperationalError as exc:
                if self.backend == "sqlite" and "locked" in str(exc) and attempts < 5:
                    time.sleep(0.05 * attempts)
                    continue
                raise StorageError(detail=exc.orig) from exc

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only snapshot (joins a surrounding transaction if there is one)."""
        current = self._conn.get()
        if current is not None:
            yield current
            return
        try:
            with self.engine.connect() as conn:
                if self.backend == "postgresql":
                    # Under READ COMMITTED every statement takes its own snapshot even inside BEGIN ... COMMIT, so
                    # autocommit reads see the same data with two round trips fewer (it counts on a busy server).
                    yield conn.execution_options(isolation_level="AUTOCOMMIT")
                    return
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            raise StorageError(UNREACHABLE_READ, detail=exc.orig) from exc

    def lock_id_order(self, conn: Connection) -> None:
        """Make the ids this transaction hands out from now on become visible in id order.

        Call it before inserting rows that readers page through by id ("everything after my last id": events,
        messages, call signals). On PostgreSQL, sequence values are handed out at insert but become visible at
        commit, so a transaction holding id 10 may commit after another's id 11; a reader who already moved past
        11 would never see 10. An advisory lock held until commit serialises such transactions. SQLite writers
        are serialised already (``BEGIN IMMEDIATE``). Taking it twice in one transaction is fine.
        """
        if self.backend == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": EVENT_LOCK_KEY})

    def append_event(
        self,
        conn: Connection,
        kind: str,
        *,
        conversation_id: int | None = None,
        ref_id: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> int:
        """Append a feed event inside the caller's transaction ``conn`` (features call this too)."""
        payload = payload or {}
        self.lock_id_order(conn)
        event_id = conn.execute(
            insert(s.events)
            .values(kind=kind, conversation_id=conversation_id, ref_id=ref_id, created_at=utcnow(), payload=payload)
            .returning(s.events.c.id)
        ).scalar_one()
        if self.backend == "postgresql":
            # Delivered at commit; listeners then read the events table from their last id.
            note = json.dumps({"id": event_id, "kind": kind, "conversation_id": conversation_id})
            conn.execute(text("SELECT pg_notify(:ch, :p)"), {"ch": NOTIFY_CHANNEL, "p": note})
        return int(event_id)


    # -- the change feed ------------------------------------------------------------------------

    def changes(self, *, after: int = 0, limit: int = 1000) -> list[Event]:
        """Events with id greater than ``after``, oldest first."""
        with self.reading() as conn:
            rows = conn.execute(
                select(s.events).where(s.events.c.id > after).order_by(s.events.c.id).limit(limit)
            ).all()
        return [
            Event(
                id=int(r.id),
                kind=r.kind,
                conversation_id=None if r.conversation_id is None else int(r.conversation_id),
                ref_id=None if r.ref_id is None else int(r.ref_id),
                created_at=r.created_at,
                payload=dict(r.payload or {}),
            )
            for r in rows
        ]

    def last_event_id(self) -> int:
        """The newest event id (0 for an empty store)."""
        with self.reading() as conn:
            return int(conn.execute(select(func.coalesce(func.max(s.events.c.id), 0))).scalar_one())

    def feed(self) -> ChangeFeed:
        """A follower of the events table that can wait for news; close it when done."""
        from conferencing_widgets.store.feed import ChangeFeed

        return ChangeFeed(self)


