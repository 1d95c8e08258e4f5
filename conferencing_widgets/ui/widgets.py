"""The three anywidgets behind long lists and the composer. Each renders a window into ONE widget."""

from __future__ import annotations

from typing import Any

import anywidget
import traitlets
from ipywidgets import CallbackDispatcher

from conferencing_widgets.core.i18n import _
from conferencing_widgets.ui.outbox import OutboxEntry
from conferencing_widgets.ui.strings import TranslatedView, common, strings_trait, view_js


class MessageStreamWidget(anywidget.AnyWidget):
    """A window of message rows. ``rows`` syncs when a conversation opens; later rows go by custom message."""

    # The outbox rows (issue 16) are a file of their own, loaded in front of the stream as one view.
    _esm = view_js("outbox_rows.js", "stream.js")
    rows: traitlets.List[dict[str, Any]] = traitlets.List(
        help="The window as sent at open/reset time (later appends are not resynced)."
    ).tag(sync=True)
    has_older = traitlets.Bool(False, help="Whether older messages can be loaded.").tag(sync=True)
    empty_text = traitlets.Unicode("No messages yet.", help="Shown when the window is empty.").tag(sync=True)
    labels: traitlets.Dict[str, str] = traitlets.Dict(
        help="Translated words of the message actions (reply, edit, delete, react, edited, jump, ...)."
    ).tag(sync=True)
    strings: traitlets.Dict[str, str] = strings_trait()

    @traitlets.default("strings")
    def _strings(self) -> dict[str, str]:
        return common()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.window: list[dict[str, Any]] = []
        self._older = CallbackDispatcher()
        self._action = CallbackDispatcher()
        self._message_action = CallbackDispatcher()
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

    def highlight(self, message_id: int) -> None:
        """Scroll to a shown row and highlight it (after "jump to the original")."""
        self.send({"type": "highlight", "id": int(message_id)})

    def show_versions(self, message_id: int, versions: list[dict[str, Any]]) -> None:
        """Show (or hide, when shown) the earlier versions under a row: ``[{time, html}]`` with sanitised HTML."""
        self.send({"type": "versions", "id": int(message_id), "versions": versions})

    def on_message_action(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback(action: str, message_id: int, emoji: str | None)`` for reply, edit, delete, react
        and jump (a reply quote clicked). The browser only asks; the service decides."""
        self._message_action.register_callback(callback, remove=remove)

    def message_action(self, action: str, message_id: int, emoji: str | None = None) -> None:
        """Fire a message action from code, as the browser does."""
        self._message_action(action, int(message_id), emoji)

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
        elif kind == "message_action":
            ref, emoji = content.get("id"), content.get("emoji")
            if isinstance(content.get("action"), str) and isinstance(ref, int) and not isinstance(ref, bool):
                self._message_action(content["action"], ref, emoji if isinstance(emoji, str) else None)
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

    _esm = view_js("history.js")
    heading = traitlets.Unicode("", help="Section heading.").tag(sync=True)
    tiles: traitlets.List[dict[str, Any]] = traitlets.List(
        help="Tiles: id, title, case, last_author, preview, when, unread."
    ).tag(sync=True)
    selected = traitlets.Int(0, help="Id of the open conversation (0 for none).").tag(sync=True)
    has_more = traitlets.Bool(False, help="Whether more tiles can be loaded.").tag(sync=True)
    empty_text = traitlets.Unicode("No conversations yet.", help="Shown when there are no tiles.").tag(sync=True)
    strings: traitlets.Dict[str, str] = strings_trait()

    @traitlets.default("strings")
    def _strings(self) -> dict[str, str]:
        return {**common(), "more": _("Show more"), "no_messages": _("No messages yet")}

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


class ComposerWidget(TranslatedView, anywidget.AnyWidget):
    """The message box with its Send button."""

    # The outbox (issue 16) is a file of its own, loaded in front of the composer as one view.
    _esm = view_js("outbox.js", "composer.js")
    value = traitlets.Unicode("", help="Text to send (set from code; the browser sends its text with the send).").tag(
        sync=True
    )
    disabled = traitlets.Bool(False, help="True for read-only viewers.").tag(sync=True)
    placeholder = traitlets.Unicode(help="Placeholder text.").tag(sync=True)

    @traitlets.default("placeholder")
    def _default_placeholder(self) -> str:
        return _("Write a message…")

    error = traitlets.Unicode("", help="Last send error, shown under the box.").tag(sync=True)
    mode = traitlets.Enum(
        ("", "edit", "reply"), "", help="'' writes a new message; 'edit' replaces target_id's text; 'reply' quotes it."
    ).tag(sync=True)
    mode_text = traitlets.Unicode("", help="The bar above the box in edit/reply mode ('Replying to Alice: ...').").tag(
        sync=True
    )
    mode_cancel = traitlets.Unicode(help="The cancel button's label in edit/reply mode.").tag(sync=True)

    @traitlets.default("mode_cancel")
    def _default_mode_cancel(self) -> str:
        return _("Cancel")

    target_id = traitlets.Int(0, help="The message edited or replied to (0 for none).").tag(sync=True)
    note = traitlets.Bool(
        False,
        help="The next message is an internal note (linked to the area's toggle in the browser, so a send"
        " kept in the outbox while offline stays a note).",
    ).tag(sync=True)
    paste_labels: traitlets.Dict[str, str] = traitlets.Dict(
        help="Words of a file pasted or dropped into the box: uploading ({name}, {pct}), done ({name}), unavailable."
    ).tag(sync=True)
    draft_key = traitlets.Int(0, help="The conversation the box's text belongs to (drafts are saved under it).").tag(
        sync=True
    )
    outbox_scope = traitlets.Unicode(
        "", help="Whose outbox the browser keeps (a hash of the login, never the token); '' keeps none."
    ).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "paste_labels",
            {
                "uploading": _("Uploading {name}: {pct}%"),
                "done": _("{name} shared"),
                "unavailable": _("File uploads are not available here."),
            },
        )
        super().__init__(**kwargs)
        # Not ``_send``: that name is ipywidgets' own comm sender, and shadowing it drops every state update.
        self._send_callbacks = CallbackDispatcher()
        self._edit_last = CallbackDispatcher()
        self._draft = ""
        self._mention_source: Any = None
        self._typing = CallbackDispatcher()
        self._draft_saved = CallbackDispatcher()
        self._outbox: Any = None
        self.on_msg(self._on_custom)

    # -- the outbox (issue 16): messages the browser kept while the page could not reach the kernel ------------

    def set_outbox_handler(self, handler: Any) -> None:
        """``handler(entry: OutboxEntry) -> str | None``: post (or, for an edit, save) one outbox entry; return an
        error to show on its row (the browser keeps it for Retry or Discard)."""
        self._outbox = handler

    def send_outbox(self, entry: OutboxEntry) -> str | None:
        """Post an outbox entry as the browser does when the page is back; tells the browser; the error or None."""
        error = self._outbox(entry) if self._outbox else _("Sending is not available here.")
        self.send({"type": "outbox_result", "client_id": entry.client_id, "ok": not error, "error": error or ""})
        return error

    def _on_outbox_message(self, content: dict[str, Any]) -> bool:
        if content.get("type") != "outbox":
            return False
        entry = OutboxEntry.parse(content)
        if entry is not None:
            self.send_outbox(entry)
        return True

    # -- typing and drafts (issue 13): the browser reports typing (throttled) and the text, debounced ----------

    def on_typing(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback(active: bool)``: the user types (True, at most every 2 s) or emptied the box."""
        self._typing.register_callback(callback, remove=remove)

    def on_draft(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback(conversation_id: int, text: str)``: the unsent text of that conversation changed."""
        self._draft_saved.register_callback(callback, remove=remove)

    def open_draft(self, conversation_id: int, text: str) -> None:
        """Show a conversation's saved draft in the box (the browser flushes the old one under its own key)."""
        with self.hold_sync():
            self.error = ""
            self.value = text
            self.draft_key = int(conversation_id)

    def _on_draft_message(self, content: dict[str, Any]) -> bool:
        kind = content.get("type")
        if kind == "typing":
            self._typing(bool(content.get("active")))
        elif kind == "draft" and isinstance(content.get("text"), str) and isinstance(content.get("key"), int):
            self._draft_saved(content["key"], content["text"])
        else:
            return False
        return True

    # -- edit and reply mode (issue 13): kept apart from sending and from other composer additions ------------

    def start_edit(self, message_id: int, body: str, text: str) -> None:
        """Put the box into edit mode for ``message_id`` with its current ``body``; Esc or Cancel leaves it."""
        if self.mode != "edit":
            self._draft = self.value
        with self.hold_sync():
            self.mode, self.target_id, self.mode_text, self.error = "edit", int(message_id), text, ""
            self.value = body
        self.send({"type": "mode"})

    def start_reply(self, message_id: int, text: str) -> None:
        """Show "Replying to ..." above the box; the next send replies to ``message_id``."""
        with self.hold_sync():
            if self.mode == "edit":
                self.value = self._draft
            self.mode, self.target_id, self.mode_text, self.error = "reply", int(message_id), text, ""
        self.send({"type": "mode"})

    def cancel_mode(self) -> None:
        """Leave edit or reply mode (an edit's text is dropped and the earlier draft comes back)."""
        with self.hold_sync():
            if self.mode == "edit":
                self.value = self._draft
            self.mode, self.target_id, self.mode_text = "", 0, ""

    def on_edit_last(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback()`` for Up arrow in an empty box (edit my last message)."""
        self._edit_last.register_callback(callback, remove=remove)

    def edit_last(self) -> None:
        """Fire Up-arrow-in-an-empty-box from code."""
        self._edit_last()

    def _adopt_sent_mode(self, content: dict[str, Any]) -> None:
        """A send from the page says the mode the user saw at Enter (the page enters reply mode before Python
        hears of it, and Python may have left it meanwhile); that is what the send means."""
        mode, target = content.get("mode"), content.get("target_id", 0)
        if mode not in ("", "edit", "reply") or not isinstance(target, int) or isinstance(target, bool):
            return  # a send that says nothing (code, an older page) keeps Python's mode
        if mode and target <= 0:
            return
        if (self.mode, self.target_id if self.mode else 0) != (mode, target if mode else 0):
            with self.hold_sync():
                self.mode, self.target_id = mode, (target if mode else 0)

    def _on_mode_message(self, content: dict[str, Any]) -> bool:
        kind = content.get("type")
        if kind == "cancel":
            self.cancel_mode()
        elif kind == "edit_last":
            self._edit_last()
        else:
            return False
        return True

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
            self.send({"type": "failed", "client_id": client_id})
            return False
        with self.hold_sync():
            self.error = ""
            self.value = ""
            if self.mode == "edit":
                self.value, self._draft = self._draft, ""
            self.mode, self.target_id, self.mode_text = "", 0, ""
        self.send({"type": "sent", "client_id": client_id})
        return True

    def _on_custom(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if self._on_mode_message(content) or self._on_draft_message(content) or self._on_outbox_message(content):
            return
        if content.get("type") == "send" and isinstance(content.get("text"), str):
            self._adopt_sent_mode(content)
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
