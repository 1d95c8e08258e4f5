"""Turning stored records into the plain dicts the list widgets render. No business logic: display only.

Message kinds other than text (file, whiteboard, call) get their body HTML from a renderer that the
feature puts into its app's ``MessagesArea.kind_renderers``. Renderers build HTML from trusted templates and
escape every user-supplied value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.markup import escape_text, plain_preview, render_markdown
from conferencing_widgets.core.model import ConversationKind, ConversationSummary, Message, MessageKind, User

KindRenderer = Callable[[Message], str]
"""Safe HTML for the body of one message kind (e.g. a call with a Join button)."""
Renderers = Mapping[MessageKind, KindRenderer]


def body_html(message: Message, renderers: Renderers, mentions: Mapping[str, str] | None = None) -> str:
    """Safe HTML for a message body; ``mentions`` (login -> display name) become ``cw-mention`` spans."""
    if message.deleted:
        return '<em class="cw-muted">This message was deleted.</em>'
    renderer = renderers.get(message.kind)
    if renderer is not None:
        return renderer(message)
    if message.kind is MessageKind.SYSTEM:
        return f'<em class="cw-muted">{escape_text(message.body)}</em>'
    return render_markdown(message.body, mentions)


def message_row(
    service: Service,
    message: Message,
    people: dict[str, User],
    group_names: dict[str, str],
    renderers: Renderers,
    mentions: list[str] | None = None,
) -> dict:
    """One stream row. The author's group is named when it is the other side's."""
    author = people.get(message.author)
    name = author.display_name if author else message.author
    group = ""
    if author is not None and author.group_id != service.user.group_id:
        group = group_names.get(author.group_id, author.group_id)
    return {
        "id": message.id,
        "author": name,
        "group": group,
        "time": message.created_at.isoformat(),
        "html": body_html(message, renderers, _names(mentions or [], people)),
        "kind": message.kind.value,
        "mine": message.author == service.login,
        "mentions_me": service.login in (mentions or []),
    }


def _names(logins: list[str], people: Mapping[str, User]) -> dict[str, str]:
    return {login: people[login].display_name if login in people else login for login in logins}


def message_rows(service: Service, messages: list[Message], renderers: Renderers) -> list[dict[str, Any]]:
    """Rows for a page of messages, looking up authors and mentioned people once."""
    mentions = service.mentions_of(messages)
    people = service.people({m.author for m in messages} | {x for found in mentions.values() for x in found})
    groups = {g: service.group(g).name for g in {u.group_id for u in people.values()}}
    return [message_row(service, m, people, groups, renderers, mentions.get(m.id)) for m in messages]


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
