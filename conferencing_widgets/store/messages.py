"""Messages and read marks: the spine every feature posts into (the history list is in ``inbox``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import Text

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import (
    Message,
    MessageKind,
    NewMessage,
)
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.base import EVENT_LOCK_KEY, pg_channels, utcnow
from conferencing_widgets.store.conversations import ConversationQueries

_KINDS = {k.value: k for k in MessageKind}
m_ = s.messages.c
_MESSAGE_FIELDS = tuple(c.name for c in s.messages.c)
assert _MESSAGE_FIELDS == tuple(f.name for f in dataclasses.fields(Message)), "Message fields follow the table"
_new = object.__new__

# Hot statements, built once (SQLAlchemy then skips building the statement and its cache key on every call).
_BY_CLIENT_ID = select(s.messages).where(m_.author == bindparam("author"), m_.client_id == bindparam("client_id"))
_BY_ID = select(s.messages).where(m_.id == bindparam("id"))
_LATEST = select(s.messages).where(m_.conversation_id == bindparam("cid")).order_by(m_.id.desc()).limit(bindparam("n"))
_BEFORE = (
    select(s.messages)
    .where(m_.conversation_id == bindparam("cid"), m_.id < bindparam("before"))
    .order_by(m_.id.desc())
    .limit(bindparam("n"))
)
_AFTER = (
    select(s.messages)
    .where(m_.conversation_id == bindparam("cid"), m_.id > bindparam("after"))
    .order_by(m_.id)
    .limit(bindparam("n"))
)
_NOTE = MessageKind.NOTE.value
_PUBLIC = m_.kind != _NOTE
"""Leaves internal notes out: every customer-facing read of messages adds it (``policy.can_read_notes``)."""
_PAGES_PUBLIC = {
    "latest": _LATEST.where(_PUBLIC),
    "before": _BEFORE.where(_PUBLIC),
    "after": _AFTER.where(_PUBLIC),
}
_PAGES_ALL = {"latest": _LATEST, "before": _BEFORE, "after": _AFTER}
_SINCE = select(func.count()).select_from(
    # The indexed columns only (not ``id``): on PostgreSQL an index-only scan of ``ix_messages_author_created``.
    select(m_.created_at)
    .where(m_.author == bindparam("author"), m_.created_at >= bindparam("since"))
    .limit(bindparam("n"))
    .subquery()
)
# The newest message of any kind: ``conversations.last_message_id`` skips internal notes (see ``post_message``).
_LAST_MESSAGE_ID = select(func.max(m_.id)).where(m_.conversation_id == bindparam("cid"))
_TOUCH_CONVERSATION = (
    update(s.conversations)
    .where(s.conversations.c.id == bindparam("cid"))
    .values(last_message_id=bindparam("mid"), last_activity_at=bindparam("at"))
)
_SQLITE_KIND = select(s.conversations.c.kind).where(s.conversations.c.id == bindparam("cid"))


def _read_mark_upsert(dialect: Any) -> Any:
    """Move a read mark forward (never back), creating it if need be; returns a row only when it moved."""
    ins = dialect.insert(s.read_marks)
    return ins.on_conflict_do_update(
        index_elements=[s.read_marks.c.login, s.read_marks.c.conversation_id],
        set_={"last_read_id": ins.excluded.last_read_id},
        where=s.read_marks.c.last_read_id < ins.excluded.last_read_id,
    ).returning(s.read_marks.c.last_read_id)


def _message_insert(dialect: Any) -> Any:
    """Insert a message unless its author used its client id already (then no row: the caller reads the first)."""
    ins = dialect.insert(s.messages)
    return ins.on_conflict_do_nothing(index_elements=[m_.author, m_.client_id]).returning(*s.messages.c)


_UPSERT_MARK = {"postgresql": _read_mark_upsert(postgresql), "sqlite": _read_mark_upsert(sqlite)}
_INSERT_MESSAGE = {"postgresql": _message_insert(postgresql), "sqlite": _message_insert(sqlite)}
_COLS = ", ".join(_MESSAGE_FIELDS)
_PG_POST = text(
    # The whole post in one round trip (PostgreSQL): the conversation's kind (no row: no such conversation) with
    # the id-order lock, taken before any id is handed out (MATERIALIZED: computed before the inserts read it);
    # the message (nothing on a repeated client id); the conversation's last message (``:touch``, not for a
    # note); the author's read mark; the event and the notes on its channels (delivered at commit).
    "WITH l AS MATERIALIZED (SELECT kind, pg_advisory_xact_lock(:k) FROM conversations WHERE id = :cid), "
    "m AS (INSERT INTO messages (conversation_id, author, created_at, body, kind, ref_id, client_id, deleted, "
    "reply_to_id) SELECT :cid, :author, :at, :body, :kind, :ref_id, :client_id, false, :reply_to_id FROM l "
    f"ON CONFLICT (author, client_id) DO NOTHING RETURNING {_COLS}), "
    "c AS (UPDATE conversations SET last_message_id = m.id, last_activity_at = m.created_at FROM m "
    "WHERE conversations.id = m.conversation_id AND :touch), "
    "r AS (INSERT INTO read_marks (login, conversation_id, last_read_id) SELECT m.author, m.conversation_id, m.id "
    "FROM m ON CONFLICT (login, conversation_id) DO UPDATE SET last_read_id = excluded.last_read_id "
    "WHERE read_marks.last_read_id < excluded.last_read_id), "
    "e AS (INSERT INTO events (kind, conversation_id, ref_id, created_at, payload, audience_login) "
    "SELECT 'message', m.conversation_id, m.id, :event_at, :payload, :audience_login FROM m RETURNING id) "
    "SELECT l.kind AS conversation_kind, (SELECT count(pg_notify(ch, json_build_object('id', e.id, 'kind', "
    "'message', 'conversation_id', CAST(:cid AS bigint))::text)) FROM e, unnest(:chs) AS ch) AS notes, "
    f"{', '.join('m.' + c for c in _MESSAGE_FIELDS)} FROM l LEFT JOIN m ON true"
).bindparams(
    bindparam("cid", type_=s.conversations.c.id.type),
    bindparam("author", type_=m_.author.type),
    bindparam("at", type_=m_.created_at.type),
    bindparam("body", type_=m_.body.type),
    bindparam("kind", type_=m_.kind.type),
    bindparam("ref_id", type_=m_.ref_id.type),
    bindparam("client_id", type_=m_.client_id.type),
    bindparam("reply_to_id", type_=m_.reply_to_id.type),
    bindparam("event_at", type_=s.events.c.created_at.type),
    bindparam("payload", type_=s.events.c.payload.type),
    bindparam("audience_login", type_=s.events.c.audience_login.type),
    bindparam("chs", type_=ARRAY(Text())),
    k=EVENT_LOCK_KEY,
)
_PG_MESSAGE = slice(2, 2 + len(_MESSAGE_FIELDS))
"""Where the message's columns sit in a ``_PG_POST`` row (after the conversation's kind and the notes count)."""
_PG_MARK_READ = text(
    # A read mark in one round trip (PostgreSQL): move it forward (no row when it does not move); only then take
    # the id-order lock (MATERIALIZED, before the event's id is handed out), write the event and ring the
    # user's channels.
    "WITH r AS (INSERT INTO read_marks (login, conversation_id, last_read_id) VALUES (:login, :cid, :mid) "
    "ON CONFLICT (login, conversation_id) DO UPDATE SET last_read_id = excluded.last_read_id "
    "WHERE read_marks.last_read_id < excluded.last_read_id RETURNING 1), "
    "l AS MATERIALIZED (SELECT pg_advisory_xact_lock(:k) FROM r), "
    "e AS (INSERT INTO events (kind, conversation_id, ref_id, created_at, payload, audience_login) "
    "SELECT 'read', :cid, NULL, :at, :payload, :login FROM l RETURNING id) "
    "SELECT count(pg_notify(ch, json_build_object('id', e.id, 'kind', 'read', 'conversation_id', "
    "CAST(:cid AS bigint), 'origin', CAST(:origin AS text))::text)) FROM e, unnest(:chs) AS ch"
).bindparams(
    bindparam("cid", type_=s.read_marks.c.conversation_id.type),
    bindparam("login", type_=s.read_marks.c.login.type),
    bindparam("mid", type_=s.read_marks.c.last_read_id.type),
    bindparam("at", type_=s.events.c.created_at.type),
    bindparam("payload", type_=s.events.c.payload.type),
    bindparam("chs", type_=ARRAY(Text())),
    bindparam("origin", type_=Text()),
    k=EVENT_LOCK_KEY,
)


class MessageQueries(ConversationQueries):
    """Messages, read marks and the history list (inbox): the spine every feature posts into."""

    # -- messages -----------------------------------------------------------------------------

    @staticmethod
    def _message(r: Any) -> Message:
        # The hot loop of every message page. Filled by position (the column order of ``schema.messages``, which
        # ``_MESSAGE_FIELDS`` follows) straight into the frozen dataclass's ``__dict__``: half the cost of its
        # keyword ``__init__``, which sets each field through ``object.__setattr__``. ``Message`` has no
        # ``__post_init__``; the two converted fields are set explicitly.
        m = _new(Message)
        d = m.__dict__
        d.update(zip(_MESSAGE_FIELDS, r, strict=True))
        d["kind"] = _KINDS.get(r[5]) or MessageKind(r[5])
        d["deleted"] = bool(r[9])
        return m

    def _client_dup(self, conn: Connection, new: NewMessage, author: str) -> Message | None:
        """The message this author already sent with ``new.client_id``, if any."""
        r = conn.execute(_BY_CLIENT_ID, {"author": author, "client_id": new.client_id}).first()
        if r is None:
            return None
        if int(r.conversation_id) != new.conversation_id:
            # Returning a message of another conversation would show it in the wrong place.
            raise InvalidInput(_("This client id was already used in another conversation; send with a new one."))
        return self._message(r)

    def post_message(self, new: NewMessage, *, author: str, at: datetime | None = None) -> tuple[Message, bool]:
        """Store a message; returns it and whether it is new.

        A repeated ``client_id`` from the same author returns the first message instead of a copy.
        The author's read mark moves to the new message. ``at`` backdates it, for imports and the demo only.
        An internal note (``MessageKind.NOTE``) leaves the conversation's last message and activity time alone (a
        customer's tile neither shows nor reorders for it) and its event is for vendor staff only.
        """
        if self.backend == "postgresql":
            return self._post_message_pg(new, author=author, at=at)
        with self.atomic() as conn:
            # Existence and kind (for the event's audience); on PostgreSQL with the id-order lock in the same round
            # trip: message ids must become visible in order, because the message stream catches up by "messages
            # after the last one shown" (``latest_messages(after_id=...)``).
            missing = NotFound(_("No conversation {conversation_id}.").format(conversation_id=new.conversation_id))
            if new.conversation_id not in self._case_chat:  # a kind never changes: read once, then the FK checks
                kind = conn.execute(_SQLITE_KIND, {"cid": new.conversation_id}).scalar()
                if kind is None:
                    raise missing
                self._remember_kind(new.conversation_id, kind)
            now = at or utcnow()
            values = {
                "conversation_id": new.conversation_id,
                "author": author,
                "created_at": now,
                "body": new.body,
                "kind": new.kind.value,
                "ref_id": new.ref_id,
                "client_id": new.client_id or None,
                "deleted": False,
                "reply_to_id": new.reply_to_id,
            }
            try:
                # A repeated client id inserts nothing (ON CONFLICT DO NOTHING): no pre-check, no savepoint.
                row = conn.execute(_INSERT_MESSAGE[self.backend], values).first()
            except IntegrityError as exc:
                if "FOREIGN KEY" in str(exc.orig) and new.reply_to_id is None:
                    raise missing from exc
                raise InvalidInput(_("The message could not be stored: {orig}").format(orig=exc.orig)) from exc
            if row is None:
                dup = self._client_dup(conn, new, author)
                if dup is None:  # cannot happen: the conflict names the author's client id
                    raise InvalidInput(_("The message could not be stored; send it again."))
                return dup, False
            mid = row[0]
            note = new.kind is MessageKind.NOTE
            if not note:
                conn.execute(_TOUCH_CONVERSATION, {"cid": new.conversation_id, "mid": mid, "at": now})
            self._set_read_mark(conn, author, new.conversation_id, mid)
            self.append_event(
                conn, "message", conversation_id=new.conversation_id, ref_id=mid, payload=_message_payload(new, author)
            )
        return self._message(row), True

    def _post_message_pg(self, new: NewMessage, *, author: str, at: datetime | None) -> tuple[Message, bool]:
        """``post_message`` on PostgreSQL: one statement (``_PG_POST``) instead of four round trips."""
        cid = new.conversation_id
        with self.one_statement() as conn:
            payload = _message_payload(new, author)
            # The event's topics need the conversation's kind: cached after the first post (a kind never changes).
            event, topics = self._event_values(conn, "message", conversation_id=cid, ref_id=None, payload=payload)
            params = {
                "cid": cid,
                "author": author,
                "at": at or utcnow(),
                "body": new.body,
                "kind": new.kind.value,
                "ref_id": new.ref_id,
                "client_id": new.client_id or None,
                "reply_to_id": new.reply_to_id,
                "touch": new.kind is not MessageKind.NOTE,
                "event_at": event["created_at"],
                "payload": payload,
                "audience_login": event["audience_login"],
                "chs": pg_channels(topics),
            }
            try:
                row = conn.execute(_PG_POST, params).first()
            except IntegrityError as exc:
                raise InvalidInput(_("The message could not be stored: {orig}").format(orig=exc.orig)) from exc
            if row is None:
                raise NotFound(_("No conversation {conversation_id}.").format(conversation_id=cid))
            if self.joined_transaction():  # a caller's transaction: the lock is held until its commit
                self.locked_id_order(conn)
            self._remember_kind(cid, row[0])
            if row[2] is None:  # no message id: the author used this client id already
                dup = self._client_dup(conn, new, author)
                if dup is None:  # cannot happen: the conflict names the author's client id
                    raise InvalidInput(_("The message could not be stored; send it again."))
                return dup, False
        return self._message(row[_PG_MESSAGE]), True

    def get_message(self, message_id: int) -> Message:
        """One message, or ``NotFound``."""
        with self.reading(single=True) as conn:
            r = conn.execute(_BY_ID, {"id": message_id}).first()
        if r is None:
            raise NotFound(_("No message {message_id}.").format(message_id=message_id))
        return self._message(r)

    def latest_messages(
        self,
        conversation_id: int,
        *,
        limit: int = 50,
        before_id: int | None = None,
        after_id: int | None = None,
        notes: bool = True,
    ) -> list[Message]:
        """A page of messages in posting order: the newest ``limit`` (before ``before_id`` if given).

        With ``after_id`` it returns the oldest ``limit`` messages after that id instead.
        Keyset paging on (conversation_id, id), so any page costs the same however long the chat.
        ``notes=False`` leaves internal notes out (in the query, so a page is still ``limit`` rows).
        """
        params: dict[str, Any] = {"cid": conversation_id, "n": limit}
        pages = _PAGES_ALL if notes else _PAGES_PUBLIC
        if after_id is not None:
            q, params["after"] = pages["after"], after_id
        elif before_id is not None:
            q, params["before"] = pages["before"], before_id
        else:
            q = pages["latest"]
        message = self._message
        with self.reading(single=True) as conn:
            rows = [message(r) for r in conn.execute(q, params).all()]
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
        params = {"author": author, "since": since, "n": -1 if limit is None else limit}
        if limit is None and self.backend == "postgresql":
            params["n"] = None  # LIMIT NULL is no limit there; SQLite's is LIMIT -1
        with self.reading(single=True) as conn:
            return int(conn.execute(_SINCE, params).scalar_one())

    # -- read marks ---------------------------------------------------------------------------

    def _set_read_mark(self, conn: Connection, login: str, conversation_id: int, message_id: int) -> bool:
        """Move ``login``'s read mark forward to ``message_id`` (one upsert); whether it moved."""
        moved = conn.execute(
            _UPSERT_MARK[self.backend],
            {"login": login, "conversation_id": conversation_id, "last_read_id": message_id},
        ).first()
        return moved is not None

    def mark_read(self, login: str, conversation_id: int, message_id: int | None = None) -> int:
        """Mark read up to ``message_id`` (default: the newest); read marks never move back."""
        if message_id is not None and self.backend == "postgresql":
            with self.one_statement() as conn:
                event, topics = self._event_values(
                    conn, "read", conversation_id=conversation_id, ref_id=None, payload={"login": login}
                )
                conn.execute(
                    _PG_MARK_READ,
                    {
                        "cid": conversation_id,
                        "login": login,
                        "mid": int(message_id),
                        "at": event["created_at"],
                        "payload": event["payload"],
                        "chs": pg_channels(topics),
                        # The relay skips this store's page of ``login``: it wrote the mark and needs no wake-up.
                        "origin": self.origin_for(login),
                    },
                )
            return int(message_id)
        with self.atomic() as conn:
            if message_id is None:
                message_id = conn.execute(_LAST_MESSAGE_ID, {"cid": conversation_id}).scalar_one_or_none()
                if message_id is None:
                    return 0
            if self._set_read_mark(conn, login, conversation_id, int(message_id)):
                self.append_event(conn, "read", conversation_id=conversation_id, payload={"login": login})
        return int(message_id)


def _message_payload(new: NewMessage, author: str) -> dict[str, Any]:
    """A message event's payload; a note's event is for vendor staff only (``audience.staff_only``)."""
    return {"author": author, "internal": True} if new.kind is MessageKind.NOTE else {"author": author}
