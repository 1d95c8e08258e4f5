"""The case workflow for one signed-in user (``Session.cases``): status, priority, whose turn, response clocks.

Rules (``core/policy.py``, enforced here whatever a page shows): vendor staff set any status and the priority;
a customer never does, except reopen their company's resolved case (back to *waiting on vendor*). A customer's
message in a case *waiting on customer* moves it to *waiting on vendor* with a notice (``after_post``, a chat
post hook the session wires). Response clocks are for vendor staff; customers get whose turn it is.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from conferencing_widgets.cases import store as case_store
from conferencing_widgets.cases.clocks import CaseClocks, Side, case_clocks
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import ConferencingError, InvalidInput, PermissionDenied
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import (
    CasePriority,
    CaseStatus,
    Conversation,
    ConversationKind,
    ConversationSummary,
    Message,
    ServiceCase,
    StatusChange,
)
from conferencing_widgets.store import utcnow

log = logging.getLogger(__name__)

ACTIVE = frozenset(set(CaseStatus) - policy.DONE_STATUSES)
"""Statuses of cases still being worked on (listed above the finished ones)."""
MAX_SCANNED = 500
"""Most case chats the "overdue" filter looks at (clocks are computed in Python)."""


class CaseFilter(str, Enum):
    """The history's case filters."""

    ALL = "all"
    OPEN = "open"
    """Not resolved or closed."""
    MINE = "mine"
    """Waiting on me: on the customer for customers, on the vendor for staff."""
    RESOLVED = "resolved"
    """Resolved or closed."""
    OVERDUE = "overdue"
    """Staff only: an open response clock is past its target."""


def status_label(status: CaseStatus) -> str:
    """A status as people read it."""
    return {
        CaseStatus.OPEN: _("open"),
        CaseStatus.WAITING_ON_CUSTOMER: _("waiting on customer"),
        CaseStatus.WAITING_ON_VENDOR: _("waiting on vendor"),
        CaseStatus.RESOLVED: _("resolved"),
        CaseStatus.CLOSED: _("closed"),
    }[status]


def priority_label(priority: CasePriority) -> str:
    """A priority as people read it."""
    return {
        CasePriority.LOW: _("low"),
        CasePriority.NORMAL: _("normal"),
        CasePriority.HIGH: _("high"),
        CasePriority.URGENT: _("urgent"),
    }[priority]


@dataclass(frozen=True, kw_only=True)
class CaseView:
    """A case as one user may see it now."""

    case: ServiceCase
    clocks: CaseClocks
    """Whose turn always; ``first``/``next`` clocks only for vendor staff (None for customers)."""
    vendor_name: str
    """The vendor's display name ("waiting on MachTool")."""
    customer_name: str
    """The customer company's display name."""
    my_side: Side
    """The viewer's side."""

    @property
    def my_turn(self) -> bool:
        return self.clocks.turn is self.my_side


