"""Ephemeral signals (typing, presence): they never grow the store, expire on their own, and wake only watchers.

A signal is one row per (conversation, login, kind) in the ``signals`` table (revision 0007), upserted with an
expiry; readers ignore expired rows and writers delete them, so the table stays as small as the set of people
currently typing or present. No events-table row is written: followers of the change feed never see signals.

Each write rings the conversation's *ephemeral* topic ``e<id>`` (PostgreSQL: ``NOTIFY cw_e<id>`` in the same
transaction, delivered through the server's relay; SQLite: the doorbell ``<db>.bells/e<id>`` after commit, which
exists only while some page watches it). Only pages that show that conversation watch the topic
(``SignalWatch``), so pages that show no typing indicator pay nothing. Expiry needs no write: a watch wakes at
the earliest expiry it knows of.

This module checks integrity only; who may signal or read signals is decided in ``chat/signals.py``.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.i18n import _
from conferencing_widgets.store import audience
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.base import BELLS_KEY, StoreBase, utcnow
from conferencing_widgets.store.wakers import POLL_INTERVAL, Waker, make_waker

KINDS = frozenset({"typing", "presence", "seen"})
"""Signal kinds the store accepts (a new kind is one more name here and a service method)."""
MAX_TTL_S = 300.0
"""Longest lifetime of one signal: a signal is refreshed, never kept."""
MAX_DATA_CHARS = 512
"""Largest ``data`` payload (as JSON text)."""
SWEEP_CHANCE = 0.01
"""Share of writes that also delete expired rows of every conversation (the others sweep their own)."""
SAFETY_INTERVAL = 30.0
"""Seconds a watch waits at most without a wake-up before re-reading (a lost ring costs at most this)."""


@dataclass(frozen=True, kw_only=True)
class Signal:
    """One live signal of a user in a conversation."""

    conversation_id: int
    """The conversation it is about."""
    login: str
    """Who sends it."""
    kind: str
    """``typing``, ``presence`` or ``seen`` (read receipts' wake-up, ``chat/receipts.py``)."""
    expires_at: datetime
    """Server time after which it no longer counts."""
    data: dict[str, Any] = field(default_factory=dict)
    """Small optional payload (at most ``MAX_DATA_CHARS`` as JSON)."""


def ephemeral_topic(conversation_id: int) -> str:
    """The wake-up topic of a conversation's signals (``e<id>``), separate from its events' ``c<id>``."""
    return f"e{int(conversation_id)}"


def _check(kind: str, ttl_s: float, data: dict[str, Any] | None) -> None:
    import json

    if kind not in KINDS:
        raise InvalidInput(_(
            "Unknown signal kind {kind!r}: use "
            "one of {value}."
        ).format(kind=kind, value=', '.join(sorted(KINDS))))
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int | float) or not 0 < ttl_s <= MAX_TTL_S:
        raise InvalidInput(_(
            "A signal lives more than 0 and at most "
            "{max_ttl_s:.0f} seconds, not {ttl_s!r}."
        ).format(max_ttl_s=MAX_TTL_S, ttl_s=ttl_s))
    if data is not None:
        if not isinstance(data, dict):
            raise InvalidInput(_("Signal data must be a small JSON object."))
        try:
            size = len(json.dumps(data))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(_("Signal data must be a small JSON object.")) from exc
        if size > MAX_DATA_CHARS:
            raise InvalidInput(_(
                "Signal data is {size} characters; at most "
                "{max_data_chars} are kept."
            ).format(size=size, max_data_chars=MAX_DATA_CHARS))


