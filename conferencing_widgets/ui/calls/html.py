"""HTML of calls in the app: a call's row in the stream, area 3's list of calls, the info line under the button.

Rendered from ``templates/*.html.j2`` with autoescape. Readers who are not members see who called, when and for
how long: never a room name, a token or a link into the call.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from conferencing_widgets.calls.service import CallService
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core import timefmt
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Conversation, Message
from conferencing_widgets.ui.calls.common import ui_base_url
from conferencing_widgets.ui.templates import iso_utc, render

CALLS_LISTED = 20
"""Calls listed in area 3 (newest first)."""


def format_duration(span: timedelta | None) -> str:
    """``45 s``, ``12 min``, ``1 h 05 min``; ``live`` for a call that has not ended."""
    if span is None:
        return _("live")
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return _("{s} s").format(s=seconds)
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("{m} min").format(m=minutes)
    return _("{h} h {m} min").format(h=minutes // 60, m=f"{minutes % 60:02d}")


def _names(service: Service, logins: Iterable[str]) -> list[str]:
    wanted = list(logins)
    people = service.people(wanted)
    return [people[x].display_name if x in people else x for x in wanted]


def call_message_html(calls: CallService, message: Message) -> str:
    """A call message in the stream: who called and its state; Join / Leave / End call for members."""
    try:
        call = calls.call(int(message.ref_id or 0))
    except ConferencingError:
        return render("calls/templates/call_card.html.j2", call=None)
    service = calls.service
    values: dict[str, object] = {
        "call": call,
        "label": calls.provider_label(call),
        "who": ", ".join(_names(service, [call.started_by])),
    }
    if not call.live:
        values["duration"] = format_duration(call.duration)
        values["people"] = ", ".join(_names(service, call.participants)) or _("nobody joined")
        return render("calls/templates/call_card.html.j2", **values)
    here = calls.present(call.id)
    member = calls.is_member(call)
    values.update(
        in_call=", ".join(_names(service, here)) or _("nobody yet"),
        member=member,
        # A link opens the call page from the click itself; without a signed link, a row button asks Python.
        join_href=calls.join_link(call.id, base_url=ui_base_url()) if member else None,
        may_leave=member and calls.may_leave(call, present=here),
        may_end=member and calls.may_end(call),
    )
    return render("calls/templates/call_card.html.j2", **values)


def calls_section_html(calls: CallService, conversation: Conversation) -> str:
    """The conversation's calls for area 3's Media section: date, duration and participants (may be empty)."""
    listed = calls.calls(conversation.id, limit=CALLS_LISTED)
    if not listed:
        return ""
    people = calls.service.people({p for c in listed for p in (*c.participants, c.started_by)})

    def name(login: str) -> str:
        return people[login].display_name if login in people else login

    rows = [
        {
            "id": call.id,
            "iso": iso_utc(call.started_at),
            "when": timefmt.date_time(call.started_at),
            "duration": format_duration(call.duration),
            "participants": ", ".join(name(p) for p in call.participants) or _("nobody joined"),
        }
        for call in listed
    ]
    return render("calls/templates/media_calls.html.j2", calls=rows)


def info_html(calls: CallService) -> str:
    """The "more information" link under the video button (empty when no usable URL is configured)."""
    url = calls.info_url()
    return "" if url is None else render("calls/templates/info_line.html.j2", url=url)


def message_page_html(title: str, text: str) -> str:
    """The call window's plain message: a heading and one sentence."""
    return render("calls/templates/message_page.html.j2", title=title, text=text)


__all__ = [
    "CALLS_LISTED",
    "call_message_html",
    "calls_section_html",
    "format_duration",
    "info_html",
    "message_page_html",
]
