"""The store's engine, transactions and the append-only events table, on SQLite or PostgreSQL.

The API follows sqlite-utils: keyword options, plain records (model dataclasses) out, and a nestable
``atomic()``. Every change appends an event in the same transaction, so followers of the feed see
exactly what was committed, in commit order of event ids.

The store checks integrity (existence, uniqueness) but no permissions: that is the service's job.
"""

from __future__ import annotations

import contextvars
import logging
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import Text

from conferencing_widgets.core.errors import UNREACHABLE_READ, StorageError
from conferencing_widgets.core.model import ConversationKind
from conferencing_widgets.store import audience
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.engine import make_engine, normalise_url

NOTIFY_CHANNEL = audience.channel(audience.EVERYTHING)  # "cw_events"
BELLS_KEY = "cw_bells"
"""``Connection.info`` key of the doorbells a SQLite write transaction rings after its commit."""
EVENT_LOCK_KEY = 0x63770001
"""Advisory lock that orders event commits on PostgreSQL."""
LOCKED_KEY = "cw_id_order_locked"
"""``Connection.info`` key: the transaction that holds the id-order lock already (one round trip less per post)."""

# Hot statements, built once: SQLAlchemy's compiled cache then hits at once, and no statement object (and its cache
# key) is rebuilt per call. Values go in as bound parameters.
_LOCK = text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=EVENT_LOCK_KEY)
_PG_APPEND_EVENT = (
    # Insert the event and ring its channels in one round trip; the notes are delivered at commit.
    text(
        "WITH e AS (INSERT INTO events (kind, conversation_id, ref_id, created_at, payload, audience_login) "
        "VALUES (:kind, :conversation_id, :ref_id, :created_at, :payload, :audience_login) RETURNING id) "
        "SELECT e.id, (SELECT count(pg_notify(ch, json_build_object('id', e.id, 'kind', CAST(:kind AS text), "
        "'conversation_id', CAST(:conversation_id AS bigint))::text)) FROM unnest(:chs) AS ch) FROM e"
    )
    .bindparams(
        bindparam("conversation_id", type_=s.events.c.conversation_id.type),
        bindparam("ref_id", type_=s.events.c.ref_id.type),
        bindparam("created_at", type_=s.events.c.created_at.type),
        bindparam("payload", type_=s.events.c.payload.type),
        bindparam("chs", type_=ARRAY(Text())),
    )
    .columns(id=s.events.c.id.type)
)
_APPEND_EVENT = insert(s.events).returning(s.events.c.id)
_CONVERSATION_KIND = select(s.conversations.c.kind).where(s.conversations.c.id == bindparam("cid"))


log = logging.getLogger(__name__)


