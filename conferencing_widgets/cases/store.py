"""Case workflow queries: status changes with their history, notice and events; clock inputs. No rights here.

A status change is one transaction: the case row (only if it still has the status the caller saw, so two
concurrent changes never both apply), a ``case_status_history`` row, a system notice in every chat of the case
and a ``case`` event per chat (its members and engineers are woken) plus one directory ``case`` event for staff.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from sqlalchemy import insert, select, update

from conferencing_widgets.cases.clocks import Post
from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import (
    CasePriority,
    CaseStatus,
    MessageKind,
    NewMessage,
    Role,
    StatusChange,
)
from conferencing_widgets.store import Store, utcnow
from conferencing_widgets.store import schema as s

CASE_EVENT = EventKind.CASE.value


def set_status(
    store: Store,
    case_id: int,
    *,
    expected: CaseStatus,
    new: CaseStatus,
    by: str,
    notice: str,
    automatic: bool = False,
    at: datetime | None = None,
) -> StatusChange | None:
    """Move a case from ``expected`` to ``new``; None (nothing written) when it no longer has ``expected``.

    ``at`` backdates the change, for the demo and tests only.
    """
    now = at or utcnow()
    sc = s.service_cases
    with store.atomic() as conn:
        moved = conn.execute(
            update(sc).where(sc.c.id == case_id, sc.c.status == expected.value).values(status=new.value)
        ).rowcount
        if not moved:
            return None
        change_id = conn.execute(
            insert(s.case_status_history)
            .values(
                case_id=case_id,
                from_status=expected.value,
                to_status=new.value,
                by_login=by,
                at=now,
                automatic=automatic,
            )
            .returning(s.case_status_history.c.id)
        ).scalar_one()
        payload = {"case_id": case_id, "status": new.value, "change_id": int(change_id)}
        chats = conn.execute(
            select(s.conversations.c.id).where(s.conversations.c.case_id == case_id).order_by(s.conversations.c.id)
        ).scalars()
        for chat_id in list(chats):
            store.post_message(
                NewMessage(conversation_id=int(chat_id), body=notice, kind=MessageKind.SYSTEM, ref_id=int(change_id)),
                author=by,
                at=now,
            )
            store.append_event(conn, CASE_EVENT, conversation_id=int(chat_id), ref_id=case_id, payload=payload)
        store.append_event(conn, CASE_EVENT, ref_id=case_id, payload=payload)
    return StatusChange(
        id=int(change_id), case_id=case_id, from_status=expected, to_status=new, by=by, at=now, automatic=automatic
    )


def set_priority(store: Store, case_id: int, priority: CasePriority) -> None:
    """Change a case's priority (a directory ``case`` event for staff; customers never see priorities)."""
    sc = s.service_cases
    with store.atomic() as conn:
        if not conn.execute(update(sc).where(sc.c.id == case_id).values(priority=priority.value)).rowcount:
            raise NotFound(_("No service case {case_id}.").format(case_id=case_id))
        store.append_event(conn, CASE_EVENT, ref_id=case_id, payload={"case_id": case_id, "priority": priority.value})


def status_history(store: Store, case_ids: Collection[int]) -> dict[int, list[StatusChange]]:
    """Status changes of the given cases, oldest first, by case."""
    out: dict[int, list[StatusChange]] = {int(c): [] for c in case_ids}
    if not out:
        return out
    h = s.case_status_history
    with store.reading() as conn:
        rows = conn.execute(select(h).where(h.c.case_id.in_(sorted(out))).order_by(h.c.case_id, h.c.id)).all()
    for r in rows:
        try:
            change = StatusChange(
                id=int(r.id),
                case_id=int(r.case_id),
                from_status=CaseStatus(r.from_status),
                to_status=CaseStatus(r.to_status),
                by=r.by_login,
                at=r.at,
                automatic=bool(r.automatic),
            )
        except ValueError as exc:  # a hand-edited row: say which, never guess
            raise InvalidInput(_("Status history row {id} has an unknown status.").format(id=r.id)) from exc
        out[int(r.case_id)].append(change)
    return out


def posts(store: Store, case_ids: Iterable[int]) -> dict[int, list[Post]]:
    """The clock input of each case: its messages in every chat but system notices and internal notes (when, and
    whether from vendor staff).

    Deleted messages count (a reply that was later deleted was still a reply), as in the export's metrics.
    """
    ids = sorted({int(c) for c in case_ids})
    out: dict[int, list[Post]] = {c: [] for c in ids}
    if not ids:
        return out
    m, c, u = s.messages, s.conversations, s.users
    q = (
        select(c.c.case_id, m.c.created_at, u.c.role)
        .select_from(m.join(c, c.c.id == m.c.conversation_id).join(u, u.c.login == m.c.author))
        .where(c.c.case_id.in_(ids), m.c.kind.not_in([MessageKind.SYSTEM.value, MessageKind.NOTE.value]))
        .order_by(m.c.created_at, m.c.id)
    )
    with store.reading() as conn:
        for case_id, at, role in conn.execute(q):
            out[int(case_id)].append(Post(at=at, vendor=role != Role.CUSTOMER.value))
    return out
