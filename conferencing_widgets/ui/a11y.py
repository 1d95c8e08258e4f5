"""The app's page-level accessibility: landmarks, F6 between areas, the dialog's focus trap, the time zone.

A hidden widget (``assets/a11y.js``) adds the area tabs of narrow screens (768 px and below), labels the three
areas as landmarks, moves focus between them with F6 / Ctrl+F6 (Shift reverses), keeps Tab inside the open
new-conversation dialog and closes it with Esc, and reports the browser's time zone, which then becomes the zone
every time on screen is shown in (``core.timefmt``).
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets

from conferencing_widgets.core import timefmt
from conferencing_widgets.core.i18n import _
from conferencing_widgets.ui.strings import ASSETS


def area_labels() -> dict[str, list[str]]:
    """CSS selector -> [ARIA role, label] for the app's regions, in the active language."""
    return {
        ".cw-topbar": ["banner", _("Signed-in user")],
        ".cw-history": ["navigation", _("Conversation history")],
        ".cw-messages": ["main", _("Messages")],
        ".cw-details": ["complementary", _("Details")],
        ".cw-dialog": ["dialog", _("New conversation")],
    }


class PageAccessibility(anywidget.AnyWidget):
    """Hidden helper that gives the app its landmarks and keyboard moves; ``timezone`` is the browser's."""

    _esm = ASSETS / "a11y.js"
    labels = traitlets.Dict(help="CSS selector -> [role, label] of the regions.").tag(sync=True)
    tabs = traitlets.Dict(help="Names of the area tabs on narrow screens: history, messages, details.").tag(sync=True)
    timezone = traitlets.Unicode("", help="The browser's IANA time zone (Intl.DateTimeFormat).").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        tabs = {"history": _("History"), "messages": _("Messages"), "details": _("Details")}
        super().__init__(labels=area_labels(), tabs=tabs, **kwargs)
        # Registered first, so observers added later (the app's redraw) already see the new zone.
        self.observe(self._on_timezone, names="timezone")

    def _on_timezone(self, change: dict[str, Any]) -> None:
        timefmt.set_timezone(change["new"])

    def conversation_opened(self) -> None:
        """Tell the page a conversation was opened, however (a tile, the dialog, a search result, a mention):
        narrow screens then show its messages instead of staying on the history."""
        self.send({"type": "opened"})
