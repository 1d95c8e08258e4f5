"""Who an event concerns, as *topics*: the writer rings each topic of an event, a page listens to its own.

A topic is a short name that is both a PostgreSQL channel (``cw_<topic>``, a valid identifier under 63 bytes)
and a SQLite doorbell file (``<db>.bells/<topic>``):

- ``c<id>``: a conversation (its members and, for case chats, the ``cases`` topic too);
- ``u<sha1(login)[:16]>``: one user (read marks, account changes, being added to a conversation);
- ``staff``: directory events (groups, users, cases) for vendor staff;
- ``cases``: every service-case chat event, for engineers who read all case chats;
- ``n<id>``: a conversation's vendor staff only (internal notes and changes to them; ``STAFF_ONLY`` events).

Topics only decide who is *woken*; what a page hands over is still checked by the service.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from conferencing_widgets.core.policy import ReadScope

EVERYTHING = "events"
"""The topic every event rings, for feeds that follow everything (operators, exports). On PostgreSQL its channel is
the shared ``cw_events``; on SQLite its doorbell is rung after every commit that wrote an event."""
STAFF = "staff"
CASES = "cases"
PRIVATE_KINDS = frozenset({"read", "user"})
"""Event kinds whose ``payload.login`` is their private audience."""
DIRECTORY_KINDS = frozenset({"group", "user", "case"})
"""Events without a conversation that vendor staff see."""
STAFF_ONLY = "*staff"
"""``events.audience_login`` of a conversation event for its vendor staff only (internal notes). Never a login:
logins start with a letter or digit."""


ORIGIN_RE = re.compile(r"[0-9a-f]{1,32}")
"""A store's ``origin`` token (hex): the mark a read mark's wake-up carries so the relay skips its writer."""


def note_origin(note_payload: str | bytes) -> str:
    """The ``origin`` a wake-up's ``NOTIFY`` payload names ('' for none): only a read mark carries one, and only
    its writer's store skips it (that page has just written it, so it is news to nobody there)."""
    raw = note_payload.encode() if isinstance(note_payload, str) else note_payload
    if b'"origin"' not in raw:
        return ""
    try:
        value = json.loads(raw).get("origin")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) and ORIGIN_RE.fullmatch(value) else ""


def staff_only(payload: Mapping[str, Any]) -> bool:
    """Whether an event's payload marks it as being about an internal note (``{"internal": True}``)."""
    return payload.get("internal") is True


def note_payload(message_kind: str) -> dict[str, Any]:
    """The payload part that makes an event about a message of ``message_kind`` staff-only when it is a note."""
    return {"internal": True} if message_kind == "note" else {}


def staff_topic(conversation_id: int) -> str:
    return f"n{int(conversation_id)}"


def conversation_topic(conversation_id: int) -> str:
    return f"c{int(conversation_id)}"


def user_topic(login: str) -> str:
    return "u" + hashlib.sha1(login.encode("utf-8")).hexdigest()[:16]


def channel(topic: str) -> str:
    """The PostgreSQL channel of a topic."""
    return f"cw_{topic}"


def audience_login(kind: str, payload: Mapping[str, Any]) -> str | None:
    """The one user a private event is for, or None."""
    if staff_only(payload):
        return STAFF_ONLY
    login = payload.get("login")
    return login if kind in PRIVATE_KINDS and isinstance(login, str) else None


def event_topics(
    kind: str,
    *,
    conversation_id: int | None,
    private_to: str | None,
    payload: Mapping[str, Any],
    case_chat: bool = False,
) -> set[str]:
    """The topics an event rings."""
    topics: set[str] = set()
    if private_to == STAFF_ONLY:
        # Customer pages are never even woken by a note: only staff members' pages and all-case readers.
        if conversation_id is not None:
            topics.add(staff_topic(conversation_id))
            if case_chat:
                topics.add(CASES)
        return topics
    if private_to is not None:
        topics.add(user_topic(private_to))
        if kind == "user":
            topics.add(STAFF)
        return topics
    if conversation_id is None:
        return {STAFF} if kind in DIRECTORY_KINDS else topics
    topics.add(conversation_topic(conversation_id))
    if case_chat:
        topics.add(CASES)
    if kind in ("conversation", "members"):
        # New members do not listen on the conversation yet: ring their own doorbell too.
        for key in ("members", "added"):
            for login in payload.get(key) or ():
                if isinstance(login, str):
                    topics.add(user_topic(login))
    return topics


def scope_topics(scope: ReadScope, member_of: Iterable[int]) -> set[str]:
    """The topics a page of ``scope`` listens to, given the conversations its user is a member of."""
    topics = {user_topic(scope.login), *(conversation_topic(c) for c in member_of)}
    if scope.case_group is None:
        topics.add(STAFF)
        topics.update(staff_topic(c) for c in member_of)
    if scope.all_case_chats:
        topics.add(CASES)
    return topics
