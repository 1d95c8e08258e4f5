"""New conversations and their members: who may add whom, and the room a conversation has (mixed into the
chat ``Service``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from conferencing_widgets.chat.cleaning import clean_title
from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Conversation, ConversationKind, ServiceCase, User

if TYPE_CHECKING:
    from conferencing_widgets.core.config import Settings
    from conferencing_widgets.store import Store


class MembershipMixin:
    """Creating conversations, adding members and joining a case chat; every rights check is here."""

    if TYPE_CHECKING:
        store: Store
        settings: Settings
        user: User

        @property
        def login(self) -> str: ...

        @property
        def vendor_group_id(self) -> str | None: ...

        def require_active(self) -> User: ...

        def case(self, case_id: int) -> ServiceCase: ...

        def require_readable(self, conversation_id: int) -> Conversation: ...

        def require_writable(self, conversation_id: int) -> Conversation: ...

    def people_i_may_add(
        self, kind: ConversationKind | str = ConversationKind.DIRECT, case_id: int | None = None
    ) -> list[User]:
        """Everyone this user may add to a new conversation of ``kind`` (themselves excluded)."""
        self.require_active()
        kind = ConversationKind(kind)
        case = self.case(case_id) if kind is ConversationKind.SERVICE_CASE and case_id is not None else None
        out = []
        for u in self.store.users(group_id=self.user.group_id):
            if u.login == self.login or not policy.may_add(self.user, u):
                continue
            if case is not None and not policy.may_join_case_chat(u, case, self.vendor_group_id):
                continue
            out.append(u)
        return out

    def _check_new_members(self, logins: Iterable[str], case: ServiceCase | None) -> list[User]:
        logins = [str(m) for m in dict.fromkeys(logins) if str(m) != self.login]
        found = {u.login: u for u in self.store.users(logins=logins)}
        missing = [m for m in logins if m not in found]
        if missing:
            raise NotFound(_("Unknown user(s): {value}.").format(value=", ".join(sorted(missing))))
        for login in logins:
            u = found[login]
            if not policy.may_add(self.user, u):
                side = "your own company" if not self.user.is_vendor_staff else "the vendor's group"
                raise PermissionDenied(
                    _("You can only add people of {side}; {display_name} is not one of them.").format(
                        side=side, display_name=u.display_name
                    )
                )
            if case is not None and not policy.may_join_case_chat(u, case, self.vendor_group_id):
                raise PermissionDenied(
                    _("{name} cannot join a chat about {case}.").format(name=u.display_name, case=case.number)
                )
        return [found[m] for m in logins]

    def create_conversation(
        self,
        *,
        kind: ConversationKind | str,
        title: str,
        members: Sequence[str] = (),
        case_id: int | None = None,
    ) -> Conversation:
        """Create a direct or service case conversation with the given members."""
        self.require_active()
        try:
            kind = ConversationKind(kind)
        except ValueError as exc:
            raise InvalidInput(
                # The kinds are values to type, not words to translate.
                _("Unknown conversation kind {kind!r}: use {direct} or {service_case}.").format(
                    kind=kind, direct="'direct'", service_case="'service_case'"
                )
            ) from exc
        title = clean_title(title)
        case: ServiceCase | None = None
        if kind is ConversationKind.SERVICE_CASE:
            if case_id is None:
                raise InvalidInput(_("A service case chat needs a service case. Pick one."))
            case = self.case(case_id)
            if not policy.can_open_case_chat(self.user, case):
                raise PermissionDenied(_("You cannot open a chat about {case}.").format(case=case.number))
        elif case_id is not None:
            raise InvalidInput(_("A direct chat is not about a service case; choose 'Service case chat' instead."))
        chosen = self._check_new_members(members, case)
        logins = [u.login for u in chosen]
        if case is not None:
            # The case's assigned technicians join automatically.
            logins += [t for t in case.technicians if t not in logins and t != self.login]
        self._require_room({self.login, *logins})
        return self.store.create_conversation(
            kind=kind, title=title, created_by=self.login, members=logins, case_id=None if case is None else case.id
        )

    def add_members(self, conversation_id: int, logins: Sequence[str]) -> list[str]:
        """Add people of the user's own side to a conversation the user is a member of."""
        conv = self.require_writable(conversation_id)
        case = self.store.get_case(conv.case_id) if conv.case_id is not None else None
        chosen = self._check_new_members(logins, case)
        self._require_room({*conv.members, *(u.login for u in chosen)})
        return self.store.add_members(conv.id, [u.login for u in chosen])

    def _require_room(self, members: set[str]) -> None:
        """``LimitExceeded`` when a conversation would have more than ``max_members`` members."""
        if len(members) > self.settings.max_members:
            raise LimitExceeded(
                _("A conversation can have at most {max_members} members.").format(
                    max_members=self.settings.max_members
                )
            )

    def can_join(self, conversation_id: int) -> bool:
        """Whether ``join_case_chat`` would add this user (a reader who is not yet a member)."""
        conv = self.require_readable(conversation_id)
        return self.login not in conv.members and policy.can_join_case_chat(self.user, conv)

    def join_case_chat(self, conversation_id: int) -> Conversation:
        """Join a service case chat this engineer or admin reads but is not in, so they can answer."""
        conv = self.require_readable(conversation_id)
        if self.login in conv.members:
            return conv
        if not policy.can_join_case_chat(self.user, conv):
            raise PermissionDenied(_("Only engineers and admins can join a service case chat they are not in."))
        self._require_room({*conv.members, self.login})
        self.store.add_members(conv.id, [self.login])
        return self.store.get_conversation(conv.id)
