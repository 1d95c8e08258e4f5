"""The case workflow of one app: the status control in area 2, chips and whose-turn badges on case tiles, the
history's case filter (resolved cases listed last), and status, turn and clocks in area 3.

``install(app)`` wires it in; every change goes to the app's ``CaseService`` (``app.session.cases``), which checks
the rights whatever the page shows.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from conferencing_widgets.cases.service import CaseFilter, CaseView, status_label
from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import escape_text
from conferencing_widgets.core.model import CaseStatus, Conversation, ConversationSummary, Event
from conferencing_widgets.ui.cases.html import chip_html, details_html, tile_fields, turn_label
from conferencing_widgets.ui.cases.signoff import SignoffFeature

if TYPE_CHECKING:
    from conferencing_widgets.ui.app import ConferencingApp

log = logging.getLogger(__name__)

CSS = Path(__file__).resolve().parent.parent / "assets" / "cases.css"


def _filters(staff: bool) -> list[tuple[str, str]]:
    options = [
        (_("All"), CaseFilter.ALL.value),
        (_("Open"), CaseFilter.OPEN.value),
        (_("Waiting on me"), CaseFilter.MINE.value),
        (_("Resolved"), CaseFilter.RESOLVED.value),
    ]
    if staff:
        options.append((_("Overdue"), CaseFilter.OVERDUE.value))
    return options


class CaseFeature:
    """The case workflow of one app."""

    def __init__(self, app: ConferencingApp) -> None:
        self.app = app
        self.cases = app.session.cases
        self.staff = policy.sees_response_clocks(app.service.user)
        self.view: CaseView | None = None
        self._syncing = False
        # Area 1: the case filter above the case section; the feature supplies that section's rows and tile fields.
        self.filter = w.ToggleButtons(options=_filters(self.staff), value=CaseFilter.ALL.value)
        self.filter.add_class("cw-case-filter")
        history = app.history
        kids = list(history.children)
        kids.insert(kids.index(history.cases), self.filter)
        history.children = kids
        history.case_rows = self._rows
        history.tile_extras.append(self._tile_fields)
        # Area 2: a status select for whoever may change it, a read-only chip otherwise; the whose-turn badge.
        # The label names the select for screen readers (axe: select-name); cases.css hides it visually.
        self.select = w.Dropdown(options=[], description=_("Case status"), layout=w.Layout(width="auto"))
        self.select.add_class("cw-case-status")
        self.chip = w.HTML()
        self.chip.add_class("cw-case-status")
        self.turn = w.HTML()
        self.turn.add_class("cw-turn")
        self.control = w.HBox([], layout=w.Layout(display="none"))
        self.control.add_class("cw-case-control")
        toolbar = app.messages.toolbar
        kids = list(toolbar.children)
        kids.insert(kids.index(app.messages.title) + 1, self.control)
        toolbar.children = kids
        self.style = w.HTML(f"<style>{CSS.read_text(encoding='utf-8')}</style>", layout=w.Layout(display="none"))
        app.children = [*app.children, self.style]
        # Area 3.
        app.details.case_status_provider = self._details_html
        # Area 2 again: the staff's sign-off request and the customer's "Confirm the repair" panel.
        self.signoff = SignoffFeature(app, on_done=self._signed)
        self.filter.observe(self._filter_changed, "value")
        self.select.observe(self._picked, "value")
        app.add_open_hook(self._opened)
        app.messages.on_sent(lambda _m: self._after_send())
        app.add_event_hook(self._on_events)
        history.refresh()

    # -- area 1 --------------------------------------------------------------------------------------------

    def _rows(self, limit: int) -> list[ConversationSummary]:
        return self.cases.history(self.filter.value, limit=limit)

    def _tile_fields(self, rows: list[ConversationSummary]) -> dict[int, dict[str, Any]]:
        cases = [r.case for r in rows if r.case is not None]
        if not cases:
            return {}
        now = datetime.now(UTC)
        views = self.cases.views(cases, now=now)
        return {
            r.conversation.id: tile_fields(views[r.case.id], now)
            for r in rows
            if r.case is not None and r.case.id in views
        }

    def set_filter(self, value: CaseFilter | str) -> None:
        """Pick a history filter as if its button was clicked."""
        self.filter.value = CaseFilter(value).value

    def _filter_changed(self, _change: dict[str, Any]) -> None:
        self.app.history.refresh()

    # -- area 2 --------------------------------------------------------------------------------------------

    def _opened(self, _conversation_id: int) -> None:
        self.refresh()

    def _after_send(self) -> None:
        # The sender's own reply may have handed the case back; others learn it from the feed.
        self.refresh()
        self.app.details.refresh_case_status()

    def refresh(self) -> None:
        """Re-read the open case and show its status control and whose-turn badge."""
        conv = self.app.conversation
        if conv is None or conv.case_id is None:
            self.view = None
            self.control.layout.display = "none"
            self.signoff.refresh()
            return
        try:
            self.view = view = self.cases.view(conv.case_id)
            allowed = self.cases.allowed_statuses(conv.case_id)
        except ConferencingError as exc:
            self.app.messages.error.value = escape_text(str(exc))
            return
        current = view.case.status
        if allowed:
            options = [(status_label(current), current.value)]
            for status in allowed:
                label = status_label(status)
                if not self.staff:
                    label = _("reopen: {status}").format(status=label)
                options.append((label, status.value))
            self._syncing = True
            try:
                if list(self.select.options) != options:
                    self.select.options = options
                self.select.value = current.value
            finally:
                self._syncing = False
            status_widget: w.DOMWidget = self.select
        else:
            html = chip_html(view)
            if self.chip.value != html:
                self.chip.value = html
            status_widget = self.chip
        turn = escape_text(turn_label(view, datetime.now(UTC)))
        if self.turn.value != turn:
            self.turn.value = turn
        children = (status_widget, self.turn) if turn else (status_widget,)
        if tuple(self.control.children) != children:
            self.control.children = children
        self.control.layout.display = ""
        self.signoff.refresh()

    def _signed(self, conversation_id: int) -> None:
        # Signing closed the case and stored the bundle: the signer sees the notice, status and files now.
        self.app.messages.catch_up()
        self.refresh()
        self.app.details.show(conversation_id)
        self.app.history.refresh()

    def set_status(self, status: CaseStatus | str) -> bool:
        """Change the open case's status as if picked in the control; True when it changed."""
        conv = self.app.conversation
        if conv is None or conv.case_id is None:
            self.app.messages.error.value = escape_text(_("Open a service case chat first."))
            return False
        try:
            self.cases.set_status(conv.case_id, status)
        except ConferencingError as exc:
            self.app.messages.error.value = escape_text(str(exc))
            self.refresh()  # back to the stored status
            return False
        self.app.messages.error.value = ""
        self.app.messages.catch_up()  # the notice, now, for the one who changed it (others get it by the feed)
        self.refresh()
        self.app.details.show(conv.id)
        self.app.history.refresh()
        return True

    def _picked(self, change: dict[str, Any]) -> None:
        if self._syncing or self.view is None or change["new"] in (None, self.view.case.status.value):
            return
        self.set_status(change["new"])

    # -- area 3 --------------------------------------------------------------------------------------------

    def _details_html(self, conversation: Conversation) -> str:
        if conversation.case_id is None:
            return ""
        return details_html(self.cases.view(conversation.case_id), datetime.now(UTC), staff=self.staff)

    # -- live ----------------------------------------------------------------------------------------------

    def _on_events(self, app: ConferencingApp, events: list[Event]) -> None:
        case_events = [e for e in events if e.kind == EventKind.CASE]
        open_conv = app.conversation
        if open_conv is not None and open_conv.case_id is not None:
            touched = any(
                e.conversation_id == open_conv.id or e.payload.get("case_id") == open_conv.case_id for e in case_events
            )
            # New messages move the clocks and whose turn (a customer's reply hands the case back).
            posted = any(e.kind == EventKind.MESSAGE and e.conversation_id == open_conv.id for e in events)
            if touched:
                app.details.show(open_conv.id)
                self.refresh()
            elif posted:
                app.details.refresh_case_status()
                self.refresh()
        if case_events and not any(e.kind in ("message", "conversation", "members", "read") for e in events):
            app.history.refresh()  # e.g. a priority change: no message, so the app did not refresh the tiles


def install(app: ConferencingApp) -> CaseFeature:
    """Add the case workflow to one app."""
    return CaseFeature(app)


__all__ = ["CaseFeature", "install"]
