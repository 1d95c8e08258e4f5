"""Conversations and their members."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select

from conferencing_widgets.core.errors import NotFound
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import (
    Conversation,
    ConversationKind,
    User,
)
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.base import utcnow
from conferencing_widgets.store.directory import DirectoryQueries

_WITH_MEMBERS = (
    # A conversation and its members in one statement (one row per member, in joining order): one round trip,
    # and on SQLite no BEGIN/COMMIT around it. Every rights check reads it.
    select(s.conversations, s.members.c.login.label("member"))
    .select_from(s.conversations.outerjoin(s.members, s.members.c.conversation_id == s.conversations.c.id))
    .where(s.conversations.c.id == bindparam("cid"))
    .order_by(s.members.c.joined_at, s.members.c.login)
)

_u = s.users.c
_USER_WITH_CONVERSATION = (
    # A rights check's two reads in one statement: the user (no row: no such user) and, joined to it, the
    # conversation and its members as ``_WITH_MEMBERS`` (NULL columns: no such conversation).
    select(
        *(col.label(f"u_{col.name}") for col in s.users.c),
        s.conversations,
        s.members.c.login.label("member"),
    )
    .select_from(
        s.users.outerjoin(
            s.conversations.outerjoin(s.members, s.members.c.conversation_id == s.conversations.c.id),
            s.conversations.c.id == bindparam("cid"),
        )
    )
    .where(_u.login == bindparam("login"))
    .order_by(s.members.c.joined_at, s.members.c.login)
)

_RECENT_POSTS = (
    # The posting rate's count (``messages_since``) as one more column of a poster's rights check.
    select(func.count())
    .select_from(
        select(s.messages.c.created_at)
        .where(s.messages.c.author == bindparam("login"), s.messages.c.created_at >= bindparam("since"))
        .limit(bindparam("n"))
        .subquery()
    )
    .scalar_subquery()
)
_POSTER_WITH_CONVERSATION = _USER_WITH_CONVERSATION.add_columns(_RECENT_POSTS.label("recent_posts"))


class ConversationQueries(DirectoryQueries):
    """Conversations and their members."""

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
        with self.reading(single=True) as conn:
            rows = conn.execute(_WITH_MEMBERS, {"cid": conversation_id}).all()
        if not rows:
            raise NotFound(_("No conversation {conversation_id}.").format(conversation_id=conversation_id))
        return self._conversation(rows[0], [r.member for r in rows if r.member is not None])

    def user_and_conversation(self, login: str, conversation_id: int) -> tuple[User, Conversation | None]:
        """A user (``NotFound`` if none) and a conversation with its members (None if none), in one statement.

        ``Service.require_readable`` reads both on every use case: one round trip instead of two.
        """
        rows = self._user_rows(_USER_WITH_CONVERSATION, {"login": login, "cid": conversation_id})
        return self._user_and_conversation(rows)

    def poster_and_conversation(
        self, login: str, conversation_id: int, since: datetime, limit: int
    ) -> tuple[User, Conversation | None, int]:
        """``user_and_conversation`` plus how many messages ``login`` posted since ``since`` (counted up to
        ``limit``, as ``messages_since``): a post's rights and rate checks in one statement."""
        rows = self._user_rows(
            _POSTER_WITH_CONVERSATION, {"login": login, "cid": conversation_id, "since": since, "n": limit}
        )
        return (*self._user_and_conversation(rows), int(rows[0].recent_posts))

    def _user_rows(self, statement: Any, params: dict[str, Any]) -> Sequence[Any]:
        with self.reading(single=True) as conn:
            rows = conn.execute(statement, params).all()
        if not rows:
            raise NotFound(_("No user {login!r}.").format(login=params["login"]))
        return rows

    def _user_and_conversation(self, rows: Sequence[Any]) -> tuple[User, Conversation | None]:
        r = rows[0]
        user = self._user(r, prefix="u_")
        if r.id is None:
            return user, None
        return user, self._conversation(r, [x.member for x in rows if x.member is not None])

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