class SignalQueries(StoreBase):
    """Writes and reads of ephemeral signals (mixed into ``Store``)."""

    def signal(
        self, conversation_id: int, login: str, kind: str, ttl_s: float, data: dict[str, Any] | None = None
    ) -> Signal:
        """Set (or refresh) ``login``'s signal of ``kind`` in a conversation for ``ttl_s`` seconds; rings its watchers.

        ``InvalidInput`` for an unknown kind, a lifetime outside (0, ``MAX_TTL_S``] or oversized data; ``NotFound``
        for an unknown conversation or user (the foreign keys refuse it). Either way nothing is written.
        """
        _check(kind, ttl_s, data)
        now = utcnow()
        expires_at = now + timedelta(seconds=float(ttl_s))
        row = {
            "conversation_id": int(conversation_id),
            "login": login,
            "kind": kind,
            "expires_at": expires_at,
            "data": data or None,
        }
        try:
            with self.atomic() as conn:
                self._upsert(conn, row, now)
        except IntegrityError as exc:
            raise NotFound(_(
                "No conversation {conversation_id} with a "
                "user {login!r} to signal in."
            ).format(conversation_id=conversation_id, login=login)) from exc
        return Signal(
            conversation_id=int(conversation_id), login=login, kind=kind, expires_at=expires_at, data=data or {}
        )

    def _upsert(self, conn: Connection, row: dict[str, Any], now: datetime) -> None:
        self._sweep(conn, row["conversation_id"], now)
        dialect_insert = pg_insert if self.backend == "postgresql" else sqlite_insert
        stmt = dialect_insert(s.signals).values(**row)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["conversation_id", "login", "kind"],
                set_={"expires_at": stmt.excluded.expires_at, "data": stmt.excluded.data},
            )
        )
        self._ring_signal(conn, row["conversation_id"])

    def clear_signal(self, conversation_id: int, login: str, kind: str) -> bool:
        """End ``login``'s signal of ``kind`` now (e.g. stopped typing); True if there was one. Rings only then."""
        sg = s.signals
        with self.atomic() as conn:
            gone = conn.execute(
                delete(sg).where(
                    sg.c.conversation_id == int(conversation_id), sg.c.login == login, sg.c.kind == kind
                )
            ).rowcount
            if gone:
                self._ring_signal(conn, int(conversation_id))
        return bool(gone)

    def signals(self, conversation_id: int, *, kind: str | None = None) -> list[Signal]:
        """The unexpired signals of a conversation (optionally of one kind), by login."""
        sg = s.signals
        cond = and_(sg.c.conversation_id == int(conversation_id), sg.c.expires_at > utcnow())
        if kind is not None:
            cond = and_(cond, sg.c.kind == kind)
        with self.reading() as conn:
            rows = conn.execute(select(sg).where(cond).order_by(sg.c.login, sg.c.kind)).all()
        return [
            Signal(
                conversation_id=int(r.conversation_id),
                login=r.login,
                kind=r.kind,
                expires_at=r.expires_at,
                data=dict(r.data or {}),
            )
            for r in rows
        ]

    def signal_watch(self) -> SignalWatch:
        """A watch that wakes on the signals of one conversation at a time (``follow``); close it when done."""
        return SignalWatch(self)

    def _sweep(self, conn: Connection, conversation_id: int, now: datetime) -> None:
        # Bounded anyway (one row per conversation, user and kind); this keeps it to what is live.
        sg = s.signals
        cond = sg.c.expires_at <= now
        if random.random() >= SWEEP_CHANCE:
            cond = and_(cond, sg.c.conversation_id == conversation_id)
        conn.execute(delete(sg).where(cond))

    def _ring_signal(self, conn: Connection, conversation_id: int) -> None:
        topic = ephemeral_topic(conversation_id)
        if self.backend == "postgresql":
            conn.execute(text("SELECT pg_notify(:ch, '')"), {"ch": audience.channel(topic)})
        else:
            bells = conn.info.get(BELLS_KEY)
            if bells is not None:
                bells.add(topic)


class SignalWatch:
    """Wakes when the signals of the followed conversation change or one of them expires.

    The waker (a doorbell, or the server's relay on PostgreSQL) is opened on the first ``follow`` of a
    conversation, so a page that never shows one costs nothing. ``wait`` returns after a ring, at the earliest
    expiry seen by the last ``read`` (plus a hair), or after ``SAFETY_INTERVAL``.
    """

    def __init__(self, store: SignalQueries) -> None:
        self.store = store
        self.conversation_id: int | None = None
        self._waker: Waker | None = None
        self._next_expiry: datetime | None = None
        self.wakeups = 0
        """Rings received (tests count them)."""

    def follow(self, conversation_id: int | None) -> None:
        """Watch this conversation's signals from now on (None: none)."""
        self.conversation_id = None if conversation_id is None else int(conversation_id)
        self._next_expiry = None
        topics = set() if self.conversation_id is None else {ephemeral_topic(self.conversation_id)}
        if self._waker is None:
            if not topics:
                return
            self._waker = make_waker(self.store, topics)
            return
        set_topics = getattr(self._waker, "set_topics", None)
        if set_topics is not None:
            set_topics(topics)

    def read(self) -> list[Signal]:
        """The live signals of the followed conversation (none when none is followed); notes the next expiry."""
        if self.conversation_id is None:
            self._next_expiry = None
            return []
        found = self.store.signals(self.conversation_id)
        self._next_expiry = min((x.expires_at for x in found), default=None)
        return found

    def _timeout(self) -> float:
        if self._next_expiry is None:
            return SAFETY_INTERVAL
        left = (self._next_expiry - utcnow()).total_seconds() + 0.01
        return max(0.0, min(left, SAFETY_INTERVAL))

    async def wait(self) -> bool:
        """Wait in the running loop for a ring or the next expiry; True after a ring."""
        loop = asyncio.get_running_loop()
        waker = self._waker
        fd = None if waker is None or self.conversation_id is None else waker.fileno()
        timeout = self._timeout()
        if waker is None or self.conversation_id is None:
            await asyncio.sleep(timeout)
            return False
        if fd is None:  # no descriptor (the relay is away, or polling): poll the waker
            deadline = loop.time() + timeout
            while loop.time() < deadline:
                if waker.drain():
                    self.wakeups += 1
                    return True
                await asyncio.sleep(min(POLL_INTERVAL, max(0.0, deadline - loop.time())))
            return False
        rang = asyncio.Event()

        def readable() -> None:
            if waker.drain() or waker.fileno() != fd:
                rang.set()

        loop.add_reader(fd, readable)
        try:
            await asyncio.wait_for(rang.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(fd)
        self.wakeups += 1
        return True

    def close(self) -> None:
        """Release the waker; safe to call twice."""
        waker, self._waker = self._waker, None
        self.conversation_id = None
        if waker is not None:
            waker.close()
