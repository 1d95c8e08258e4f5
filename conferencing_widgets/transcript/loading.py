"""What a transcript shows, loaded once: the ``Document`` both templates (Markdown and HTML) render.

Conversations are chosen by id or by case number, with the operator's view (``document_for_ref``) or
with one user's read rights (``document_for_service``: the chat service checks them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import plain_preview
from conferencing_widgets.core.model import Conversation, Message, Reaction, ServiceCase, User
from conferencing_widgets.store import Store, utcnow
from conferencing_widgets.transcript.store import BoardRecord, CallRecord, FileRecord, conversation_records

if TYPE_CHECKING:
    from conferencing_widgets.chat.service import Service

_PAGE = 1000


@dataclass(frozen=True, kw_only=True)
class Chat:
    """One conversation of the transcript with everything shared in it."""

    conversation: Conversation
    group_name: str
    """The customer company of a case chat; the creator's group for a direct chat."""
    messages: list[Message]
    files: list[FileRecord]
    boards: list[BoardRecord]
    calls: list[CallRecord]
    reactions: dict[int, list[Reaction]]
    """Reactions per message id (tombstones have none)."""
    mentions: dict[int, list[str]] = field(default_factory=dict)
    """The logins each message @mentions (messages without any left out)."""

    def replied(self, message: Message) -> Message | None:
        """The message ``message`` replies to, when it is in this chat."""
        if message.reply_to_id is None:
            return None
        return next((m for m in self.messages if m.id == message.reply_to_id), None)

    def quote(self, message: Message) -> str:
        """The first line of a replied-to message as plain text, or that it was deleted (no text of a tombstone)."""
        return "message deleted" if message.deleted else plain_preview(message.body, 80)


@dataclass(frozen=True, kw_only=True)
class Document:
    """A whole transcript: a title, the case it is about (if any) and its chats."""

    title: str
    case: ServiceCase | None
    case_group: str
    """The case's customer company name ('' without a case)."""
    chats: list[Chat]
    people: dict[str, User]
    """Everyone named in the transcript, by login."""
    generated_at: datetime

    def name(self, login: str) -> str:
        """``Display Name (login)``, or the bare login of someone unknown."""
        user = self.people.get(login)
        return f"{user.display_name} ({login})" if user else login

    def names(self, logins: Iterable[str]) -> str:
        """Several people, comma-separated ('' for none)."""
        return ", ".join(self.name(login) for login in logins)

    def mention_names(self, logins: Iterable[str]) -> dict[str, str]:
        """``login -> display name`` of mentioned people, for rendering mentions as ``@Display Name``."""
        return {login: self.people[login].display_name if login in self.people else login for login in logins}

    def is_vendor(self, login: str) -> bool:
        """Whether this author is vendor staff (their messages are marked as the vendor's side)."""
        user = self.people.get(login)
        return user is not None and user.is_vendor_staff


def _all_messages(store: Store, conversation_id: int, *, notes: bool) -> list[Message]:
    out: list[Message] = []
    while True:
        after = out[-1].id if out else 0
        page = store.latest_messages(conversation_id, limit=_PAGE, after_id=after, notes=notes)
        out += page
        if len(page) < _PAGE:
            return out


def _load_chat(store: Store, conv: Conversation, *, notes: bool) -> Chat:
    msgs = _all_messages(store, conv.id, notes=notes)
    records = conversation_records(store, conv.id)
    if conv.case_id is not None:
        group_id = store.get_case(conv.case_id).group_id
    else:
        group_id = store.get_user(conv.created_by).group_id
    return Chat(
        conversation=conv,
        group_name=store.get_group(group_id).name,
        messages=msgs,
        files=records.files,
        boards=records.boards,
        calls=records.calls,
        reactions=store.reactions_of(conv.id, [m.id for m in msgs]),
        mentions=_mentions(store, msgs),
    )


def _mentions(store: Store, msgs: Sequence[Message]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    ids = [m.id for m in msgs if not m.deleted]
    for i in range(0, len(ids), _PAGE):
        out |= store.mentions_of(ids[i : i + _PAGE])
    return out


def load_document(
    store: Store, conversations: Sequence[Conversation], case: ServiceCase | None, *, notes: bool = True
) -> Document:
    """The transcript of these conversations; titled by ``case`` when given. ``notes=False`` leaves internal
    notes out (a transcript for a customer)."""
    chats = [_load_chat(store, c, notes=notes) for c in conversations]
    logins: set[str] = set()
    for chat in chats:
        logins |= set(chat.conversation.members) | {m.author for m in chat.messages}
        logins |= {who for rs in chat.reactions.values() for r in rs for who in r.logins}
        logins |= {login for found in chat.mentions.values() for login in found}
        logins |= {f.uploader for f in chat.files} | {b.created_by for b in chat.boards}
        for call in chat.calls:
            logins |= {call.started_by, *call.participants}
    # Asked for a case: titled by the case. Asked for one chat: titled by the chat, its case named below.
    title = case.name if case is not None else conversations[0].title
    if case is None and len(conversations) == 1 and conversations[0].case_id is not None:
        case = store.get_case(conversations[0].case_id)
    return Document(
        title=title,
        case=case,
        case_group=store.get_group(case.group_id).name if case is not None else "",
        chats=chats,
        people={u.login: u for u in store.users(logins=logins)},
        generated_at=utcnow(),
    )


def document_for_ids(store: Store, conversation_ids: Sequence[int]) -> Document:
    """These conversations (operator view: no access checks)."""
    if not conversation_ids:
        raise InvalidInput(_("Name at least one conversation."))
    return load_document(store, [store.get_conversation(int(cid)) for cid in conversation_ids], None)


def document_for_ref(store: Store, ref: str | int) -> Document:
    """A conversation id, or every chat of a case number (operator view)."""
    text = str(ref).strip()
    if not text:
        raise InvalidInput(_("Name a conversation id or a case number, e.g. 12 or SR-2026-00042."))
    if text.isdigit():
        return load_document(store, [store.get_conversation(int(text))], None)
    case = store.get_case_by_number(text)
    convs = store.conversations_of_case(case.id)
    if not convs:
        raise NotFound(_("Case {number} has no conversations yet.").format(number=case.number))
    return load_document(store, convs, case)


def document_for_service(service: Service, ref: str | int, *, notes: bool = True) -> Document:
    """A readable conversation id, or the chats of a case number that the user may read.

    Internal notes are in it only for vendor staff, and not with ``notes=False`` (a transcript to hand on)."""
    store = service.store
    text = str(ref).strip()
    case: ServiceCase | None = None
    if text.isdigit():
        convs = [service.require_readable(int(text))]
    else:
        try:
            case = service.case(store.get_case_by_number(text).id)
        except NotFound as exc:
            raise NotFound(_("No service case {text!r} that you can see.").format(text=text)) from exc
        convs = []
        for conv in store.conversations_of_case(case.id):
            try:
                convs.append(service.require_readable(conv.id))
            except NotFound:
                continue
        if not convs:
            raise NotFound(_("No conversation about {number} that you can open.").format(number=case.number))
    return load_document(store, convs, case, notes=notes and service.sees_notes)
