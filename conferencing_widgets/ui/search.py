"""Message search: the ``cw-search`` box with its filters, and the results in ONE widget (``cw-search-result``).

The widget only renders: each search is one call of ``Service.search`` (rights are in its query), and opening
a result asks the app to open the conversation around that message.
"""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets
from ipywidgets import CallbackDispatcher

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import ConferencingError, StorageError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.ui.strings import common, strings_trait, view_js

PAGE = 20


class SearchWidget(anywidget.AnyWidget):
    """The search box, filter shortcuts and a window of results."""

    _esm = view_js("search.js")
    query = traitlets.Unicode("", help="The last query searched for.").tag(sync=True)
    results: traitlets.List[dict[str, Any]] = traitlets.List(
        help="Results: message_id, conversation_id, conversation, author, time, snippet (safe HTML)."
    ).tag(sync=True)
    has_more = traitlets.Bool(False, help="Whether older results can be loaded.").tag(sync=True)
    searched = traitlets.Bool(False, help="Whether a search ran (to say 'no results').").tag(sync=True)
    error = traitlets.Unicode("", help="Why the last search failed, for the user.").tag(sync=True)
    placeholder = traitlets.Unicode("", help="The box's placeholder.").tag(sync=True)
    hint = traitlets.Unicode("", help="The filters, explained under the box.").tag(sync=True)
    strings: traitlets.Dict[str, str] = strings_trait()
    serial = traitlets.Int(0, help="Bumped by every answer, so a view (or a test) can tell a new one.").tag(sync=True)

    @traitlets.default("strings")
    def _strings(self) -> dict[str, str]:
        return {
            **common(),
            "search_label": _("Search messages"),
            "search": _("Search"),
            "more": _("More results"),
            "none": _("No messages found."),
        }

    def __init__(self, service: Service, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.placeholder = _("Search messages…")
        self.hint = _("Filters: from:login in:chat case:SR-1001 after:2026-01-31 before:… has:file has:whiteboard "
                      "is:mention")  # fmt: skip
        self._open = CallbackDispatcher()
        self.add_class("cw-search")
        self.on_msg(self._on_custom)

    def on_open(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback(conversation_id, message_id)`` for a result being opened."""
        self._open.register_callback(callback, remove=remove)

    def search(self, text: str, *, more: bool = False) -> list[dict[str, Any]]:
        """Run a search (``more``: the next page of the current one) and show it; returns the new results."""
        before = self.results[-1]["message_id"] if more and self.results else None
        try:
            found = self.service.search(text, limit=PAGE + 1, before_id=before)
        except StorageError as exc:
            self.error = _("Can't reach the server right now. Try again in a moment. (ref {ref})").format(ref=exc.ref)
            self.serial += 1
            return []
        except ConferencingError as exc:
            with self.hold_sync():
                self.error, self.results, self.has_more, self.searched, self.query = str(exc), [], False, False, text
                self.serial += 1
            return []
        rows = [_row(r) for r in found[:PAGE]]
        with self.hold_sync():
            self.error = ""
            self.query = text
            self.searched = True
            self.results = (list(self.results) if more else []) + rows
            self.has_more = len(found) > PAGE
            self.serial += 1
        return rows

    def clear(self) -> None:
        """Close the results."""
        with self.hold_sync():
            self.query, self.results, self.has_more, self.searched, self.error = "", [], False, False, ""

    def open_result(self, conversation_id: int, message_id: int) -> None:
        """Open a result as if it was clicked."""
        self._open(int(conversation_id), int(message_id))

    def _on_custom(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        if kind == "search" and isinstance(content.get("text"), str):
            self.search(content["text"][:20_000], more=bool(content.get("more")))
        elif kind == "clear":
            self.clear()
        elif (
            kind == "open"
            and isinstance(content.get("conversation_id"), int)
            and isinstance(content.get("message_id"), int)
        ):
            self.open_result(content["conversation_id"], content["message_id"])


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": r["message_id"],
        "conversation_id": r["conversation_id"],
        "conversation": r["conversation"],
        "author": r["author_name"],
        "time": r["created_at"].isoformat(),
        "snippet": r["snippet"],
    }
