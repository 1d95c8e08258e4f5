"""Area 3, Details: the service request, the members, and sections for media, whiteboards and files.

Each section is one HTML widget (a list rendered into it), so long lists never become many widgets.
Features fill their section through ``set_section_provider``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from conferencing_widgets.cases.service import status_label
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import escape_text
from conferencing_widgets.core.model import Conversation
from conferencing_widgets.ui.templates import render

SectionProvider = Callable[[Conversation], str]
"""Returns safe HTML for a section (escape every user value)."""


def _empty(name: str) -> str:
    # Translated when rendered: the language is chosen per page, after import.
    return {
        "media": _("No images, videos or calls yet."),
        "whiteboards": _("No whiteboards yet. Use + → Whiteboard session."),
        "files": _("No files yet. Use + → Upload new file."),
    }[name]


def _title(name: str) -> str:
    return {"media": _("Media"), "whiteboards": _("Whiteboards"), "files": _("Files")}[name]



class DetailsArea(w.VBox):
    """What the open conversation is about, and everything shared in it."""

    def __init__(self, service: Service, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.conversation: Conversation | None = None
        self.add_class("cw-area")
        self.add_class("cw-details")
        self.case = w.HTML(f'<p class="cw-muted">{_("Open a conversation to see its details.")}</p>')
        self.case.add_class("cw-details-case")
        self.case_status = w.HTML()
        self.case_status.add_class("cw-details-case-status")
        self.case_status_provider: SectionProvider | None = None
        """A feature's safe HTML for the case's status, whose turn and clocks (case chats only)."""
        self.members = w.HTML()
        self.members.add_class("cw-details-members")
        self.sections: dict[str, w.HTML] = {}
        self.section_boxes: dict[str, w.VBox] = {}
        self._providers: dict[str, SectionProvider] = {}
        for name in ("media", "whiteboards", "files"):
            html = w.HTML()
            box = w.VBox([html])
            box.add_class("cw-details-section")
            box.add_class(f"cw-details-{name}")
            self.sections[name] = html
            self.section_boxes[name] = box
        self.error = w.HTML()
        self.error.add_class("cw-error")
        self.children = [
            w.HTML(f'<div class="cw-area-title">{_("Details")}</div>'),
            self.error,
            self.case,
            self.case_status,
            self.members,
            *self.section_boxes.values(),
        ]

    def set_section_provider(self, name: str, provider: SectionProvider) -> None:
        """Let a feature render the ``media``, ``whiteboards`` or ``files`` section."""
        self._providers[name] = provider
        if self.conversation is not None:
            self.refresh_section(name)

    def show(self, conversation_id: int) -> None:
        """Show the details of a conversation."""
        try:
            conv = self.service.conversation(conversation_id)
            members = self.service.members(conv.id)
            case = self.service.case(conv.case_id) if conv.case_id is not None else None
            groups = {g: self.service.group(g).name for g in {m.group_id for m in members}}
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            return
        self.conversation = conv
        self.error.value = ""
        if case is None:
            self.case.value = render("templates/details_case.html.j2", case=None, title=conv.title)
        else:
            techs = sorted(m.display_name for m in self.service.people(case.technicians).values())
            customer = self.service.group(case.group_id).name
            self.case.value = render(
                "templates/details_case.html.j2",
                case=case,
                status=status_label(case.status),
                technicians=techs,
                customer=customer,
            )
        self.members.value = render("templates/details_members.html.j2", members=members, groups=groups)
        self.refresh_case_status()
        for name in self.sections:
            self.refresh_section(name)

    def refresh_case_status(self) -> None:
        """Re-render the case's status part (on a status change, or as its clocks move)."""
        html = ""
        if self.conversation is not None and self.conversation.case_id is not None and self.case_status_provider:
            try:
                html = self.case_status_provider(self.conversation)
            except ConferencingError as exc:
                html = f'<div class="cw-error">{escape_text(str(exc))}</div>'
        if html != self.case_status.value:
            self.case_status.value = html

    def refresh_section(self, name: str) -> None:
        """Re-render one section (on a feed event that concerns it)."""
        if self.conversation is None:
            return
        provider = self._providers.get(name)
        body, error = "", ""
        try:
            body = provider(self.conversation) if provider else ""  # safe HTML from the feature's templates
        except ConferencingError as exc:
            error = str(exc)
        html = render(
            "templates/details_section.html.j2", title=_title(name), body=body, error=error, empty=_empty(name)
        )
        if html != self.sections[name].value:
            self.sections[name].value = html
