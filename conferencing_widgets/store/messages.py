"""Messages, read marks and the history list (inbox): the spine every feature posts into."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.model import (
    UNREAD_CAP,
    ConversationKind,
    ConversationSummary,
    Message,
    MessageKind,
    NewMessage,
)
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.base import utcnow
from conferencing_widgets.store.conversations import ConversationQueries
from conferencing_widgets.store.scope import readable_condition


class MessageQueries(ConversationQueries):
    """Messages, read marks and the history list (inbox): the spine every feature posts into."""

    # -- messages -----------------------------------------------------------------------------

    @staticmethod
    def _message(r: Any) -> Message:
        return Message(
            id=int(r.id),
            conversation_id=int(r.conversation_id),
            author=r.author,
            created_at=r.created_at,
            body=r.body,
            kind=MessageKind(r.kind),
            ref_id=None if r.ref_id is None else int(r.ref_id),
            client_id=r.client_id,
            edited_at=r.edited_at,
            deleted=bool(r.deleted),
        )

    def _client_dup(self, conn: Connection, new: NewMessage, author: str) -> Message | None:
        """The message this author already sent with ``new.client_id``, if any."""
        r = conn.execute(
            select(s.messages).where(s.messages.c.author == author, s.messages.c.client_id == new.client_id)
        ).first()
        if r is None:
            return None
        if int(r.conversation_id) != new.conversation_id:
            # Returning a message of another conversation would show it in the wrong place.
            raise InvalidInput("This client id was already used in another conversation; send with a new one.")
        return self._message(r)

    def post_message(self, new: NewMessage, *, author: str, at: datetime | None = None) -> tuple[Message, bool]:
        """Store a message; returns it and whether it is new.

        A repeated ``client_id`` from the same author returns the first message instead of a copy.
        The author's read mark moves to the new message. ``at`` backdates it, for imports and the demo only.
        """
        with self.atomic() as conn:
            if new.client_id:
                dup = self._client_dup(conn, new, author)
                if dup is not None:
                    return dup, False
            conv = conn.execute(select(s.conversations.c.id).where(s.conversations.c.id == new.conversation_id)).first()
            if conv is None:
                raise NotFound(f"No conversation {new.conversation_id}.")
            # Message ids must become visible in order: the message stream catches up by "messages after the last
            # one shown" (``latest_messages(after_id=...)``).
            self.lock_id_order(conn)
            now = at or utcnow()
            try:
                # With a client id, a concurrent retry may win the unique index first (PostgreSQL): the savepoint
                # keeps the transaction usable so we can return the winner's message instead of failing.
                with conn.begin_nested() if new.client_id else nullcontext():
                    row = conn.execute(
                        insert(s.messages)
                        .values(
                            conversation_id=new.conversation_id,
                            author=author,
                            created_at=now,
                            body=new.body,
                            kind=new.kind.value,
                            ref_id=new.ref_id,
                            client_id=new.client_id or None,
                        )
                        .returning(*s.messages.c)
                    ).one()
            except IntegrityError as exc:
                dup = self._client_dup(conn, new, author) if new.client_id else None
                if dup is not None:
                    return dup, False
                raise InvalidInput(f"The message could not be stored: {exc.orig}") from exc
            conn.execute(
                update(s.conversations)
                .where(s.conversations.c.id == new.conversation_id)
                .values(last_message_id=row.id, last_activity_at=now)
            )
            self._set_read_mark(conn, author, new.conversation_id, int(row.id))
            self.append_event(
                conn,
                "message",
                conversation_id=new.conversation_id,
                ref_id=int(row.id),
                payload={"author": author},
            )
        return self._message(row), True

    def get_message(self, message_id: int) -> Message:
        """One message, or ``NotFound``."""
        with self.reading() as conn:
            r = conn.execute(select(s.messages).where(s.messages.c.id == message_id)).first()
        if r is None:
            raise NotFound(f"No message {message_id}.")
        return self._message(r)

    def latest_messages(
        self, conversation_id: int, *, limit: int = 50, before_id: int | None = None, after_id: int | None = None
    ) -> list[Message]:
        """A page of messages in posting order: the newest ``limit`` (before ``before_id`` if given).

        With ``after_id`` it returns the oldest ``limit`` messages after that id instead.
        Keyset paging on (conversation_id, id), so any page costs the same however long the chat.
        """
        q = select(s.messages).where(s.messages.c.conversation_id == conversation_id)
        if after_id is not None:
            q = q.where(s.messages.c.id > after_id).order_by(s.messages.c.id).limit(limit)
        else:
            if before_id is not None:
                q = q.where(s.messages.c.id < before_id)
            q = q.order_by(s.messages.c.id.desc()).limit(limit)
        with self.reading() as conn:
            rows = [self._message(r) for r in conn.execute(q)]
        return rows if after_id is not None else rows[::-1]

    def message_count(self, conversation_id: int) -> int:
        """How many messages a conversation holds."""
        with self.reading() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(s.messages).where(s.messages.c.conversation_id == conversation_id)
                ).scalar_one()
            )

    def messages_since(self, author: str, since: datetime, *, limit: int | None = None) -> int:
        """How many messages ``author`` posted at or after ``since`` (all conversations; stops counting at ``limit``).

        The per-user posting rate counts here, so every page and server of one user shares the limit. Served by
        the ``(author, created_at)`` index; ``limit`` keeps a flood cheap to count.
        """
        q = select(s.messages.c.id).where(s.messages.c.author == author, s.messages.c.created_at >= since)
        if limit is not None:
            q = q.limit(limit)
        with self.reading() as conn:
            return int(conn.execute(select(func.count()).select_from(q.subquery())).scalar_one())

    # -- read marks ---------------------------------------------------------------------------

    def _set_read_mark(self, conn: Connection, login: str, conversation_id: int, message_id: int) -> bool:
        current = conn.execute(
            select(s.read_marks.c.last_read_id).where(
                s.read_marks.c.login == login, s.read_marks.c.conversation_id == conversation_id
            )
        ).scalar_one_or_none()
        if current is None:
            conn.execute(
                insert(s.read_marks).values(login=login, conversation_id=conversation_id, last_read_id=message_id)
            )
            return True
        if message_id > current:
            conn.execute(
                update(s.read_marks)
                .where(s.read_marks.c.login == login, s.read_marks.c.conversation_id == conversation_id)
                .values(last_read_id=message_id)
            )
            return True
        return False

    def mark_read(self, login: str, conversation_id: int, message_id: int | None = None) -> int:
        """Mark read up to ``message_id`` (default: the newest); read marks never move back."""
        with self.atomic() as conn:
            if message_id is None:
                message_id = conn.execute(
                    select(s.conversations.c.last_message_id).where(s.conversations.c.id == conversation_id)
                ).scalar_one_or_none()
                if message_id is None:
                    return 0
            if self._set_read_mark(conn, login, conversation_id, int(message_id)):
                self.append_event(conn, "read", conversation_id=conversation_id, payload={"login": login})
        return int(message_id)

    def unread_count(self, login: str, conversation_id: int) -> int:
        """Unread messages by others for ``login``, capped at ``UNREAD_CAP``."""
        with self.reading() as conn:
            return int(conn.execute(self._unread_query(login, conversation_id)).scalar_one())

    @staticmethod
    def _unread_query(login: Any, conversation_id: Any) -> Any:
        # ``conversation_id`` may also be ``conversations.c.id`` (see ``_unread_counts``): correlate to it.
        mark = (
            select(func.coalesce(func.max(s.read_marks.c.last_read_id), 0))
            .where(s.read_marks.c.login == login, s.read_marks.c.conversation_id == conversation_id)
            .correlate(s.conversations)
            .scalar_subquery()
        )
        # LIMIT inside keeps the cost bounded for a huge unread backlog.
        capped = (
            select(s.messages.c.id)
            .where(
                s.messages.c.conversation_id == conversation_id,
                s.messages.c.id > mark,
                s.messages.c.author != login,
            )
            .limit(UNREAD_CAP)
            .correlate(s.conversations)
            .subquery()
        )
        return select(func.count()).select_from(capped)

    def _unread_counts(self, conn: Connection, login: str, conversation_ids: Sequence[int]) -> dict[int, int]:
        """Capped unread counts of many conversations in one statement (one round trip, built once)."""
        if not conversation_ids:
            return {}
        rows = conn.execute(_unread_many_query(), {"login": login, "ids": list(conversation_ids)})
        return {int(cid): int(n) for cid, n in rows}

    # -- history (inbox) ----------------------------------------------------------------------

    def inbox(
        self,
        who: str | ReadScope,
        *,
        limit: int = 50,
        kind: ConversationKind | None = None,
        before: tuple[datetime, int] | None = None,
        case_status: Collection[str] | None = None,
    ) -> list[ConversationSummary]:
        """The conversations ``who`` may read, most recent activity first, with last message and unread count.

        ``who`` is a ``policy.ReadScope`` or a login (that user's memberships only).
        ``before`` is the (last_activity_at, id) of the last row of the previous page.
        ``case_status`` keeps only case chats whose case has one of these statuses.
        """
        scope = who if isinstance(who, ReadScope) else ReadScope(login=who)
        login = scope.login
        c = s.conversations
        q = select(c).where(readable_condition(scope))
        if kind is not None:
            q = q.where(c.c.kind == ConversationKind(kind).value)
        if case_status is not None:
            sc = s.service_cases
            q = q.where(c.c.case_id.in_(select(sc.c.id).where(sc.c.status.in_(sorted(case_status)))))
        if before is not None:
            at, cid = before
            q = q.where(or_(c.c.last_activity_at < at, and_(c.c.last_activity_at == at, c.c.id < cid)))
        q = q.order_by(c.c.last_activity_at.desc(), c.c.id.desc()).limit(limit)
        with self.reading() as conn:
            rows = conn.execute(q).all()
            if not rows:
                return []
            ids = [int(r.id) for r in rows]
            last_ids = [int(r.last_message_id) for r in rows if r.last_message_id is not None]
            last = (
                {
                    int(m.id): self._message(m)
                    for m in conn.execute(select(s.messages).where(s.messages.c.id.in_(last_ids)))
                }
                if last_ids
                else {}
            )
            authors = {m.author for m in last.values()}
            names = (
                dict(
                    conn.execute(
                        select(s.users.c.login, s.users.c.display_name).where(s.users.c.login.in_(authors))
                    ).all()
                )
                if authors
                else {}
            )
            case_ids = {int(r.case_id) for r in rows if r.case_id is not None}
            cases = {k.id: k for k in self._cases(conn, s.service_cases.c.id.in_(case_ids))} if case_ids else {}
            unread = self._unread_counts(conn, login, ids)
        out = []
        for r in rows:
            lm = last.get(int(r.last_message_id)) if r.last_message_id is not None else None
            out.append(
                ConversationSummary(
                    conversation=self._conversation(r),
                    case=cases.get(int(r.case_id)) if r.case_id is not None else None,
                    last_message=lm,
                    last_author_name=names.get(lm.author, lm.author) if lm else "",
                    unread=unread.get(int(r.id), 0),
                    last_activity_at=r.last_activity_at,
                )
            )
        return out

@functools.cache
def _unread_many_query() -> Any:
    """``(conversation id, capped unread count)`` for ``ids``; per conversation an index range scan of at most
    ``UNREAD_CAP`` rows, as in ``unread_count``. Built once: constructing 50 statements per inbox cost more than
    running them."""
    c = s.conversations
    count = MessageQueries._unread_query(bindparam("login"), c.c.id).scalar_subquery()
    return select(c.c.id, count).where(c.c.id.in_(bindparam("ids", expanding=True)))
