"""Area 1, History: Direct chats and Service case chats, each a window of tiles in one widget."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w
from ipywidgets import CallbackDispatcher

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _, ngettext
from conferencing_widgets.core.model import ConversationKind, ConversationSummary
from conferencing_widgets.ui.dialog import NewConversationDialog
from conferencing_widgets.ui.rows import tile
from conferencing_widgets.ui.search import SearchWidget
from conferencing_widgets.ui.widgets import HistoryListWidget

PAGE = 50


class HistoryArea(w.VBox):
    """The user's conversations, most recent first, with unread badges and the new-conversation dialog."""

    def __init__(self, service: Service, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.add_class("cw-area")
        self.add_class("cw-history")
        self._open = CallbackDispatcher()
        self._limits = {ConversationKind.DIRECT: PAGE, ConversationKind.SERVICE_CASE: PAGE}
        self.case_rows: Callable[[int], list[ConversationSummary]] | None = None
        """A feature's rows of the case section (its filter and order), given a limit; default: plain history."""
        self.tile_extras: list[Callable[[list[ConversationSummary]], dict[int, dict[str, Any]]]] = []
        """Features' extra tile fields (plain text), by conversation id."""
        self.direct = HistoryListWidget(heading=_("Direct chat"), empty_text=_("No direct chats yet."))
        self.direct.add_class("cw-history-direct")
        self.cases = HistoryListWidget(
            heading=_("Service case chat"), empty_text=_("No service case chats yet.")
        )
        self.cases.add_class("cw-history-case")
        self.new_button = w.Button(
            description=_("New conversation"), tooltip=_("Start a direct or service case chat")
        )
        self.new_button.add_class("cw-new-conversation")
        self.dialog = NewConversationDialog(service)
        self.error = w.HTML()
        self.error.add_class("cw-error")
        title = w.HTML(f'<div class="cw-area-title">{_("History")}</div>')
        self.search = SearchWidget(service)
        self.mentions_filter = w.ToggleButton(
            description=_("Mentions"), tooltip=_("Show only conversations where someone mentioned you")
        )
        self.mentions_filter.add_class("cw-mentions-filter")
        self.mentions_filter.observe(lambda _c: self.refresh(), "value")
        tools = w.HBox([self.new_button, self.mentions_filter])
        tools.add_class("cw-history-tools")
        self.children = [title, self.search, tools, self.dialog, self.error, self.direct, self.cases]
        self.new_button.on_click(lambda _b: self.dialog.show())
        for section, kind in ((self.direct, ConversationKind.DIRECT), (self.cases, ConversationKind.SERVICE_CASE)):
            section.on_open(self.open_conversation)
            section.on_more(lambda k=kind: self._more(k))
        self.refresh()

    def on_open(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback(conversation_id)`` for when a tile is opened."""
        self._open.register_callback(callback, remove=remove)

    def open_conversation(self, conversation_id: int) -> None:
        """Open a conversation as if its tile was clicked."""
        self.direct.selected = self.cases.selected = int(conversation_id)
        self._open(int(conversation_id))

    def _more(self, kind: ConversationKind) -> None:
        self._limits[kind] += PAGE
        self.refresh()

    def refresh(self) -> None:
        """Re-read both sections from the store (called on relevant feed events only)."""
        try:
            mentioned = self.service.mention_history(limit=200) if self.mentions_filter.value else None
            shown = []
            for section, kind in (
                (self.direct, ConversationKind.DIRECT),
                (self.cases, ConversationKind.SERVICE_CASE),
            ):
                limit = self._limits[kind]
                if mentioned is not None:  # the "Mentions" filter: chats that mention me, most recently first
                    rows = [s for s in mentioned if s.conversation.kind is kind]
                elif kind is ConversationKind.SERVICE_CASE and self.case_rows is not None:
                    rows = self.case_rows(limit + 1)
                else:
                    rows = self.service.history(kind=kind, limit=limit + 1)
                tiles = [tile(s) for s in rows[:limit]]
                for extra in self.tile_extras:
                    fields = extra(rows[:limit])
                    for t in tiles:
                        t.update(fields.get(t["id"], {}))
                shown.append((section, tiles, len(rows) > limit))
            badges = self.service.unread_mentions([t["id"] for _s, tiles, _m in shown for t in tiles])
            for section, tiles, has_more in shown:
                for t in tiles:
                    t["mentions"] = n = badges.get(t["id"], 0)
                    if n:
                        t["mentions_title"] = ngettext(
                            "You were mentioned", "You were mentioned {n} times", n
                        ).format(n=n)
                # Assign only on change: every assignment is a websocket message and counts as kernel activity.
                if tiles != section.tiles:
                    section.tiles = tiles
                section.has_more = has_more
            self.error.value = ""
        except ConferencingError as exc:
            self.error.value = _("Could not load your conversations: {error}").format(error=exc)

    def mentions_for(self, conversation_id: int) -> int | None:
        """The mention badge a tile currently shows (None when it is not in the window)."""
        for t in self.direct.tiles + self.cases.tiles:
            if t["id"] == conversation_id:
                return int(t.get("mentions", 0))
        return None

    def unread_for(self, conversation_id: int) -> int | None:
        """The badge a tile currently shows (None when it is not in the window)."""
        for t in self.direct.tiles + self.cases.tiles:
            if t["id"] == conversation_id:
                return int(t["unread"])
        return None
