"""Use cases for one signed-in user. Every permission check lives here (rules in ``policy.py``).

The UI, the CLI, the notebooks and the tests all call these methods. A refused action raises a typed
error and writes nothing. Conversations a user may not read are reported as ``NotFound``, so ids
cannot be probed.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from cachetools import TTLCache
from sqlalchemy import Select

from conferencing_widgets.chat.cleaning import clean_body
from conferencing_widgets.chat.editing import EditingMixin, MessageExtras
from conferencing_widgets.chat.membership import MembershipMixin
from conferencing_widgets.chat.mentions import MentionUseCases
from conferencing_widgets.chat.notes import NotesMixin
from conferencing_widgets.chat.reactions import ReactionsMixin
from conferencing_widgets.chat.search import SearchUseCases
from conferencing_widgets.core import policy
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import (
    Conversation,
    ConversationKind,
    ConversationSummary,
    Event,
    Group,
    Message,
    MessageKind,
    NewMessage,
    ServiceCase,
    User,
)
from conferencing_widgets.store import Store, scope, utcnow

GROUP_CACHE_S = 60.0
"""Every rendered page of rows names the authors' companies: a page reads a group at most this often."""
MAX_CLIENT_ID_CHARS = 64


def new_client_id() -> str:
    """A fresh client id for one send attempt (retries reuse it)."""
    return uuid.uuid4().hex


