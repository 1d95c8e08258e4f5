"""Full-text search over messages, with the rights filter inside the query (``store/scope.py``).

The index itself is described in ``store/search_schema.py``. This module never puts user text into SQL or
into the ``MATCH``/``to_tsquery`` syntax: ``core.search`` reduces a query to letter-and-digit stems and each is
quoted here, and every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    TextClause,
    and_,
    any_,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)

from conferencing_widgets.core.model import MessageKind
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.core.search import SearchQuery
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.base import StoreBase
from conferencing_widgets.store.scope import readable_condition
from conferencing_widgets.store.search_schema import FTS_TABLE, PG_COLUMN

_FTS = table(FTS_TABLE, column("rowid"))
_HAS_KIND = {"file": MessageKind.FILE.value, "whiteboard": MessageKind.WHITEBOARD.value}


@dataclass(frozen=True, kw_only=True)
class SearchRow:
    """One hit as stored: the message and where it lives (the service adds the snippet)."""

    message_id: int
    conversation_id: int
    conversation_title: str
    author: str
    author_name: str
    created_at: datetime
    body: str
    kind: str


PG_WINDOWS = (20_000,)
"""PostgreSQL, every case chat: search the newest this many ids first (``SearchQueries._pg_windows``)."""

MAX_CONV_TOKENS = 300
"""Up to this many member conversations, SQLite narrows the hits inside FTS5 by their ``conv`` tokens."""


def fts_match(terms: tuple[str, ...], conversations: list[int] | None = None) -> str:
    """An FTS5 query: every stem quoted as a prefix phrase in ``body``, all required
    (``body : ("wrzecion"* AND "drgan"*)``), optionally only in ``conversations`` (``AND conv : (c1 OR c2)``)."""
    words = "body : (" + " AND ".join('"' + t.replace('"', '""') + '"*' for t in terms) + ")"
    if conversations is None:
        return words
    if not conversations:
        return words + " AND conv : c0"  # no conversation has id 0: nothing matches
    return words + " AND conv : (" + " OR ".join(f"c{int(c)}" for c in conversations) + ")"


def pg_tsquery(terms: tuple[str, ...]) -> str:
    """A ``to_tsquery`` text: every stem quoted as a prefix lexeme, all required (``'wrzecion':* & 'drgan':*``)."""
    return " & ".join("'" + t.replace("\\", "").replace("'", "''") + "':*" for t in terms)


class SearchQueries(StoreBase):
    """Message search for one ``ReadScope``."""

    def search_messages(
        self,
        scope: ReadScope,
        query: SearchQuery,
        *,
        limit: int = 20,
        before_id: int | None = None,
    ) -> list[SearchRow]:
        """Messages matching ``query`` that ``scope`` may read, newest first; ``before_id`` pages on.

        Deleted messages never match (their text is gone anyway). Unknown filter values (a login, case number or
        conversation that does not exist or is not readable) simply match nothing: no count or error tells
        them apart.
        """
        with self.reading() as conn:
            for after_id, by_bitmap in self._pg_windows(conn, scope, query, before_id):
                sel = self._search_select(
                    scope, query, limit=limit, before_id=before_id, after_id=after_id, by_bitmap=by_bitmap
                )
                rows = conn.execute(sel).all()
                if len(rows) >= limit or after_id is None:
                    break
        return [
            SearchRow(
                message_id=int(r.id),
                conversation_id=int(r.conversation_id),
                conversation_title=r.title,
                author=r.author,
                author_name=r.display_name or r.author,
                created_at=r.created_at,
                body=r.body,
                kind=r.kind,
            )
            for r in rows
        ]

    def _pg_windows(
        self, conn: Connection, scope: ReadScope, query: SearchQuery, before_id: int | None
    ) -> Iterator[tuple[int | None, bool]]:
        """Lower id bounds to try in turn, the last ``None`` (no bound), each with whether to read by the bitmap.

        PostgreSQL, words, a scope of every case chat: the planner either walks messages newest first checking each
        (fine for common words, all of them for rare ones) or reads every hit from the GIN bitmap and sorts (fine
        for rare words, tens of thousands of heap rows for common ones); on 1,000,000 messages either can miss by
        far (a word in no message, 1,000,000 rows walked: ~74,000 buffers, 0.7 s). Searching the newest
        ``PG_WINDOWS`` ids first bounds the walk; a window with a full page of hits holds the newest ones of all
        (every id outside it is smaller). If none has, the word is rare, so the last query reads its few hits by
        the GIN bitmap and sorts them (``by_bitmap``: the order is not the primary key's, which forbids the walk).
        """
        if not (self.backend == "postgresql" and query.terms and scope.all_case_chats):
            yield None, False
            return
        top = before_id - 1 if before_id is not None else conn.execute(select(func.max(s.messages.c.id))).scalar()
        for window in PG_WINDOWS:
            if top is None or top - window <= 0:
                break
            yield top - window, False
        yield None, True

    def _member_conversations(self, login: str) -> list[int] | None:
        """The ids of ``login``'s conversations, or None when there are too many to list in a MATCH."""
        mem = s.members
        with self.reading() as conn:
            ids = list(
                conn.execute(
                    select(mem.c.conversation_id).where(mem.c.login == login).limit(MAX_CONV_TOKENS + 1)
                ).scalars()
            )
        return None if len(ids) > MAX_CONV_TOKENS else [int(i) for i in ids]

    def _search_select(
        self,
        scope: ReadScope,
        query: SearchQuery,
        *,
        limit: int,
        before_id: int | None,
        after_id: int | None = None,
        by_bitmap: bool = False,
    ) -> Any:
        m, c, u = s.messages, s.conversations, s.users
        conds: list[ColumnElement[bool] | TextClause] = [m.c.deleted == false(), readable_condition(scope)]
        conds += _filters(scope, query)
        if not scope.notes:
            conds.append(m.c.kind != MessageKind.NOTE.value)  # internal notes: vendor staff only
        if before_id is not None:
            conds.append(m.c.id < before_id)
        if after_id is not None:
            conds.append(m.c.id > after_id)
        cols = (m.c.id, m.c.conversation_id, m.c.author, m.c.created_at, m.c.body, m.c.kind, c.c.title,
                u.c.display_name)  # fmt: skip
        order: Any = (m.c.id + 0).desc() if by_bitmap else m.c.id.desc()
        if query.terms and self.backend == "sqlite":
            # FROM the FTS table, ordered by its rowid: FTS5 walks its hits newest first and the LIMIT stops it.
            # A member-only scope also narrows the hits to its conversations inside FTS5 (a speed hint: the
            # rights are still the readable condition above).
            member_of = None if scope.all_case_chats else self._member_conversations(scope.login)
            src: Any = _FTS.join(m, m.c.id == _FTS.c.rowid)
            match = fts_match(query.terms, member_of)
            conds.append(text(f"{FTS_TABLE} MATCH :cw_match").bindparams(cw_match=match))
            order = _FTS.c.rowid.desc()
        else:
            src = m
            if query.terms:
                conds.append(
                    literal_column(f"messages.{PG_COLUMN}").op("@@")(
                        func.to_tsquery(literal_column("'simple'::regconfig"), pg_tsquery(query.terms))
                    )
                )
                if not scope.all_case_chats:
                    # A member-only scope also names its conversations on ``messages`` itself, as an array (a speed
                    # hint, as for SQLite; the rights are still the readable condition): the planner then ANDs the
                    # GIN bitmap with the ``ix_messages_conversation`` one and reads only the hits in those chats,
                    # not every message of every chat (the semi-join through ``conversations`` cannot do that).
                    mem = s.members
                    mine = select(mem.c.conversation_id).where(mem.c.login == scope.login).scalar_subquery()
                    conds.append(m.c.conversation_id == any_(func.array(mine)))
        src = src.join(c, c.c.id == m.c.conversation_id).outerjoin(u, u.c.login == m.c.author)
        q: Select[Any] = select(*cols).select_from(src).where(and_(*conds)).order_by(order).limit(limit)
        return q


def _filters(scope: ReadScope, query: SearchQuery) -> list[ColumnElement[bool]]:
    """The WHERE conditions of the filters (values bound, never spliced)."""
    m, c = s.messages, s.conversations
    out: list[ColumnElement[bool]] = []
    if query.conversations:
        ids = [int(v) for v in query.conversations if v.isdigit() and len(v) < 19]
        titles = [v.lower() for v in query.conversations if not v.isdigit()]
        out.append(or_(c.c.id.in_(ids), func.lower(c.c.title).in_(titles)))
    if query.authors:
        out.append(m.c.author.in_(list(query.authors)))
    if query.cases:
        sc = s.service_cases
        numbers = [v.upper() for v in query.cases]
        out.append(c.c.case_id.in_(select(sc.c.id).where(func.upper(sc.c.number).in_(numbers))))
    if query.after is not None:
        out.append(m.c.created_at >= query.after)
    if query.before is not None:
        out.append(m.c.created_at < query.before)
    if query.has:
        out.append(m.c.kind.in_([_HAS_KIND[h] for h in query.has]))
    if query.mentions_me:
        mm = s.message_mentions
        out.append(m.c.id.in_(select(mm.c.message_id).where(mm.c.login == scope.login)))
    return out
