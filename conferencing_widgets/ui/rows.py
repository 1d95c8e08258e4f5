"""Turning stored records into the plain dicts the list widgets render. No business logic: display only.

Message kinds other than text (file, whiteboard, call) get their body HTML from a renderer that the
feature puts into its app's ``MessagesArea.kind_renderers``. Renderers build HTML from trusted templates and
escape every user-supplied value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from conferencing_widgets.chat.editing import MessageExtras
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import escape_text, plain_preview, render_markdown
from conferencing_widgets.core.model import (
    ConversationKind,
    ConversationSummary,
    Message,
    MessageKind,
    MessageVersion,
    Reaction,
    User,
)

KindRenderer = Callable[[Message], str]
"""Safe HTML for the body of one message kind (e.g. a call with a Join button)."""
Renderers = Mapping[MessageKind, KindRenderer]


def body_html(message: Message, renderers: Renderers, mentions: Mapping[str, str] | None = None) -> str:
    """Safe HTML for a message body; ``mentions`` (login -> display name) become ``cw-mention`` spans."""
    if message.deleted:
        return f'<em class="cw-muted">{escape_text(_("message deleted"))}</em>'
    renderer = renderers.get(message.kind)
    if renderer is not None:
        return renderer(message)
    if message.kind is MessageKind.SYSTEM:
        return f'<em class="cw-muted">{escape_text(message.body)}</em>'
    return render_markdown(message.body, mentions)


@dataclass(frozen=True, kw_only=True)
class PageContext:
    """What the rows of one page need besides their messages, read once per page by the service."""

    people: dict[str, User]
    group_names: dict[str, str]
    originals: dict[int, Message]
    """The messages replied to, by id."""
    reactions: dict[int, list[Reaction]]
    actions: dict[int, tuple[str, ...]]
    """Per message, what this viewer may do (computed by the service)."""
    mentions: dict[int, list[str]]
    """Per message, the logins it @mentions."""


def _name(people: dict[str, User], login: str) -> str:
    user = people.get(login)
    return user.display_name if user else login


def reply_quote(original: Message | None, people: dict[str, User]) -> dict[str, Any]:
    """The quote above a reply: author and first line as plain text, or "message deleted" (no tombstone text)."""
    if original is None:
        return {"id": 0, "author": "", "text": _("message deleted"), "deleted": True}
    author = _name(people, original.author)
    if original.deleted:
        return {"id": original.id, "author": author, "text": _("message deleted"), "deleted": True}
    first = next((line for line in original.body.splitlines() if line.strip()), "")
    return {"id": original.id, "author": author, "text": plain_preview(first, 100), "deleted": False}


def reaction_chips(reactions: list[Reaction], people: dict[str, User], me: str) -> list[dict[str, Any]]:
    """One chip per emoji: its count, who reacted (names, for hover and focus) and whether the viewer did."""
    return [
        {
            "emoji": r.emoji,
            "count": len(r.logins),
            "who": ", ".join(_name(people, login) for login in r.logins),
            "mine": me in r.logins,
        }
        for r in reactions
    ]


def message_row(service: Service, message: Message, ctx: PageContext, renderers: Renderers) -> dict:
    """One stream row. The author's group is named when it is the other side's."""
    author = ctx.people.get(message.author)
    name = author.display_name if author else message.author
    group = ""
    if author is not None and author.group_id != service.user.group_id:
        group = ctx.group_names.get(author.group_id, author.group_id)
    reply = None
    if message.reply_to_id is not None:
        reply = reply_quote(ctx.originals.get(message.reply_to_id), ctx.people)
    return {
        "id": message.id,
        "author": name,
        "group": group,
        "time": message.created_at.isoformat(),
        "html": body_html(message, renderers, _names(ctx.mentions.get(message.id, []), ctx.people)),
        "kind": message.kind.value,
        "mine": message.author == service.login,
        "reply_to": message.reply_to_id or 0,
        "reply": reply,
        "edited": message.edited_at is not None and not message.deleted,
        "deleted": message.deleted,
        "reactions": reaction_chips(ctx.reactions.get(message.id, []), ctx.people, service.login),
        "actions": list(ctx.actions.get(message.id, ())),
        "mentions_me": service.login in ctx.mentions.get(message.id, []),
    }


def version_rows(versions: list[MessageVersion]) -> list[dict[str, Any]]:
    """Earlier versions of an edited message, newest first: when each was written and its sanitised HTML."""
    return [{"time": v.written_at.isoformat(), "html": render_markdown(v.body)} for v in reversed(versions)]


def message_rows(
    service: Service, messages: list[Message], renderers: Renderers, extras: MessageExtras | None = None
) -> list[dict[str, Any]]:
    """Rows for a page of messages (all of one conversation), looking up authors, quotes and reactions once
    (``extras``: already read with the messages, ``Service.new_messages_with_extras``)."""
    if not messages:
        return []
    if extras is None:
        extras = service.message_extras(messages[0].conversation_id, messages)
    mentions = service.mentions_of(messages)
    logins = {m.author for m in messages} | {m.author for m in extras.originals.values()}
    logins |= {who for rs in extras.reactions.values() for r in rs for who in r.logins}
    logins |= {who for found in mentions.values() for who in found}
    people = service.people(logins)
    ctx = PageContext(
        people=people,
        group_names={g: service.group(g).name for g in {u.group_id for u in people.values()}},
        originals=extras.originals,
        reactions=extras.reactions,
        actions=extras.actions,
        mentions=mentions,
    )
    return [message_row(service, m, ctx, renderers) for m in messages]


def _names(logins: list[str], people: Mapping[str, User]) -> dict[str, str]:
    return {login: people[login].display_name if login in people else login for login in logins}


def tile(summary: ConversationSummary) -> dict[str, Any]:
    """One history tile (plain text fields; the widget sets them with textContent)."""
    conv = summary.conversation
    last = summary.last_message
    preview = ""
    if last is not None:
        preview = "(deleted)" if last.deleted else plain_preview(last.body)
    return {
        "id": conv.id,
        "title": conv.title,
        "case": summary.case.name if summary.case else "",
        "last_author": summary.last_author_name if last else "",
        "preview": preview,
        "when": summary.last_activity_at.isoformat(),
        "unread": summary.unread,
        "mentions": 0,
        "kind": conv.kind.value,
    }


def is_case_chat(summary: ConversationSummary) -> bool:
    """Which history section a tile belongs to."""
    return summary.conversation.kind is ConversationKind.SERVICE_CASE
