"""HTML of the file feature: the stream row body of a file message, and area 3's Files and Media sections.

Built from the Jinja2 templates in ``templates/`` (autoescape: every user value is escaped). Rights are the file
service's: a row or section shows only what it returns.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.markup import safe_filename_display
from conferencing_widgets.core.model import Attachment, Call, Conversation, Message
from conferencing_widgets.files.service import FileService, human_size, preview_kind, type_label
from conferencing_widgets.ui.templates import render

FILES_LISTED = 30
"""Files shown in area 3 (newest first); the rest are counted."""
MEDIA_LISTED = 24
"""Images and videos shown in the media gallery."""
NAME_CHARS = 80
"""Longest file name shown before it is shortened (the full name is in the tooltip)."""
TITLE_CHARS = 300
"""Longest file name in a tooltip."""

CallsRenderer = Callable[[Conversation], str]
"""Safe HTML for the calls part of the Media section (may be empty)."""

# markupsafe writes &#34; and &#39; where html.escape writes &quot; and &#x27;; keep the spelling the views always
# had (tests and outside checks compare it). Only escapes contain these: a user's own "&" is escaped to &amp;.


def _render(template: str, **values: object) -> Markup:
    html = render(f"files/templates/{template}", **values)
    return Markup(html.replace("&#34;", "&quot;").replace("&#39;", "&#x27;"))


@dataclass(frozen=True, kw_only=True)
class FileView:
    """What the templates show of one attachment (plain text; the templates escape it)."""

    id: int
    """The attachment id (``data-cw-file``)."""
    label: str
    """The name as shown: shortened, no control or direction marks."""
    title: str
    """The name in tooltips (longer)."""
    kind: str
    """How the viewer shows it (``image``, ``pdf``, ``video``, ``text``, ``download``)."""
    size: str
    """Its size in words."""
    type: str
    """A short label of its type."""
    uploader: str
    """Who shared it (display name)."""
    created_at: datetime
    """When it was shared."""
    thumb: Markup
    """Its thumbnail ``<img>``, or empty."""


@dataclass(frozen=True, kw_only=True)
class CallView:
    """What the read-only calls list shows of one call."""

    who: str
    """Who started it (display name)."""
    started_at: datetime
    """When it started."""
    state: str
    """``ongoing`` or its length (``12 min``)."""


def file_label(name: str) -> str:
    """A file name as shown (shortened; control and direction marks gone). Plain text: templates escape it."""
    return safe_filename_display(name, NAME_CHARS)


def thumbnail_html(files: FileService, att: Attachment, *, css: str = "cw-file-thumb") -> Markup:
    """An ``<img>`` thumbnail (a re-encoded PNG/JPEG data URI) for an image attachment, or empty."""
    if preview_kind(att.media_type) != "image":
        return Markup("")
    try:
        made = files.thumbnail(att)
    except ConferencingError:
        return Markup("")
    if made is None:
        return Markup("")
    media_type, data = made
    uri = f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"
    return _render("thumbnail.html.j2", css=css, uri=uri)


def _view(files: FileService, att: Attachment, *, thumb_css: str, uploader: str = "") -> FileView:
    return FileView(
        id=att.id,
        label=file_label(att.name),
        title=safe_filename_display(att.name, TITLE_CHARS),
        kind=preview_kind(att.media_type),
        size=human_size(att.size),
        type=type_label(att.media_type),
        uploader=uploader,
        created_at=att.created_at,
        thumb=thumbnail_html(files, att, css=thumb_css),
    )


def file_message_html(files: FileService, message: Message) -> str:
    """The stream row body of a file message."""
    try:
        att = files.attachment_of_message(message)
    except ConferencingError:
        # A forged or dangling reference never reveals another conversation's file.
        return _render("unavailable.html.j2")
    return _render("file_message.html.j2", file=_view(files, att, thumb_css="cw-file-thumb"))


def files_section_html(files: FileService, conversation: Conversation) -> str:
    """Area 3's Files section: the newest files first, each opening in the viewer."""
    items = files.attachments(conversation.id, limit=FILES_LISTED)
    if not items:
        return ""
    total = files.count(conversation.id) if len(items) >= FILES_LISTED else len(items)
    people = files.service.people({a.uploader for a in items})
    views = [
        _view(
            files,
            att,
            thumb_css="cw-file-list-thumb",
            uploader=people[att.uploader].display_name if att.uploader in people else att.uploader,
        )
        for att in items
    ]
    return _render("files_section.html.j2", files=views, more=total - len(items))


def _call_state(call: Call) -> str:
    if call.ended_at is None:
        return "ongoing"
    minutes = max(1, round((call.ended_at - call.started_at).total_seconds() / 60))
    return f"{minutes} min"


def default_calls_html(files: FileService, calls: list[Call]) -> Markup:
    """The calls of the Media section, read-only (when the calls feature does not render them)."""
    if not calls:
        return Markup("")
    people = files.service.people({c.started_by for c in calls})
    views = [
        CallView(
            who=people[c.started_by].display_name if c.started_by in people else c.started_by,
            started_at=c.started_at,
            state=_call_state(c),
        )
        for c in calls
    ]
    return _render("calls.html.j2", calls=views)


def media_section_html(files: FileService, conversation: Conversation, calls_html: CallsRenderer | None = None) -> str:
    """Area 3's Media section: a gallery of shared images and videos, then the conversation's calls.

    ``calls_html`` is the calls feature's list when it is installed; without it, calls are listed read-only.
    """
    media = files.media(conversation.id, limit=MEDIA_LISTED)
    views = [_view(files, att, thumb_css="cw-media-thumb") for att in media.items]
    # The calls feature's HTML is safe already (its own templates).
    calls = Markup(calls_html(conversation)) if calls_html is not None else default_calls_html(files, media.calls)
    return _render("media_section.html.j2", files=views, more=media.total - len(media.items), calls=calls)


__all__ = [
    "FILES_LISTED",
    "MEDIA_LISTED",
    "CallView",
    "CallsRenderer",
    "FileView",
    "default_calls_html",
    "file_label",
    "file_message_html",
    "files_section_html",
    "media_section_html",
    "thumbnail_html",
]
