"""Call records, who is in a call, and the built-in call's signalling messages. No permission checks here.

Every change appends a feed event in the same transaction: ``call`` (payload ``action`` = start, join,
leave or end, plus the call message's id) and ``call_signal`` (payload: the call id and the recipient's
login). Payloads never carry the room name, a token or the signalling content: engineers who may only read
a conversation see its events too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, false, func, insert, or_, select, update

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Call, Message, MessageKind, NewMessage
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.store import Store, utcnow

CALL_EVENT = EventKind.CALL.value
"""Feed event of a call's life cycle."""
SIGNAL_EVENT = EventKind.CALL_SIGNAL.value
"""Feed event of a new signalling message (content stays in the table)."""


@dataclass(frozen=True, kw_only=True)
class CallSignal:
    """One WebRTC signalling message of the built-in call, addressed to one participant."""

    id: int
    """Store id, increasing in sending order."""
    call_id: int
    """The call."""
    from_login: str
    """The sender."""
    from_session: str
    """The sender's call page (a random id per page load)."""
    to_login: str
    """The recipient."""
    to_session: str | None
    """The recipient's call page, or None for any page of the recipient (offers)."""
    kind: str
    """``offer``, ``answer``, ``candidate`` or ``bye``."""
    data: dict[str, Any] = field(default_factory=dict)
    """The SDP or ICE candidate."""
    created_at: datetime
    """Server time (UTC)."""


def _calls(conn: Connection, where: Any, *, limit: int | None = None) -> list[Call]:
    q = select(s.calls).where(where).order_by(s.calls.c.id.desc())
    if limit is not None:
        q = q.limit(limit)
    rows = conn.execute(q).all()
    parts: dict[int, list[str]] = {}
    if rows:
        for p in conn.execute(
            select(s.call_participants.c.call_id, s.call_participants.c.login)
            .where(s.call_participants.c.call_id.in_([int(r.id) for r in rows]))
            .order_by(s.call_participants.c.joined_at, s.call_participants.c.login)
        ):
            parts.setdefault(int(p.call_id), []).append(p.login)
    return [
        Call(
            id=int(r.id),
            conversation_id=int(r.conversation_id),
            provider=r.provider,
            room=r.room,
            started_by=r.started_by,
            started_at=r.started_at,
            ended_at=r.ended_at,
            participants=tuple(parts.get(int(r.id), [])),
        )
        for r in rows
    ]


def _one(conn: Connection, call_id: int, *, lock: bool = False) -> Call:
    if lock:
        # Orders concurrent joins on PostgreSQL (SQLite's BEGIN IMMEDIATE already serialises writers), so of
        # two pages joining at once exactly one sees the other and sends the offer.
        conn.execute(select(s.calls.c.id).where(s.calls.c.id == call_id).with_for_update())
    found = _calls(conn, s.calls.c.id == call_id)
    if not found:
        raise NotFound(_("No call {call_id}.").format(call_id=call_id))
    return found[0]


def get_call(store: Store, call_id: int) -> Call:
    """One call with its participants (in joining order), or ``NotFound``."""
    with store.reading() as conn:
        return _one(conn, int(call_id))


def calls_of(store: Store, conversation_id: int, *, limit: int = 20) -> list[Call]:
    """A conversation's calls, newest first."""
    with store.reading() as conn:
        return _calls(conn, s.calls.c.conversation_id == int(conversation_id), limit=max(1, int(limit)))


def live_call(store: Store, conversation_id: int) -> Call | None:
    """The conversation's newest call that has not ended, if any."""
    with store.reading() as conn:
        found = _calls(
            conn, and_(s.calls.c.conversation_id == int(conversation_id), s.calls.c.ended_at.is_(None)), limit=1
        )
    return found[0] if found else None


def _present(conn: Connection, call_id: int) -> list[str]:
    return list(
        conn.execute(
            select(s.call_participants.c.login)
            .where(s.call_participants.c.call_id == call_id, s.call_participants.c.left_at.is_(None))
            .order_by(s.call_participants.c.joined_at, s.call_participants.c.login)
        ).scalars()
    )