class CaseService:
    """Case status and clocks for one signed-in user."""

    def __init__(self, chat: Service) -> None:
        self.chat = chat
        self.store = chat.store
        self.settings = chat.settings

    # -- reading ------------------------------------------------------------------------------------------

    def view(self, case_id: int, *, now: datetime | None = None) -> CaseView:
        """One case the user may see, with whose turn and (staff) the clocks at ``now``."""
        case = self.chat.case(case_id)
        return self._views([case], now or utcnow())[case.id]

    def views(self, cases: Iterable[ServiceCase], *, now: datetime | None = None) -> dict[int, CaseView]:
        """Views of cases the caller already read through the chat service (history tiles), in two queries."""
        user = self.chat.require_active()
        seen = [c for c in cases if policy.can_see_case(user, c)]
        return self._views(seen, now or utcnow())

    def _views(self, cases: list[ServiceCase], now: datetime) -> dict[int, CaseView]:
        ids = [c.id for c in cases]
        history = case_store.status_history(self.store, ids)
        posts = case_store.posts(self.store, ids)
        targets = self.settings.targets()
        hours = self.settings.hours()
        staff = policy.sees_response_clocks(self.chat.user)
        vendor = self.chat.group(self.chat.vendor_group_id).name if self.chat.vendor_group_id else _("the vendor")
        names: dict[str, str] = {}
        out = {}
        for case in cases:
            clocks = case_clocks(
                status=case.status,
                posts=posts[case.id],
                changes=history[case.id],
                now=now,
                created_at=case.created_at,
                targets=targets.get(case.priority.value),
                hours=hours,
            )
            if not staff:
                clocks = dataclasses.replace(clocks, first=None, next=None, waits=())
            if case.group_id not in names:
                names[case.group_id] = self.chat.group(case.group_id).name
            out[case.id] = CaseView(
                case=case,
                clocks=clocks,
                vendor_name=vendor,
                customer_name=names[case.group_id],
                my_side=Side.VENDOR if self.chat.user.is_vendor_staff else Side.CUSTOMER,
            )
        return out

    def status_history(self, case_id: int) -> list[StatusChange]:
        """Every status change of a case the user may see, oldest first."""
        case = self.chat.case(case_id)
        return case_store.status_history(self.store, [case.id])[case.id]

    def allowed_statuses(self, case_id: int) -> list[CaseStatus]:
        """The statuses this user may move the case to now (empty: show a read-only chip)."""
        case = self.chat.case(case_id)
        return [s for s in CaseStatus if s is not case.status and policy.can_set_case_status(self.chat.user, case, s)]

    def history(self, case_filter: CaseFilter | str = CaseFilter.ALL, *, limit: int = 50) -> list[ConversationSummary]:
        """The user's case chats: unfinished cases first (most recent activity first), then resolved and closed."""
        user = self.chat.require_active()
        try:
            flt = CaseFilter(case_filter)
        except ValueError as exc:
            choices = [f.value for f in CaseFilter]
            raise InvalidInput(
                _("Unknown case filter {case_filter!r}: use one of {choices}.").format(
                    case_filter=case_filter, choices=choices
                )
            ) from exc
        if flt is CaseFilter.OVERDUE and not policy.sees_response_clocks(user):
            raise PermissionDenied(_("The overdue filter is for vendor staff."))
        limit = max(1, min(int(limit), 500))
        if flt is CaseFilter.RESOLVED:
            return self._inbox(policy.DONE_STATUSES, limit)
        if flt is CaseFilter.MINE:
            mine = {CaseStatus.OPEN, CaseStatus.WAITING_ON_VENDOR}
            if not user.is_vendor_staff:
                mine = {CaseStatus.WAITING_ON_CUSTOMER}
            return self._inbox(mine, limit)
        if flt is CaseFilter.OVERDUE:
            rows = self._inbox(ACTIVE, MAX_SCANNED)
            cases = {r.case.id: r.case for r in rows if r.case is not None}
            late = {cid for cid, v in self.views(cases.values()).items() if v.clocks.overdue}
            return [r for r in rows if r.case is not None and r.case.id in late][:limit]
        rows = self._inbox(ACTIVE, limit)
        if flt is CaseFilter.ALL and len(rows) < limit:
            rows += self._inbox(policy.DONE_STATUSES, limit - len(rows))
        return rows

    def _inbox(self, statuses: Iterable[CaseStatus], limit: int) -> list[ConversationSummary]:
        return self.store.inbox(
            policy.read_scope(self.chat.user),
            kind=ConversationKind.SERVICE_CASE,
            limit=limit,
            case_status=[s.value for s in statuses],
        )

    # -- changing -------------------------------------------------------------------------------------------

    def set_status(self, case_id: int, status: CaseStatus | str, *, at: datetime | None = None) -> ServiceCase:
        """Move a case to ``status`` and post the notice in its chats. ``at`` is for the demo and tests only."""
        user = self.chat.require_active()
        try:
            new = CaseStatus(status)
        except ValueError as exc:
            raise InvalidInput(
                _("Unknown case status {status!r}: use one of {value}.").format(
                    status=status, value=[s.value for s in CaseStatus]
                )
            ) from exc
        case = self.chat.case(case_id)
        if not policy.can_set_case_status(user, case, new):
            if user.is_vendor_staff:
                raise PermissionDenied(_("You cannot change the status of this case."))
            raise PermissionDenied(
                _("Only the vendor's staff set a case's status; you can reopen your company's resolved case.")
            )
        if new is case.status:
            raise InvalidInput(_("The case is already {value}.").format(value=status_label(new)))
        notice = _("{name} set the case to “{status}”.").format(name=user.display_name, status=status_label(new))
        change = case_store.set_status(
            self.store, case.id, expected=case.status, new=new, by=user.login, notice=notice, at=at
        )
        if change is None:
            raise InvalidInput(_("Someone changed this case's status just now. Look again and retry."))
        return self.chat.case(case.id)

    def set_priority(self, case_id: int, priority: CasePriority | str) -> ServiceCase:
        """Rank a case (staff only)."""
        user = self.chat.require_active()
        try:
            value = CasePriority(priority)
        except ValueError as exc:
            raise InvalidInput(
                _("Unknown priority {priority!r}: use one of {value}.").format(
                    priority=priority, value=[p.value for p in CasePriority]
                )
            ) from exc
        case = self.chat.case(case_id)
        if not policy.can_set_case_priority(user):
            raise PermissionDenied(_("Only the vendor's staff set a case's priority."))
        case_store.set_priority(self.store, case.id, value)
        return self.chat.case(case.id)

    def after_post(self, conversation: Conversation, message: Message) -> None:
        """Chat post hook: a customer's reply in a case *waiting on customer* hands it back to the vendor.

        Never fails the post (the message is stored already): a problem is logged and the status stays.
        """
        user = self.chat.user
        if user.is_vendor_staff or conversation.case_id is None:
            return
        try:
            case = self.store.get_case(conversation.case_id)
            if case.status is not CaseStatus.WAITING_ON_CUSTOMER:
                return
            new = CaseStatus.WAITING_ON_VENDOR
            notice = _("{name} replied: the case is now “{status}”.").format(
                name=user.display_name, status=status_label(new)
            )
            # Conditional: if staff moved the case meanwhile, their change stands and nothing is written.
            case_store.set_status(
                self.store,
                case.id,
                expected=CaseStatus.WAITING_ON_CUSTOMER,
                new=new,
                by=user.login,
                notice=notice,
                automatic=True,
                at=message.created_at,
            )
        except ConferencingError:
            log.exception("could not hand case %s back to the vendor (message %s)", conversation.case_id, message.id)
