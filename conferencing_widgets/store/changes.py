"""Reading the events table: what changed after an id, for everyone or for one user's audience, and the feeds.

``StoreBase`` writes the events (in the transaction of each change); this layer reads them. It also counts the
store's open feeds, so that a read mark's wake-up may carry the store's ``origin`` (``origin_for``): the page that
wrote the mark is then not woken by it.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Engine, and_, bindparam, func, or_, select, true

from conferencing_widgets.core.model import Event
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.store import audience
from conferencing_widgets.store import schema as s
from conferencing_widgets.store import scope as scope_sql
from conferencing_widgets.store.base import StoreBase

if TYPE_CHECKING:  # feed.py imports this module
    from conferencing_widgets.store.feed import ChangeFeed

_NEWEST_EVENT = select(func.coalesce(func.max(s.events.c.id), 0))


class ChangeQueries(StoreBase):
    """The change feed's reads, and the bookkeeping of this store's open feeds."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        super().__init__(url, engine=engine)
        self._open_feeds: Counter[str | None] = Counter()
        """Open feeds of this store by the login they follow (None: an unscoped feed, which follows everything)."""

    def feed_opened(self, login: str | None) -> None:
        """Count an open feed of ``login`` (None: unscoped); ``ChangeFeed`` calls it, and ``feed_closed``."""
        self._open_feeds[login] += 1

    def feed_closed(self, login: str | None) -> None:
        self._open_feeds[login] -= 1

    def origin_for(self, login: str) -> str:
        """The ``origin`` to put on ``login``'s read mark: this store's when at most one of its feeds follows
        ``login`` (the page that marked it) and none follows everything, else '' (every page here is woken)."""
        if self._open_feeds[None] > 0 or self._open_feeds[login] > 1:
            return ""
        return self.origin

    def changes(self, *, after: int = 0, limit: int = 1000) -> list[Event]:
        """Events with id greater than ``after``, oldest first."""
        with self.reading() as conn:
            rows = conn.execute(
                select(s.events).where(s.events.c.id > after).order_by(s.events.c.id).limit(limit)
            ).all()
        return [self._event(r) for r in rows]

    def changes_for(self, scope: ReadScope, *, after: int = 0, limit: int = 1000) -> tuple[list[Event], int]:
        """The events after ``after`` that ``scope`` may see, oldest first, and the newest id scanned.

        The SQL form of ``Service.may_see_event`` (the service still checks each event): events of readable
        conversations (read marks excepted), events private to ``scope.login``, and directory events for staff.
        The second value is the position to continue from: past every event up to it, visible or not. It is
        the store's newest id in the same snapshot as the events (one statement), so (ids become visible in id
        order) nothing at or below it can still appear; when ``limit`` cut the batch it is the last event returned.
        One statement, because every page runs it on every wake-up: one round trip on PostgreSQL, and on SQLite no
        BEGIN/COMMIT around it.
        """
        params = {"login": scope.login, "after": after, "n": limit}
        q = _changes_for_query(scope.all_case_chats, scope.case_group is None, scope.notes)
        with self.reading(single=True) as conn:
            rows = conn.execute(q, params).all()
        newest = int(rows[0].newest) if rows else after
        events = [self._event(r) for r in rows if r.id is not None]
        if len(events) >= limit:
            return events, events[-1].id
        return events, max(after, newest)

    @staticmethod
    def _event(r: Any) -> Event:
        return Event(
            id=int(r.id),
            kind=r.kind,
            conversation_id=None if r.conversation_id is None else int(r.conversation_id),
            ref_id=None if r.ref_id is None else int(r.ref_id),
            created_at=r.created_at,
            payload=dict(r.payload or {}),
        )

    def member_of(self, login: str) -> list[int]:
        """Ids of the conversations ``login`` is a member of."""
        with self.reading() as conn:
            m = s.members
            return [int(c) for c in conn.execute(select(m.c.conversation_id).where(m.c.login == login)).scalars()]

    def last_event_id(self) -> int:
        """The newest event id (0 for an empty store)."""
        with self.reading(single=True) as conn:
            return int(conn.execute(_NEWEST_EVENT).scalar_one())

    def feed(self, scope: ReadScope | None = None) -> ChangeFeed:
        """A follower of the events table that can wait for news; close it when done.

        With a ``scope`` it is woken only by events of that user's audience (its conversations, its private
        events, staff events for staff) and reads only those; without one it follows every event.
        """
        from conferencing_widgets.store.feed import ChangeFeed

        return ChangeFeed(self, scope=scope)


@functools.cache
def _changes_for_query(all_case_chats: bool, staff: bool, notes: bool = False) -> Any:
    """``changes_for``'s statement, built once per shape of scope (the login and positions are bound parameters):
    every page runs it on every wake-up, and building it cost more than running it."""
    e = s.events
    # Conversation events for everyone who reads the conversation; with ``notes`` (vendor staff) also those marked
    # for its staff only (internal notes). A customer's statement never matches a ``STAFF_ONLY`` event.
    audience_ok: ColumnElement[bool] = e.c.audience_login.is_(None)
    if notes:
        audience_ok = or_(audience_ok, e.c.audience_login == audience.STAFF_ONLY)
    shown: ColumnElement[bool] = and_(
        audience_ok,
        e.c.conversation_id.in_(
            select(s.conversations.c.id).where(scope_sql.readable_by(bindparam("login"), all_case_chats=all_case_chats))
        ),
    )
    shown = or_(shown, e.c.audience_login == bindparam("login"))
    if staff:
        shown = or_(shown, and_(e.c.conversation_id.is_(None), e.c.kind.in_(sorted(audience.DIRECTORY_KINDS))))
    page = (
        select(e).where(e.c.id > bindparam("after", type_=e.c.id.type), shown).order_by(e.c.id).limit(bindparam("n"))
    ).subquery("page")
    newest = select(func.coalesce(func.max(e.c.id), 0).label("newest")).subquery("newest")
    # The newest id always comes back (one row with NULL events when nothing is visible), from the same snapshot.
    return select(newest.c.newest, *page.c).select_from(newest.outerjoin(page, true())).order_by(page.c.id)