def present(store: Store, call_id: int) -> list[str]:
    """Logins in the call now (joined and not left)."""
    with store.reading() as conn:
        return _present(conn, int(call_id))


def _message_id(conn: Connection, call: Call) -> int | None:
    return conn.execute(
        select(func.min(s.messages.c.id)).where(
            s.messages.c.conversation_id == call.conversation_id,
            s.messages.c.kind == MessageKind.CALL.value,
            s.messages.c.ref_id == call.id,
        )
    ).scalar_one_or_none()


def call_message_id(store: Store, call_id: int) -> int | None:
    """Id of the stream message that announced the call."""
    with store.reading() as conn:
        return _message_id(conn, _one(conn, int(call_id)))


def _event(store: Store, conn: Connection, call: Call, action: str, login: str) -> None:
    store.append_event(
        conn,
        CALL_EVENT,
        conversation_id=call.conversation_id,
        ref_id=call.id,
        payload={"action": action, "login": login, "message_id": _message_id(conn, call)},
    )


def _join(conn: Connection, call_id: int, login: str, at: datetime | None = None) -> bool:
    """Mark ``login`` present; True when that changed anything."""
    row = conn.execute(
        select(s.call_participants.c.left_at).where(
            s.call_participants.c.call_id == call_id, s.call_participants.c.login == login
        )
    ).first()
    if row is None:
        conn.execute(insert(s.call_participants).values(call_id=call_id, login=login, joined_at=at or utcnow()))
        return True
    if row.left_at is not None:
        conn.execute(
            update(s.call_participants)
            .where(s.call_participants.c.call_id == call_id, s.call_participants.c.login == login)
            .values(left_at=None)
        )
        return True
    return False


def create_call(
    store: Store,
    *,
    conversation_id: int,
    provider: str,
    room: str,
    started_by: str,
    body: str,
    join: bool = False,
    at: datetime | None = None,
) -> tuple[Call, Message]:
    """Store a call, its stream message and (with ``join``) the starter as its first participant, atomically.

    ``at`` backdates the start, for the demo and tests only.
    """
    with store.atomic() as conn:
        call_id = conn.execute(
            insert(s.calls)
            .values(
                conversation_id=int(conversation_id),
                provider=provider,
                room=room,
                started_by=started_by,
                started_at=at or utcnow(),
                ended_at=None,
            )
            .returning(s.calls.c.id)
        ).scalar_one()
        if join:
            _join(conn, int(call_id), started_by, at)
        message, _ = store.post_message(
            NewMessage(conversation_id=int(conversation_id), body=body, kind=MessageKind.CALL, ref_id=int(call_id)),
            author=started_by,
            at=at,
        )
        call = _one(conn, int(call_id))
        _event(store, conn, call, "start", started_by)
    return call, message


@dataclass(frozen=True, kw_only=True)
class Joined:
    """What joining a call tells the joiner."""

    call: Call
    """The call after the join."""
    others: list[str]
    """Who else is in it now: the joiner sends each of them an offer."""
    cursor: int
    """The newest signal id at joining time: anything older is not meant for this visit."""


def join_call(store: Store, call_id: int, login: str, *, at: datetime | None = None) -> Joined:
    """Put ``login`` in a live call (idempotent); ``at`` backdates the join (demo and tests)."""
    with store.atomic() as conn:
        call = _one(conn, int(call_id), lock=True)
        if not call.live:
            raise InvalidInput(_("This call has ended. Start a new one with the video button."))
        others = [p for p in _present(conn, call.id) if p != login]
        cursor = conn.execute(
            select(func.coalesce(func.max(s.call_signals.c.id), 0)).where(s.call_signals.c.call_id == call.id)
        ).scalar_one()
        if _join(conn, call.id, login, at):
            call = _one(conn, call.id)
            _event(store, conn, call, "join", login)
    return Joined(call=call, others=others, cursor=int(cursor))


