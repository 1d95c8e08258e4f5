"""The store: every record and the append-only events table, on SQLite or PostgreSQL.

The API follows sqlite-utils: keyword options, plain records (model dataclasses) out, and a nestable
``atomic()``. Every change appends an event in the same transaction, so followers of the feed see
exactly what was committed, in commit order of event ids.

The store checks integrity (existence, uniqueness) but no permissions: that is the service's job.
"""

from __future__ import annotations

import contextvars
import functools
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from conferencing_widgets.core.errors import InvalidInput, NotFound, StorageError
from conferencing_widgets.core.model import (
    UNREAD_CAP,
    Call,
    CaseStatus,
    Conversation,
    ConversationKind,
    ConversationSummary,
    Event,
    Group,
    Message,
    MessageKind,
    NewMessage,
    Role,
    ServiceCase,
    User,
)
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.engine import make_engine, normalise_url

NOTIFY_CHANNEL = "cw_events"
EVENT_LOCK_KEY = 0x63770001
"""Advisory lock that orders event commits on PostgreSQL."""


def utcnow() -> datetime:
    """Server time, the only clock records are stamped with."""
    return datetime.now(UTC)


class Store:
    """Persistence for one store URL. Thread-safe; share one per process."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = normalise_url(url)
        self.engine = engine or make_engine(self.url)
        self.backend = self.engine.dialect.name
        self._conn: contextvars.ContextVar[Connection | None] = contextvars.ContextVar(
            f"cw_conn_{id(self)}", default=None
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
                raise StorageError(f"The store is not available: {exc.orig}. Try again shortly.") from exc

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
            raise StorageError(f"The store is not available: {exc.orig}. Try again shortly.") from exc

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

    # -- groups and users ---------------------------------------------------------------------

    def add_group(self, *, id: str, name: str, is_vendor: bool = False) -> Group:
        """Create or update a group. Only one group may be the vendor."""
        with self.atomic() as conn:
            if is_vendor:
                other = conn.execute(select(s.groups.c.id).where(s.groups.c.is_vendor, s.groups.c.id != id)).first()
                if other:
                    raise InvalidInput(f"Group {other.id!r} is already the vendor; there is exactly one.")
            exists = conn.execute(select(s.groups.c.id).where(s.groups.c.id == id)).first()
            if exists:
                conn.execute(update(s.groups).where(s.groups.c.id == id).values(name=name, is_vendor=is_vendor))
            else:
                conn.execute(insert(s.groups).values(id=id, name=name, is_vendor=is_vendor))
            self.append_event(conn, "group", payload={"group_id": id})
        return Group(id=id, name=name, is_vendor=is_vendor)

    def groups(self) -> list[Group]:
        """All groups, vendor first."""
        with self.reading() as conn:
            rows = conn.execute(select(s.groups).order_by(s.groups.c.is_vendor.desc(), s.groups.c.name)).all()
        return [Group(id=r.id, name=r.name, is_vendor=bool(r.is_vendor)) for r in rows]

    def get_group(self, group_id: str) -> Group:
        """One group, or ``NotFound``."""
        with self.reading() as conn:
            r = conn.execute(select(s.groups).where(s.groups.c.id == group_id)).first()
        if r is None:
            raise NotFound(f"No group {group_id!r}.")
        return Group(id=r.id, name=r.name, is_vendor=bool(r.is_vendor))

    def vendor_group(self) -> Group | None:
        """The vendor's group, if set up."""
        return next((g for g in self.groups() if g.is_vendor), None)

    def add_user(
        self, *, login: str, display_name: str, group_id: str, role: Role | str, disabled: bool = False
    ) -> User:
        """Create or update a user."""
        role = Role(role)
        with self.atomic() as conn:
            if conn.execute(select(s.groups.c.id).where(s.groups.c.id == group_id)).first() is None:
                raise NotFound(f"No group {group_id!r}; create it first.")
            values = {"display_name": display_name, "group_id": group_id, "role": role.value, "disabled": disabled}
            if conn.execute(select(s.users.c.login).where(s.users.c.login == login)).first():
                conn.execute(update(s.users).where(s.users.c.login == login).values(**values))
            else:
                conn.execute(insert(s.users).values(login=login, **values))
            self.append_event(conn, "user", payload={"login": login})
        return User(login=login, display_name=display_name, group_id=group_id, role=role, disabled=disabled)

    def set_user_disabled(self, login: str, disabled: bool) -> None:
        """Disable or re-enable a user."""
        with self.atomic() as conn:
            if conn.execute(update(s.users).where(s.users.c.login == login).values(disabled=disabled)).rowcount == 0:
                raise NotFound(f"No user {login!r}.")
            self.append_event(conn, "user", payload={"login": login})

    @staticmethod
    def _user(r: Any) -> User:
        return User(
            login=r.login,
            display_name=r.display_name,
            group_id=r.group_id,
            role=Role(r.role),
            disabled=bool(r.disabled),
        )

    def get_user(self, login: str) -> User:
        """One user, or ``NotFound``."""
        with self.reading() as conn:
            r = conn.execute(select(s.users).where(s.users.c.login == login)).first()
        if r is None:
            raise NotFound(f"No user {login!r}.")
        return self._user(r)

    def users(self, *, group_id: str | None = None, logins: Iterable[str] | None = None) -> list[User]:
        """Users, optionally of one group or from a list of logins, ordered by display name."""
        q = select(s.users).order_by(s.users.c.display_name, s.users.c.login)
        if group_id is not None:
            q = q.where(s.users.c.group_id == group_id)
        if logins is not None:
            q = q.where(s.users.c.login.in_(list(logins)))
        with self.reading() as conn:
            return [self._user(r) for r in conn.execute(q)]

    # -- service cases ------------------------------------------------------------------------

    def add_case(
        self,
        *,
        number: str,
        title: str,
        group_id: str,
        machine_model: str = "",
        machine_serial: str = "",
        status: CaseStatus | str = CaseStatus.OPEN,
        technicians: Sequence[str] = (),
    ) -> ServiceCase:
        """Create a service case, or update the one with this number."""
        status = CaseStatus(status)
        with self.atomic() as conn:
            group = conn.execute(select(s.groups).where(s.groups.c.id == group_id)).first()
            if group is None:
                raise NotFound(f"No group {group_id!r}.")
            if group.is_vendor:
                raise InvalidInput("A service case belongs to a customer company, not to the vendor.")
            for login in technicians:
                u = conn.execute(select(s.users).where(s.users.c.login == login)).first()
                if u is None:
                    raise NotFound(f"No user {login!r} to assign.")
                if Role(u.role) is Role.CUSTOMER:
                    raise InvalidInput(f"{login!r} is a customer; only vendor staff can be assigned.")
            values = {
                "title": title,
                "group_id": group_id,
                "machine_model": machine_model,
                "machine_serial": machine_serial,
                "status": status.value,
            }
            existing = conn.execute(select(s.service_cases.c.id).where(s.service_cases.c.number == number)).first()
            if existing:
                case_id = int(existing.id)
                conn.execute(update(s.service_cases).where(s.service_cases.c.id == case_id).values(**values))
                conn.execute(s.case_technicians.delete().where(s.case_technicians.c.case_id == case_id))
            else:
                case_id = conn.execute(
                    insert(s.service_cases)
                    .values(number=number, created_at=utcnow(), **values)
                    .returning(s.service_cases.c.id)
                ).scalar_one()
            for login in dict.fromkeys(technicians):
                conn.execute(insert(s.case_technicians).values(case_id=case_id, login=login))
            self.append_event(conn, "case", ref_id=case_id)
        return self.get_case(int(case_id))

    def _cases(self, conn: Connection, where: Any = None) -> list[ServiceCase]:
        q = select(s.service_cases).order_by(s.service_cases.c.number)
        if where is not None:
            q = q.where(where)
        rows = conn.execute(q).all()
        techs: dict[int, list[str]] = {}
        if rows:
            for t in conn.execute(
                select(s.case_technicians).where(s.case_technicians.c.case_id.in_([r.id for r in rows]))
            ):
                techs.setdefault(int(t.case_id), []).append(t.login)
        return [
            ServiceCase(
                id=int(r.id),
                number=r.number,
                title=r.title,
                group_id=r.group_id,
                machine_model=r.machine_model,
                machine_serial=r.machine_serial,
                status=CaseStatus(r.status),
                technicians=tuple(sorted(techs.get(int(r.id), []))),
            )
            for r in rows
        ]

    def get_case(self, case_id: int) -> ServiceCase:
        """One case, or ``NotFound``."""
        with self.reading() as conn:
            found = self._cases(conn, s.service_cases.c.id == case_id)
        if not found:
            raise NotFound(f"No service case {case_id}.")
        return found[0]

    def get_case_by_number(self, number: str) -> ServiceCase:
        """One case by its number, or ``NotFound``."""
        with self.reading() as conn:
            found = self._cases(conn, s.service_cases.c.number == number)
        if not found:
            raise NotFound(f"No service case {number!r}.")
        return found[0]

    def cases(self, *, group_id: str | None = None) -> list[ServiceCase]:
        """All cases, or those of one customer company."""
        with self.reading() as conn:
            return self._cases(conn, None if group_id is None else s.service_cases.c.group_id == group_id)

    # -- conversations ------------------------------------------------------------------------

    def create_conversation(
        self,
        *,
        kind: ConversationKind | str,
        title: str,
        created_by: str,
        members: Sequence[str],
        case_id: int | None = None,
        at: datetime | None = None,
    ) -> Conversation:
        """Create a conversation with its members (the creator is always one).

        ``at`` backdates it, for imports and the demo only; the service always uses the server's time.
        """
        kind = ConversationKind(kind)
        now = at or utcnow()
        logins = list(dict.fromkeys([created_by, *members]))
        with self.atomic() as conn:
            conv_id = conn.execute(
                insert(s.conversations)
                .values(
                    kind=kind.value,
                    title=title,
                    case_id=case_id,
                    created_by=created_by,
                    created_at=now,
                    last_activity_at=now,
                )
                .returning(s.conversations.c.id)
            ).scalar_one()
            conn.execute(
                insert(s.members), [{"conversation_id": conv_id, "login": m, "joined_at": now} for m in logins]
            )
            self.append_event(
                conn, "conversation", conversation_id=conv_id, ref_id=conv_id, payload={"members": logins}
            )
        return Conversation(
            id=int(conv_id),
            kind=kind,
            title=title,
            case_id=case_id,
            created_by=created_by,
            created_at=now,
            members=tuple(logins),
        )

    def add_members(self, conversation_id: int, logins: Sequence[str]) -> list[str]:
        """Add members; returns those who were not members yet."""
        now = utcnow()
        with self.atomic() as conn:
            have = set(self._member_logins(conn, conversation_id))
            new = [m for m in dict.fromkeys(logins) if m not in have]
            if new:
                conn.execute(
                    insert(s.members),
                    [{"conversation_id": conversation_id, "login": m, "joined_at": now} for m in new],
                )
                self.append_event(conn, "members", conversation_id=conversation_id, payload={"added": new})
        return new

    @staticmethod
    def _member_logins(conn: Connection, conversation_id: int) -> list[str]:
        return list(
            conn.execute(
                select(s.members.c.login)
                .where(s.members.c.conversation_id == conversation_id)
                .order_by(s.members.c.joined_at, s.members.c.login)
            ).scalars()
        )

    def members(self, conversation_id: int) -> list[str]:
        """Logins of a conversation's members, in joining order."""
        with self.reading() as conn:
            return self._member_logins(conn, conversation_id)

    def is_member(self, conversation_id: int, login: str) -> bool:
        """Whether ``login`` is a member."""
        with self.reading() as conn:
            return (
                conn.execute(
                    select(s.members.c.login).where(
                        s.members.c.conversation_id == conversation_id, s.members.c.login == login
                    )
                ).first()
                is not None
            )

    def get_conversation(self, conversation_id: int) -> Conversation:
        """One conversation with its members, or ``NotFound``."""
        with self.reading() as conn:
            r = conn.execute(select(s.conversations).where(s.conversations.c.id == conversation_id)).first()
            if r is None:
                raise NotFound(f"No conversation {conversation_id}.")
            return self._conversation(r, self._member_logins(conn, conversation_id))

    @staticmethod
    def _conversation(r: Any, members: Sequence[str] = ()) -> Conversation:
        return Conversation(
            id=int(r.id),
            kind=ConversationKind(r.kind),
            title=r.title,
            case_id=None if r.case_id is None else int(r.case_id),
            created_by=r.created_by,
            created_at=r.created_at,
            members=tuple(members),
        )

    def conversations_of_case(self, case_id: int) -> list[Conversation]:
        """Every conversation about one case."""
        with self.reading() as conn:
            rows = conn.execute(
                select(s.conversations).where(s.conversations.c.case_id == case_id).order_by(s.conversations.c.id)
            ).all()
            return [self._conversation(r, self._member_logins(conn, int(r.id))) for r in rows]

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
        login: str,
        *,
        limit: int = 50,
        kind: ConversationKind | None = None,
        include_all_cases: bool = False,
        before: tuple[datetime, int] | None = None,
    ) -> list[ConversationSummary]:
        """A user's conversations, most recent activity first, with last message and unread count.

        ``include_all_cases`` adds every service case chat (engineers may read them all).
        ``before`` is the (last_activity_at, id) of the last row of the previous page.
        """
        c = s.conversations
        mine = select(s.members.c.conversation_id).where(s.members.c.login == login)
        visible = c.c.id.in_(mine)
        if include_all_cases:
            visible = or_(visible, c.c.kind == ConversationKind.SERVICE_CASE.value)
        q = select(c).where(visible)
        if kind is not None:
            q = q.where(c.c.kind == ConversationKind(kind).value)
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

    # -- calls (records only; the video issue adds the feature) ---------------------------------

    def get_call(self, call_id: int) -> Call:
        """One call record, or ``NotFound``."""
        with self.reading() as conn:
            r = conn.execute(select(s.calls).where(s.calls.c.id == call_id)).first()
            if r is None:
                raise NotFound(f"No call {call_id}.")
            parts = conn.execute(
                select(s.call_participants.c.login).where(s.call_participants.c.call_id == call_id)
            ).scalars()
            return Call(
                id=int(r.id),
                conversation_id=int(r.conversation_id),
                provider=r.provider,
                room=r.room,
                started_by=r.started_by,
                started_at=r.started_at,
                ended_at=r.ended_at,
                participants=tuple(sorted(parts)),
            )

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


@functools.cache
def _unread_many_query() -> Any:
    """``(conversation id, capped unread count)`` for ``ids``; per conversation an index range scan of at most
    ``UNREAD_CAP`` rows, as in ``unread_count``. Built once: constructing 50 statements per inbox cost more than
    running them."""
    c = s.conversations
    count = Store._unread_query(bindparam("login"), c.c.id).scalar_subquery()
    return select(c.c.id, count).where(c.c.id.in_(bindparam("ids", expanding=True)))


# Imported late for type hints only: feed.py imports this module.
from conferencing_widgets.store.feed import ChangeFeed  # noqa: E402