def pg_channels(topics: set[str]) -> list[str]:
    """The PostgreSQL channels an event's notes go to (delivered at commit; listeners then read the events table from
    their last id). The shared channel serves feeds that follow everything (operators); pages listen to their own
    topics only."""
    return [NOTIFY_CHANNEL, *sorted(audience.channel(t) for t in topics)]


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
        self._case_chat: dict[int, bool] = {}
        self._bells_dir = self.bells_dir()
        self.origin = secrets.token_hex(4)
        """This store's token on its read marks' wake-ups (PostgreSQL): the relay does not ring them back to it."""

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
                    bells: set[str] = set()
                    conn.info[BELLS_KEY] = bells
                    try:
                        with conn.begin():
                            yield conn
                    finally:
                        self._conn.reset(token)
                        conn.info.pop(BELLS_KEY, None)
                        conn.info.pop(LOCKED_KEY, None)
                self._ring(bells)
                return
            except OperationalError as exc:
                if self.backend == "sqlite" and "locked" in str(exc) and attempts < 5:
                    time.sleep(0.05 * attempts)
                    continue
                raise StorageError(detail=exc.orig) from exc

    def joined_transaction(self) -> bool:
        """Whether this task runs inside an ``atomic`` block (so ``one_statement`` joins it)."""
        return self._conn.get() is not None

    @contextmanager
    def one_statement(self) -> Iterator[Connection]:
        """For a write that the caller runs as *one* statement: on PostgreSQL that statement is its own transaction
        (autocommit), which saves the BEGIN and COMMIT round trips; inside a surrounding transaction it joins it,
        and on SQLite it is ``atomic``. Locks the statement takes (the id-order lock) end with it."""
        if self.joined_transaction() or self.backend != "postgresql":
            with self.atomic() as conn:
                yield conn
            return
        try:
            with self.engine.connect() as conn:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")
        except OperationalError as exc:
            raise StorageError(detail=exc.orig) from exc

    @contextmanager
    def reading(self, *, single: bool = False) -> Iterator[Connection]:
        """A read-only snapshot (joins a surrounding transaction if there is one).

        ``single``: the caller runs one statement, which is a snapshot by itself, so SQLite needs no
        BEGIN/COMMIT around it (two statements fewer on the hottest reads).
        """
        current = self._conn.get()
        if current is not None:
            yield current
            return
        try:
            with self.engine.connect() as conn:
                if single and self.backend == "sqlite":
                    yield conn.execution_options(sqlite_begin=None)
                    return
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
            tx = conn.get_transaction()
            if tx is not None and conn.info.get(LOCKED_KEY) is tx:
                return
            conn.execute(_LOCK)
            conn.info[LOCKED_KEY] = tx

    def locked_id_order(self, conn: Connection) -> None:
        """Record that this transaction took the id-order lock itself (in a combined statement)."""
        conn.info[LOCKED_KEY] = conn.get_transaction()

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
        self.lock_id_order(conn)
        values, topics = self._event_values(conn, kind, conversation_id=conversation_id, ref_id=ref_id, payload=payload)
        if self.backend == "postgresql":
            event_id = conn.execute(_PG_APPEND_EVENT, {**values, "chs": pg_channels(topics)}).scalar_one()
        else:
            event_id = conn.execute(_APPEND_EVENT, values).scalar_one()
            self._ring_after_commit(conn, topics)
        return int(event_id)

    def _event_values(
        self,
        conn: Connection,
        kind: str,
        *,
        conversation_id: int | None,
        ref_id: int | None,
        payload: dict[str, Any] | None,
    ) -> tuple[dict[str, Any], set[str]]:
        """An event row's values and the topics it rings (``post_message`` inserts its event in its own statement)."""
        payload = payload or {}
        private_to = audience.audience_login(kind, payload)
        topics = audience.event_topics(
            kind,
            conversation_id=conversation_id,
            private_to=private_to,
            payload=payload,
            case_chat=conversation_id is not None and self._is_case_chat(conn, conversation_id),
        )
        values = {
            "kind": kind,
            "conversation_id": conversation_id,
            "ref_id": ref_id,
            "created_at": utcnow(),
            "payload": payload,
            "audience_login": private_to,
        }
        return values, topics

    @staticmethod
    def _ring_after_commit(conn: Connection, topics: set[str]) -> None:
        """SQLite: ring ``topics``' doorbells, and the one of feeds that follow everything, once the transaction of
        ``conn`` commits."""
        bells = conn.info.get(BELLS_KEY)
        if bells is not None:
            bells.update(topics)
            bells.add(audience.EVERYTHING)

    def _is_case_chat(self, conn: Connection, conversation_id: int) -> bool:
        """Whether a conversation is a service case chat (a conversation's kind never changes: cached)."""
        known = self._case_chat.get(conversation_id)
        if known is None:
            kind = conn.execute(_CONVERSATION_KIND, {"cid": conversation_id}).scalar_one_or_none()
            known = kind == ConversationKind.SERVICE_CASE.value
            if kind is not None:
                self._case_chat[conversation_id] = known
        return known

    def _remember_kind(self, conversation_id: int, kind: str) -> None:
        """Cache a conversation's kind read by another statement (``post_message`` reads it with its lock)."""
        self._case_chat[conversation_id] = kind == ConversationKind.SERVICE_CASE.value

    def bells_dir(self) -> Path | None:
        """The folder of SQLite doorbell files (``<db>.bells``), or None (PostgreSQL, in-memory SQLite)."""
        if self.backend != "sqlite":
            return None
        database = make_url(self.url).database
        if not database or database == ":memory:":
            return None
        db = Path(database).resolve()
        return db.with_name(db.name + ".bells")

    def _ring(self, topics: set[str]) -> None:
        """Touch the doorbell of each topic after a commit; a bell nobody watches does not exist (skipped)."""
        folder = self._bells_dir
        if folder is None or not topics:
            return
        for topic in topics:
            try:
                os.utime(folder / topic)
            except FileNotFoundError:
                continue
            except OSError as exc:  # a lost ring is caught up by the follower's safety re-check
                log.debug("cannot ring doorbell %s: %s", topic, exc)