def _end(store: Store, conn: Connection, call: Call, login: str, at: datetime | None = None) -> Call:
    now = at or utcnow()
    conn.execute(update(s.calls).where(s.calls.c.id == call.id).values(ended_at=now))
    conn.execute(
        update(s.call_participants)
        .where(s.call_participants.c.call_id == call.id, s.call_participants.c.left_at.is_(None))
        .values(left_at=now)
    )
    # Signalling holds network addresses and is useless once the call is over.
    conn.execute(delete(s.call_signals).where(s.call_signals.c.call_id == call.id))
    ended = _one(conn, call.id)
    _event(store, conn, ended, "end", login)
    return ended


def leave_call(store: Store, call_id: int, login: str) -> Call:
    """``login`` leaves. The call ends when fewer than two remain (nobody left to talk to).

    Someone who was not in the call (a call window closed before joining) ends it only if nobody is in it.
    """
    with store.atomic() as conn:
        call = _one(conn, int(call_id), lock=True)
        if not call.live:
            return call
        here = _present(conn, call.id)
        was_in = login in here
        if was_in:
            conn.execute(
                update(s.call_participants)
                .where(s.call_participants.c.call_id == call.id, s.call_participants.c.login == login)
                .values(left_at=utcnow())
            )
            here.remove(login)
        if (was_in and len(here) < 2) or not here:
            return _end(store, conn, call, login)
        if was_in:
            call = _one(conn, call.id)
            _event(store, conn, call, "leave", login)
        return call


def end_call(store: Store, call_id: int, login: str, *, at: datetime | None = None) -> Call:
    """End a call for everyone (no-op when it already ended); ``at`` backdates the end (demo and tests)."""
    with store.atomic() as conn:
        call = _one(conn, int(call_id), lock=True)
        return _end(store, conn, call, login, at) if call.live else call


def add_signal(
    store: Store,
    *,
    call: Call,
    from_login: str,
    from_session: str,
    to_login: str,
    to_session: str | None,
    kind: str,
    data: dict[str, Any],
) -> int:
    """Store one signalling message and wake its recipient through the feed."""
    with store.atomic() as conn:
        store.lock_id_order(conn)  # the call page reads signals "after my last id"
        signal_id = conn.execute(
            insert(s.call_signals)
            .values(
                call_id=call.id,
                from_login=from_login,
                from_session=from_session,
                to_login=to_login,
                to_session=to_session,
                kind=kind,
                body=json.dumps(data, separators=(",", ":")),
                created_at=utcnow(),
            )
            .returning(s.call_signals.c.id)
        ).scalar_one()
        store.append_event(
            conn,
            SIGNAL_EVENT,
            conversation_id=call.conversation_id,
            ref_id=int(signal_id),
            payload={"call": call.id, "to": to_login},
        )
    return int(signal_id)


def signals_for(
    store: Store, call_id: int, *, to_login: str, sessions: Iterable[str | None], after_id: int = 0, limit: int = 500
) -> list[CallSignal]:
    """Signals for ``to_login`` after ``after_id``, addressed to one of ``sessions`` (None: any page)."""
    wanted = list(sessions)
    named = [x for x in wanted if x is not None]
    to_session = s.call_signals.c.to_session
    pages: list[ColumnElement[bool]] = [to_session.in_(named)] if named else []
    if None in wanted:
        pages.append(to_session.is_(None))
    q = select(s.call_signals).where(
        s.call_signals.c.call_id == int(call_id),
        s.call_signals.c.to_login == to_login,
        s.call_signals.c.id > int(after_id),
        or_(false(), *pages),
    )
    with store.reading() as conn:
        rows = conn.execute(q.order_by(s.call_signals.c.id).limit(limit)).all()
    return [
        CallSignal(
            id=int(r.id),
            call_id=int(r.call_id),
            from_login=r.from_login,
            from_session=r.from_session,
            to_login=r.to_login,
            to_session=r.to_session,
            kind=r.kind,
            data=json.loads(r.body),
            created_at=r.created_at,
        )
        for r in rows
    ]
