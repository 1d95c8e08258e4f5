"""The new-conversation dialog: kind, service case, members the user may add, title, Create Conversation."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
from ipywidgets import CallbackDispatcher

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import escape_text
from conferencing_widgets.core.model import Conversation, ConversationKind
from conferencing_widgets.ui.forms import form_text


class NewConversationDialog(w.VBox):
    """Hidden until ``show()``; ``create()`` makes the conversation through the service."""

    def __init__(self, service: Service, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.add_class("cw-dialog")
        self.layout.display = "none"
        self._created = CallbackDispatcher()
        self.kind = w.ToggleButtons(
            options=[
                (_("Direct chat"), ConversationKind.DIRECT.value),
                (_("Service case chat"), ConversationKind.SERVICE_CASE.value),
            ],
            value=ConversationKind.DIRECT.value,
            style={"button_width": "auto"},
            layout=w.Layout(flex_flow="row wrap"),
        )
        self.case = w.Dropdown(description=_("Case"), options=[], layout=w.Layout(width="100%"))
        self.title = form_text(
            description=_("Title"), placeholder=_("What is it about?"), layout=w.Layout(width="100%")
        )
        self.members = w.SelectMultiple(description=_("People"), options=[], rows=6, layout=w.Layout(width="100%"))
        self.hint = w.HTML()
        self.error = w.HTML()
        self.error.add_class("cw-error")
        self.create_button = w.Button(
            description=_("Create Conversation"), button_style="primary", layout=w.Layout(width="auto")
        )
        self.create_button.add_class("cw-create-conversation")
        self.cancel_button = w.Button(description=_("Cancel"), layout=w.Layout(width="auto"))
        self.cancel_button.add_class("cw-dialog-cancel")
        self.children = [
            w.HTML(f'<div class="cw-area-title">{_("New conversation")}</div>'),
            self.kind,
            self.case,
            self.title,
            self.members,
            self.hint,
            self.error,
            w.HBox([self.create_button, self.cancel_button], layout=w.Layout(flex_flow="row wrap")),
        ]
        self.kind.observe(lambda _c: self._reload_options(), names="value")
        self.case.observe(lambda _c: self._reload_options(), names="value")
        self.create_button.on_click(lambda _b: self.create())
        self.cancel_button.on_click(lambda _b: self.hide())

    def on_created(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback(conversation)`` for a successful create."""
        self._created.register_callback(callback, remove=remove)

    def show(self) -> None:
        """Open the dialog with fresh options."""
        self.error.value = ""
        self.title.value = ""
        self.members.value = ()
        try:
            cases = self.service.cases_i_may_open()
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            cases = []
        self.case.options = [(c.name, c.id) for c in cases]
        self._reload_options()
        self.layout.display = ""

    def hide(self) -> None:
        """Close the dialog."""
        self.layout.display = "none"

    def _reload_options(self) -> None:
        is_case = self.kind.value == ConversationKind.SERVICE_CASE.value
        self.case.layout.display = "" if is_case else "none"
        case_id = self.case.value if is_case else None
        try:
            people = self.service.people_i_may_add(self.kind.value, case_id)
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            people = []
        keep = set(self.members.value)
        self.members.options = [(u.display_name, u.login) for u in people]
        self.members.value = tuple(m for m in self.members.value if m in keep and m in {u.login for u in people})
        if self.service.user.is_vendor_staff:
            hint = _("You can add people of the vendor's team.")
        else:
            hint = _("You can add people of your company.")
        if is_case:
            hint += " " + _("The case's assigned technicians join automatically.")
        self.hint.value = f'<span class="cw-muted">{escape_text(hint)}</span>'

    def create(self) -> Conversation | None:
        """Create the conversation from the dialog's fields; shows the error and returns None if refused."""
        is_case = self.kind.value == ConversationKind.SERVICE_CASE.value
        try:
            conv = self.service.create_conversation(
                kind=self.kind.value,
                title=self.title.value,
                members=list(self.members.value),
                case_id=self.case.value if is_case else None,
            )
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            return None
        self.hide()
        self._created(conv)
        return conv
