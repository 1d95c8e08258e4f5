"""The three anywidgets behind long lists and the composer. Each renders a window into ONE widget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets
from ipywidgets import CallbackDispatcher

ASSETS = Path(__file__).parent / "assets"


class MessageStreamWidget(anywidget.AnyWidget):
    """A window of message rows. ``rows`` syncs when a conversation opens; later rows go by custom message."""

    _esm = ASSETS / "stream.js"
    rows: traitlets.List[dict[str, Any]] = traitlets.List(
        help="The window as sent at open/reset time (later appends are not resynced)."
    ).tag(sync=True)
    has_older = traitlets.Bool(False, help="Whether older messages can be loaded.").tag(sync=True)
    empty_text = traitlets.Unicode("No messages yet.", help="Shown when the window is empty.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.window: list[dict[str, Any]] = []
        self._older = CallbackDispatcher()
        self._action = CallbackDispatcher()
        self.on_msg(self._on_custom)

    # -- Python side of the window ---------------------------------------------------------------

    def reset(self, rows: list[dict[str, Any]], *, has_older: bool, focus: int | None = None) -> None:
        """Replace the window (opening a conversation); ``focus``: a message id to scroll to and highlight."""
        self.window = list(rows)
        with self.hold_sync():
            self.has_older = has_older
            self.rows = list(rows)
        if focus is not None:
            # After the state: the view redraws from ``rows``, then scrolls to and highlights the message.
            self.send({"type": "reset", "rows": self.window, "focus": int(focus)})

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Add new rows at the end without resending the window."""
        known = {r["id"] for r in self.window[-len(rows) - 50 :]} if rows else set()
        fresh = [r for r in rows if r["id"] not in known]
        if fresh:
            self.window.extend(fresh)
            self.send({"type": "append", "rows": fresh})

    def prepend(self, rows: list[dict[str, Any]], *, has_older: bool) -> None:
        """Add older rows at the top."""
        self.window = list(rows) + self.window
        self.has_older = has_older
        if rows:
            self.send({"type": "prepend", "rows": rows})

    def update_rows(self, rows: list[dict[str, Any]]) -> None:
        """Re-render rows that changed (a call ended, a message was edited)."""
        by_id = {r["id"]: r for r in rows}
        self.window = [by_id.get(r["id"], r) for r in self.window]
        self.send({"type": "update", "rows": rows})

    # -- events from the browser -----------------------------------------------------------------

    def on_load_older(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback()`` for the "Load older" button."""
        self._older.register_callback(callback, remove=remove)

    def on_action(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback(action: str, ref_id: int)`` for buttons inside rows."""
        self._action.register_callback(callback, remove=remove)

    def load_older(self) -> None:
        """Fire the "Load older" event from code."""
        self._older()

    def _on_custom(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        if kind == "older":
            self._older()
        elif kind == "action":
            ref = content.get("id")
            if isinstance(content.get("action"), str) and isinstance(ref, int):
                self._action(content["action"], ref)
        elif kind == "hello":
            # A view that connected later than the last reset may miss appended rows: resend the window.
            have = (content.get("first"), content.get("last"), content.get("count"))
            want = (
                self.window[0]["id"] if self.window else 0,
                self.window[-1]["id"] if self.window else 0,
                len(self.window),
            )
            if have != want:
                self.send({"type": "reset", "rows": self.window})


class HistoryListWidget(anywidget.AnyWidget):
    """One history section: a window of conversation tiles."""

    _esm = ASSETS / "history.js"
    heading = traitlets.Unicode("", help="Section heading.").tag(sync=True)
    tiles: traitlets.List[dict[str, Any]] = traitlets.List(
        help="Tiles: id, title, case, last_author, preview, when, unread."
    ).tag(sync=True)
    selected = traitlets.Int(0, help="Id of the open conversation (0 for none).").tag(sync=True)
    has_more = traitlets.Bool(False, help="Whether more tiles can be loaded.").tag(sync=True)
    empty_text = traitlets.Unicode("No conversations yet.", help="Shown when there are no tiles.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._open = CallbackDispatcher()
        self._more = CallbackDispatcher()
        self.on_msg(self._on_custom)

    def on_open(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback(conversation_id: int)`` for a tile click."""
        self._open.register_callback(callback, remove=remove)

    def on_more(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback()`` for "Show more"."""
        self._more.register_callback(callback, remove=remove)

    def open_conversation(self, conversation_id: int) -> None:
        """Fire a tile click from code."""
        self._open(int(conversation_id))

    def _on_custom(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("type") == "open" and isinstance(content.get("id"), int):
            self._open(content["id"])
        elif content.get("type") == "more":
            self._more()


class ComposerWidget(anywidget.AnyWidget):
    """The message box with its Send button."""

    _esm = ASSETS / "composer.js"
    value = traitlets.Unicode("", help="Text to send (set from code; the browser sends its text with the send).").tag(
        sync=True
    )
    disabled = traitlets.Bool(False, help="True for read-only viewers.").tag(sync=True)
    placeholder = traitlets.Unicode("Write a message…", help="Placeholder text.").tag(sync=True)
    error = traitlets.Unicode("", help="Last send error, shown under the box.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Not ``_send``: that name is ipywidgets' own comm sender, and shadowing it drops every state update.
        self._send_callbacks = CallbackDispatcher()
        self._mention_source: Any = None
        self.on_msg(self._on_custom)

    def on_send(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback(text: str, client_id: str | None) -> str | None``; return an error to keep the text."""
        self._send_callbacks.register_callback(callback, remove=remove)

    def send_text(self, text: str | None = None, client_id: str | None = None) -> bool:
        """Send ``text`` (default: ``value``) as if the user pressed Enter; True when it was posted."""
        text = self.value if text is None else text
        results = [cb(text, client_id) for cb in self._send_callbacks.callbacks]
        errors = [e for e in results if e]
        if errors:
            self.error = str(errors[0])
            self.value = text
            self.send({"type": "failed"})
            return False
        self.error = ""
        self.value = ""
        self.send({"type": "sent"})
        return True

    def _on_custom(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("type") == "send" and isinstance(content.get("text"), str):
            client_id = content.get("client_id")
            self.send_text(content["text"], client_id if isinstance(client_id, str) else None)
        elif content.get("type") == "mention_query" and isinstance(content.get("prefix"), str):
            self.answer_mention_query(content["prefix"][:64], content.get("seq"))

    # -- @mention autocomplete -------------------------------------------------------------------

    def set_mention_source(self, source: Any) -> None:
        """``source(prefix) -> [{"login", "name"}]``: who ``@prefix`` may complete to (members only)."""
        self._mention_source = source

    def answer_mention_query(self, prefix: str, seq: Any = None) -> list[dict[str, str]]:
        """Send the candidates for ``@prefix`` to the browser (also callable from code); returns them."""
        items = list(self._mention_source(prefix)) if self._mention_source else []
        self.send({"type": "mention_candidates", "prefix": prefix, "seq": seq, "items": items})
        return items
