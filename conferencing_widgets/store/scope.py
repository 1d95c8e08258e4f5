"""A ``policy.ReadScope`` as SQL: the conversations and cases one user may read, for filtering in queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from conferencing_widgets.core.model import ConversationKind
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.store import schema as s


def readable_conversations(scope: ReadScope) -> Select[Any]:
    """``SELECT id FROM conversations`` limited to the scope (the SQL form of ``policy.can_read_conversation``)."""
    return select(s.conversations.c.id).where(readable_condition(scope))


def readable_condition(scope: ReadScope) -> ColumnElement[bool]:
    """The WHERE condition on ``conversations`` that keeps what the scope may read."""
    return readable_by(scope.login, all_case_chats=scope.all_case_chats)


def readable_by(login: Any, *, all_case_chats: bool) -> ColumnElement[bool]:
    """``readable_condition`` with the login as any expression, e.g. ``bindparam("login")`` in a statement built
    once for every user (the scope's shape, ``all_case_chats``, is the only part that changes the SQL)."""
    c, m = s.conversations, s.members
    mine: ColumnElement[bool] = c.c.id.in_(select(m.c.conversation_id).where(m.c.login == login))
    if all_case_chats:
        mine = or_(mine, c.c.kind == ConversationKind.SERVICE_CASE.value)
    return mine


def visible_cases(scope: ReadScope) -> Select[Any] | None:
    """``SELECT id FROM service_cases`` the scope may see; ``None`` means every case."""
    if scope.case_group is None:
        return None
    sc = s.service_cases
    return select(sc.c.id).where(sc.c.group_id == scope.case_group)
