"""The lines under the stream: who is typing (``cw-typing``) and who has seen the latest message (``cw-seen``).

Both are small widgets of their own, so the stream (``assets/stream.js``) is not touched; the typing line is an
``aria-live="polite"`` region that stays in the page while its text changes.
"""

from __future__ import annotations

from typing import Any

import anywidget
import ipywidgets as w
import traitlets

from conferencing_widgets.core.i18n import _, ngettext
from conferencing_widgets.ui.strings import ASSETS

MAX_NAMES = 3
"""More people than this typing at once are summed up as "Several people are typing…"."""


class StatusLineWidget(anywidget.AnyWidget):
    """One line of text in an element with a stable CSS class (optionally an aria-live region)."""

    _esm = ASSETS / "status_line.js"
    text = traitlets.Unicode("", help="The line's text (plain text, never markup).").tag(sync=True)
    css_class = traitlets.Unicode("", help="The stable CSS class of the line's element.").tag(sync=True)
    live = traitlets.Unicode("", help="aria-live politeness ('' for none).").tag(sync=True)


def typing_text(names: list[str]) -> str:
    """ "Tom is typing…", "Alice and Tom are typing…", or "Several people are typing…" ("" for nobody)."""
    if not names:
        return ""
    if len(names) > MAX_NAMES:
        return _("Several people are typing…")
    joined = (
        names[0] if len(names) == 1 else _("{first} and {last}").format(first=", ".join(names[:-1]), last=names[-1])
    )
    return ngettext("{names} is typing…", "{names} are typing…", len(names)).format(names=joined)


def seen_text(names: list[str]) -> str:
    """The seen-by line: "Seen by Alice, Tom", or "" for nobody."""
    return _("Seen by {names}").format(names=", ".join(names)) if names else ""


class ConversationStatus(w.VBox):
    """The typing line and the seen-by line of the open conversation."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.typing = StatusLineWidget(css_class="cw-typing", live="polite")
        self.seen = StatusLineWidget(css_class="cw-seen")
        self.add_class("cw-conversation-status")
        self.children = [self.typing, self.seen]

    def show_typing(self, names: list[str]) -> None:
        """Show who else is typing (empty: clear the line)."""
        self.typing.text = typing_text(names)

    def show_seen(self, names: list[str]) -> None:
        """Show who has seen the latest message (empty: clear the line)."""
        self.seen.text = seen_text(names)

    def clear(self) -> None:
        """Nothing to show (no conversation open, or another one opens)."""
        self.typing.text = self.seen.text = ""
