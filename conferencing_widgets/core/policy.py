"""Pure access rules: who may read, post, open and add whom. No I/O; ``service.py`` enforces them.

The product manual's rule: "the customer can add a person from their group, the technician anyone
from the vendor's group". Direct chats stay within one group; service case chats join one customer
company with the vendor, each side adding only people of its own group.
"""

from __future__ import annotations

from dataclasses import dataclass

from conferencing_widgets.core.model import (
    Call,
    CaseStatus,
    Conversation,
    ConversationKind,
    Message,
    MessageKind,
    Role,
    ServiceCase,
    User,
)

READ_ALL_CASES = frozenset({Role.ENGINEER, Role.ADMIN})
"""Roles that may read every service case conversation without being a member."""


@dataclass(frozen=True, kw_only=True)
class ReadScope:
    """What one user may read, as data: the store turns it into SQL, ``can_read_conversation`` into a yes/no.

    Bulk reads (the history list, exports, search) filter in the query with it, so a count never leaks.
    """

    login: str
    """Conversations this user is a member of."""
    all_case_chats: bool = False
    """Also every service case chat (engineers and admins)."""
    case_group: str | None = None
    """Service cases of this group only; ``None``: every case (vendor staff)."""
    notes: bool = False
    """Also internal notes (vendor staff, ``can_read_notes``); bulk reads leave them out otherwise."""


def read_scope(user: User) -> ReadScope:
    """The one definition of what ``user`` may read in bulk."""
    return ReadScope(
        login=user.login,
        all_case_chats=user.role in READ_ALL_CASES,
        case_group=None if user.is_vendor_staff else user.group_id,
        notes=can_read_notes(user),
    )


def can_read_conversation(user: User, conversation: Conversation, *, is_member: bool) -> bool:
    """Members read; engineers and admins also read every service case chat."""
    if user.disabled:
        return False
    if is_member:
        return True
    return conversation.kind is ConversationKind.SERVICE_CASE and read_scope(user).all_case_chats


def can_post(user: User, *, is_member: bool) -> bool:
    """Only members post; reading rights alone never allow posting."""
    return is_member and not user.disabled


def can_join_case_chat(user: User, conversation: Conversation) -> bool:
    """Engineers and admins may join any service case chat they read, to answer in it."""
    return (
        not user.disabled and conversation.kind is ConversationKind.SERVICE_CASE and user.role in READ_ALL_CASES
    )


def can_see_case(user: User, case: ServiceCase) -> bool:
    """Customers see their own company's cases; vendor staff see every case."""
    if user.disabled:
        return False
    return user.is_vendor_staff or case.group_id == user.group_id


def can_open_case_chat(user: User, case: ServiceCase) -> bool:
    """A customer opens case chats only for their company's cases; vendor staff for any case."""
    return can_see_case(user, case)


def may_add(actor: User, candidate: User) -> bool:
    """Each side adds only people of its own group, and never disabled accounts."""
    return not candidate.disabled and candidate.group_id == actor.group_id


def may_join_case_chat(candidate: User, case: ServiceCase, vendor_group_id: str | None) -> bool:
    """A case chat holds the case's customer company and vendor staff, nobody else."""
    return candidate.group_id == case.group_id or (
        vendor_group_id is not None and candidate.group_id == vendor_group_id
    )


def can_export_everything(user: User) -> bool:
    """Admins export every conversation; others export what they may read."""
    return user.role is Role.ADMIN and not user.disabled


def can_end_call(user: User, call: Call) -> bool:
    """A call's starter and anyone who took part may end it for everyone (membership is checked besides)."""
    return user.login == call.started_by or user.login in call.participants


EDITABLE_KINDS = frozenset({MessageKind.TEXT, MessageKind.NOTE})
"""Kinds whose body their author may edit (files, boards, calls and system notices are references, not text)."""


def can_edit_message(user: User, message: Message, *, is_member: bool) -> bool:
    """Authors edit their own text messages while they may still post there; nobody edits a tombstone."""
    return (
        can_post(user, is_member=is_member)
        and message.author == user.login
        and message.kind in EDITABLE_KINDS
        and not message.deleted
    )


def can_read_notes(user: User) -> bool:
    """Internal notes are the vendor's own: staff read them wherever they read the case chat, customers never."""
    return user.is_vendor_staff and not user.disabled


def can_see_message(user: User, message: Message) -> bool:
    """A message of a readable conversation is visible unless it is a note and ``user`` may not read notes."""
    return message.kind is not MessageKind.NOTE or can_read_notes(user)


def can_write_note(user: User, conversation: Conversation, *, is_member: bool) -> bool:
    """Vendor staff who may post in a service case chat may write notes there (direct chats have no audience
    to hide them from)."""
    return (
        can_post(user, is_member=is_member)
        and can_read_notes(user)
        and conversation.kind is ConversationKind.SERVICE_CASE
    )


def can_delete_message(user: User, message: Message, *, is_member: bool, may_read: bool) -> bool:
    """Authors delete their own messages while they may post there; admins delete any message they read
    (moderation)."""
    if user.disabled or message.deleted or not may_read:
        return False
    if user.role is Role.ADMIN:
        return True
    return message.author == user.login and can_post(user, is_member=is_member)


def can_react(user: User, *, is_member: bool) -> bool:
    """Reacting is a small post: it needs read and post rights (members only)."""
    return can_post(user, is_member=is_member)


def can_reply_to(conversation: Conversation, original: Message) -> bool:
    """A reply quotes a message of its own conversation only (never another chat's text)."""
    return original.conversation_id == conversation.id


DONE_STATUSES = frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED})
"""Statuses of finished cases (sorted below the others; a change out of them is a reopen)."""
CUSTOMER_REOPENS_TO = CaseStatus.WAITING_ON_VENDOR
"""The one status change a customer may make: their company's resolved case back to the vendor."""


def can_set_case_status(user: User, case: ServiceCase, new: CaseStatus) -> bool:
    """Vendor staff set any status of any case. Customers never do, except reopen their company's *resolved*
    case (it goes back to the vendor as "waiting on vendor"); a closed case stays closed for them."""
    if user.disabled:
        return False
    if user.is_vendor_staff:
        return True
    return (
        case.group_id == user.group_id and case.status is CaseStatus.RESOLVED and new is CUSTOMER_REOPENS_TO
    )


def can_set_case_priority(user: User) -> bool:
    """Only vendor staff rank cases."""
    return user.is_vendor_staff and not user.disabled


def sees_response_clocks(user: User) -> bool:
    """Response clocks and their targets are the vendor's own measure: staff see them, customers see whose turn."""
    return user.is_vendor_staff and not user.disabled


def can_request_signoff(user: User, case: ServiceCase, *, is_member: bool) -> bool:
    """Vendor staff who are members of the case's chat ask the customer to sign off a *resolved* case."""
    return (
        user.is_vendor_staff
        and not user.disabled
        and is_member
        and case.status is CaseStatus.RESOLVED
    )


def can_sign_off(user: User, case: ServiceCase, *, is_member: bool) -> bool:
    """Only the case's customers (members of its chat) sign, and only while it is *resolved*: a closed case is
    signed again only after a reopen and a new resolve (that sign-off seals a new version)."""
    return (
        not user.is_vendor_staff
        and not user.disabled
        and is_member
        and case.group_id == user.group_id
        and case.status is CaseStatus.RESOLVED
    )