class Service(MembershipMixin, NotesMixin, EditingMixin, ReactionsMixin, MentionUseCases, SearchUseCases):
    """What one user may do. Cheap to create; share the ``Store`` between services.

    New conversations and members come from ``chat/membership.py``; replies, edits, deletions and versions from
    ``chat/editing.py``, reactions from ``chat/reactions.py``,
    mentions from ``chat/mentions.py`` and search from ``chat/search.py``.
    """

    def __init__(self, store: Store, login: str, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        user = store.get_user(login)
        if user.disabled:
            raise PermissionDenied(_("The account {login!r} is disabled.").format(login=login))
        self.user = user
        self._vendor: Group | None = store.vendor_group()
        self._readable: dict[int, bool] = {}
        self._groups: TTLCache[str, Group] = TTLCache(maxsize=64, ttl=GROUP_CACHE_S)
        self.post_hooks: dict[str, Callable[[Conversation, Message], None]] = {}
        """Called after each new message ``post`` stores, by name (the session wires features in; chat knows none)."""

    # -- who ----------------------------------------------------------------------------------

    @property
    def login(self) -> str:
        """The signed-in user's login."""
        return self.user.login

    @property
    def vendor_group_id(self) -> str | None:
        """The vendor's group id, if the store has one."""
        return self._vendor.id if self._vendor else None

    def group(self, group_id: str) -> Group:
        """A group's name and vendor flag (group names are not secret; read again after ``GROUP_CACHE_S``)."""
        found: Group | None = self._groups.get(group_id)
        if found is None:
            found = self._groups[group_id] = self.store.get_group(group_id)
        return found

    # -- conversations --------------------------------------------------------------------------

    def require_active(self) -> User:
        """The signed-in user, re-read: a session of an account disabled meanwhile loses every right at once.

        ``PermissionDenied`` when the account is disabled. Every use case calls it first (one primary-key read).
        """
        return self._set_active(self.store.get_user(self.login))

    def _set_active(self, user: User) -> User:
        """Take ``user`` (this account, just re-read) as the signed-in user; ``PermissionDenied`` when disabled."""
        self.user = user
        if user.disabled:
            self._readable.clear()
            raise PermissionDenied(
                _("The account {login!r} is disabled. Ask your service contact.").format(login=self.login)
            )
        return user

    def require_readable(self, conversation_id: int) -> Conversation:
        """The conversation if this user may read it; ``NotFound`` otherwise (ids cannot be probed)."""
        return self._checked_readable(conversation_id)[0]

    def _checked_readable(self, conversation_id: int, *, count_posts: bool = False) -> tuple[Conversation, int]:
        """``require_readable``; with ``count_posts``, also this user's posts in the last minute (for the rate
        limit, counted up to it), read in the same statement."""
        try:
            cid = int(conversation_id)
        except (TypeError, ValueError) as exc:
            self.require_active()
            raise NotFound(_("No conversation {id!r}.").format(id=conversation_id)) from exc
        # The user is re-read (``require_active``) with the conversation, in one statement.
        recent = 0
        if count_posts:
            since, limit = utcnow() - timedelta(minutes=1), self.settings.posts_per_minute
            user, found, recent = self.store.poster_and_conversation(self.login, cid, since, limit)
        else:
            user, found = self.store.user_and_conversation(self.login, cid)
        self._set_active(user)
        if found is None:
            raise NotFound(_("No conversation {conversation_id}.").format(conversation_id=cid))
        conv = found
        if not policy.can_read_conversation(self.user, conv, is_member=self.login in conv.members):
            raise NotFound(_("No conversation {id} that you can open.").format(id=conversation_id))
        return conv, recent

    def conversation(self, conversation_id: int) -> Conversation:
        """A conversation the user may read."""
        return self.require_readable(conversation_id)

    def can_post(self, conversation_id: int) -> bool:
        """Whether the user may post in (and so draw, upload and call from) this conversation."""
        conv = self.require_readable(conversation_id)
        return policy.can_post(self.user, is_member=self.login in conv.members)

    def require_writable(self, conversation_id: int) -> Conversation:
        """The conversation if this user may post, draw, upload or call in it."""
        return self._writable(self.require_readable(conversation_id))

    def _writable(self, conv: Conversation) -> Conversation:
        if not policy.can_post(self.user, is_member=self.login in conv.members):
            raise PermissionDenied(_("You can read this conversation but not post in it: you are not a member."))
        return conv

    def history(
        self,
        *,
        kind: ConversationKind | str | None = None,
        limit: int = 50,
        before: tuple[datetime, int] | None = None,
    ) -> list[ConversationSummary]:
        """The user's conversations, most recent first, with last message and unread count."""
        self.require_active()
        return self.store.inbox(
            policy.read_scope(self.user),
            kind=None if kind is None else ConversationKind(kind),
            limit=max(1, min(int(limit), 500)),
            before=before,
        )

    def summary(self, conversation_id: int) -> ConversationSummary:
        """One history row, for live updates of a single tile."""
        conv = self.require_readable(conversation_id)
        cases = self.store.get_case(conv.case_id) if conv.case_id is not None else None
        last = self.store.latest_messages(conv.id, limit=1, notes=False)  # as the inbox: a tile never previews a note
        return ConversationSummary(
            conversation=conv,
            case=cases,
            last_message=last[0] if last else None,
            last_author_name=self.store.get_user(last[0].author).display_name if last else "",
            unread=self.store.unread_count(self.login, conv.id, notes=self.sees_notes),
            last_activity_at=last[0].created_at if last else conv.created_at,
        )

    def members(self, conversation_id: int) -> list[User]:
        """The members of a readable conversation."""
        conv = self.require_readable(conversation_id)
        by_login = {u.login: u for u in self.store.users(logins=conv.members)}
        return [by_login[m] for m in conv.members if m in by_login]

    def readable_conversations_query(self) -> Select[Any]:
        """``SELECT id FROM conversations`` limited to what this user may read (``policy.read_scope``).

        Bulk readers (the export) filter with it.
        """
        return scope.readable_conversations(policy.read_scope(self.user))

    def exportable_conversations_query(self) -> Select[Any] | None:
        """The conversation-id query for exports, or ``None`` when ``policy.can_export_everything``."""
        self.require_active()
        return None if policy.can_export_everything(self.user) else self.readable_conversations_query()

    def visible_cases_query(self) -> Select[Any] | None:
        """``SELECT id FROM service_cases`` this user may see (``policy.can_see_case``); ``None`` means all."""
        return scope.visible_cases(policy.read_scope(self.require_active()))

    def cases_i_may_open(self) -> list[ServiceCase]:
        """Service cases this user may open a case chat for."""
        if self.require_active().is_vendor_staff:
            return self.store.cases()
        return self.store.cases(group_id=self.user.group_id)

    def case(self, case_id: int) -> ServiceCase:
        """A service case the user may see."""
        self.require_active()
        try:
            case = self.store.get_case(int(case_id))
        except (TypeError, ValueError) as exc:
            raise NotFound(_("No service case {id!r}.").format(id=case_id)) from exc
        if not policy.can_see_case(self.user, case):
            raise NotFound(_("No service case {id} that you can see.").format(id=case_id))
        return case

    def case_conversations(self, case_id: int) -> list[Conversation]:
        """The conversations about one case that this user may read."""
        case = self.case(case_id)
        return [
            c
            for c in self.store.conversations_of_case(case.id)
            if policy.can_read_conversation(self.user, c, is_member=self.login in c.members)
        ]

    # -- messages -------------------------------------------------------------------------------

    def messages(
        self, conversation_id: int, *, limit: int | None = None, before_id: int | None = None
    ) -> list[Message]:
        """A page of a readable conversation: the newest ``limit``, or those before ``before_id``."""
        conv = self.require_readable(conversation_id)
        limit = self.settings.page_size if limit is None else max(1, min(int(limit), 1000))
        return self.store.latest_messages(conv.id, limit=limit, before_id=before_id, notes=self.sees_notes)

    def messages_after(self, conversation_id: int, after_id: int, *, limit: int = 500) -> list[Message]:
        """Messages newer than ``after_id`` (live catch-up)."""
        return self._after(self.require_readable(conversation_id), after_id, limit)

    def _after(self, conv: Conversation, after_id: int, limit: int) -> list[Message]:
        return self.store.latest_messages(conv.id, limit=limit, after_id=after_id, notes=self.sees_notes)

    def new_messages_with_extras(
        self, conversation_id: int, after_id: int, *, limit: int = 500
    ) -> tuple[list[Message], MessageExtras]:
        """``messages_after`` and their ``message_extras`` with one rights check (a live page's catch-up)."""
        conv = self.require_readable(conversation_id)
        new = self._after(conv, after_id, limit)
        return new, self._extras(conv, new)

    def _check_rate(self, recent: int) -> None:
        # Counted in the store, not in this object: every page (kernel) and server of the user shares the limit.
        limit = self.settings.posts_per_minute
        if recent >= limit:
            too_fast = _("You are posting too fast (limit {limit} per minute). Wait a moment.")
            raise LimitExceeded(too_fast.format(limit=limit))

    def post(
        self,
        conversation_id: int,
        body: str,
        *,
        client_id: str | None = None,
        kind: MessageKind = MessageKind.TEXT,
        ref_id: int | None = None,
        reply_to: int | None = None,
        at: datetime | None = None,
    ) -> Message:
        """Post a message (``reply_to``: a message of the same conversation); one message per ``client_id``.

        ``kind=MessageKind.NOTE`` posts an internal note (vendor staff in a case chat only, ``post_note``).
        ``at`` backdates the message, for the demo's seeding only: such a message is not live posting, so the
        rate limit does not count it and no post hooks run (the demo plays its statuses itself).
        """
        text = clean_body(body, self.settings.max_message_chars)
        kind = self.check_kind(kind)
        if client_id is not None:
            client_id = str(client_id)
            if not client_id or len(client_id) > MAX_CLIENT_ID_CHARS or not client_id.isprintable():
                raise InvalidInput(_("The client id must be 1 to 64 printable characters."))
        # The checks read outside the write's transaction. Under PostgreSQL's READ COMMITTED a transaction around
        # them would not hold what they read anyway; without one, a post is two round trips (rights with the rate,
        # then the one-statement write) and the id-order lock is held only by the write itself. The mentions commit with
        # the message, or neither does.
        live = at is None
        readable, recent = self._checked_readable(conversation_id, count_posts=live)
        conv = self._writable(readable)
        note = kind is MessageKind.NOTE
        if note:
            self.require_note_writer(conv)
        reply_id = self.check_reply(conv, reply_to, note=note)
        mentions = self.check_mentions(conv, text, note=note) if kind in policy.EDITABLE_KINDS else []
        if live:
            self._check_rate(recent)
        new = NewMessage(
            conversation_id=conv.id, body=text, client_id=client_id, kind=kind, ref_id=ref_id, reply_to_id=reply_id
        )
        with self.store.atomic() if mentions else contextlib.nullcontext():
            message, created = self.store.post_message(new, author=self.login, at=at)
            if created and mentions:
                self.store.add_mentions(message.id, conv.id, mentions)
        if created and live:
            self.after_posted(conv, message)
        return message

    def after_posted(self, conv: Conversation, message: Message) -> None:
        """Run the post hooks for a message this user just posted: a text here, or a file, board or call a
        feature posted through its own store (a customer's upload hands a case back like a reply does)."""
        for hook in list(self.post_hooks.values()):
            hook(conv, message)

    def mark_read(self, conversation_id: int, message_id: int | None = None) -> int:
        """Mark a readable conversation read (up to ``message_id``, default all)."""
        conv = self.require_readable(conversation_id)
        return self.store.mark_read(self.login, conv.id, message_id)

    def unread(self, conversation_id: int) -> int:
        """Unread messages in a conversation for this user (capped; notes count for staff only)."""
        conv = self.require_readable(conversation_id)
        return self.store.unread_count(self.login, conv.id, notes=self.sees_notes)

    def people(self, logins: Iterable[str]) -> dict[str, User]:
        """Display data for authors; only people sharing a readable conversation are asked for."""
        return {u.login: u for u in self.store.users(logins=set(logins))}

    # -- the live feed --------------------------------------------------------------------------

    def may_see_event(self, event: Event) -> bool:
        """Whether an event concerns something this user may read (never leaks other companies).

        Message changes (``MESSAGE_CHANGE_EVENTS``: edits, deletions, reactions) are conversation events like
        ``message``: seen by exactly those who may read that conversation.
        """
        if event.kind == "user" and event.payload.get("login") == self.login:
            # This account changed (e.g. was disabled): re-read it and forget what was readable.
            self._readable.clear()
            self.user = self.store.get_user(self.login)
        if self.user.disabled:
            return False
        if event.payload.get("internal") is True and not policy.can_read_notes(self.user):
            return False  # an internal note's event (its audience is staff-only already; checked again here)
        if event.kind == "read":
            return event.payload.get("login") == self.login
        if event.conversation_id is None:
            return event.kind in ("case", "user", "group") and self.user.is_vendor_staff
        cid = event.conversation_id
        if event.kind in ("conversation", "members"):
            self._readable.pop(cid, None)
        if cid not in self._readable:
            try:
                self.require_readable(cid)
                self._readable[cid] = True
            except (NotFound, PermissionDenied):
                self._readable[cid] = False
        return self._readable[cid]

    def visible(self, events: Iterable[Event]) -> list[Event]:
        """The events this user may see."""
        return [e for e in events if self.may_see_event(e)]
