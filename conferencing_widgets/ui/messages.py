"""Area 2, Messages: the stream of the open conversation, the composer, video and "+" menu."""

from __future__ import annotations

from typing import Any

import ipywidgets as w
from ipywidgets import CallbackDispatcher

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import ConferencingError, StorageError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import escape_text
from conferencing_widgets.core.model import Conversation, Message, MessageKind
from conferencing_widgets.ui.message_actions import MessageActions, stream_labels
from conferencing_widgets.ui.rows import KindRenderer, message_rows
from conferencing_widgets.ui.widgets import ComposerWidget, MessageStreamWidget


class MessagesArea(w.VBox):
    """The open conversation's messages. Call ``show(conversation_id)`` to open one."""

    def __init__(self, service: Service, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.kind_renderers: dict[MessageKind, KindRenderer] = {}
        """Body HTML of the message kinds that features add (file, whiteboard, call)."""
        self.conversation: Conversation | None = None
        self.read_only = True
        self.add_class("cw-area")
        self.add_class("cw-messages")
        self.title = w.HTML(f'<div class="cw-area-title">{_("Messages")}</div>')
        self.video = w.Button(
            description=_("Video call"), tooltip=_("Start a video conference in a new window")
        )
        self.video.add_class("cw-video")
        self.plus = w.Button(
            description="+", tooltip=_("Whiteboard session or file upload"), layout=w.Layout(width="40px")
        )
        self.plus.add_class("cw-plus")
        self.whiteboard_entry: w.DOMWidget = w.Button(description=_("Whiteboard session"))
        self.whiteboard_entry.add_class("cw-whiteboard-new")
        self.upload_entry: w.DOMWidget = w.Button(description=_("Upload new file"))
        self.upload_entry.add_class("cw-upload")
        self.plus_menu = w.HBox([self.whiteboard_entry, self.upload_entry], layout=w.Layout(display="none"))
        self.plus_menu.add_class("cw-plus-menu")
        self.join = w.Button(
            description=_("Join to answer"),
            tooltip=_("Become a member of this service case chat so you can write in it"),
            layout=w.Layout(display="none"),
        )
        self.join.add_class("cw-join")
        self.toolbar = w.HBox([self.title, self.join, self.video, self.plus])
        self.toolbar.add_class("cw-toolbar")
        self.extras = w.VBox()  # features put their panels (upload progress, call links) here
        self.stream = MessageStreamWidget(empty_text=_("Open a conversation from the history."), labels=stream_labels())
        self.stream.add_class("cw-stream")
        self.composer = ComposerWidget(disabled=True, placeholder=_("Open a conversation to write."))
        self.composer.add_class("cw-composer")
        self.error = w.HTML()
        self.error.add_class("cw-error")
        self.children = [self.toolbar, self.plus_menu, self.extras, self.error, self.stream, self.composer]
        self._sent = CallbackDispatcher()
        self._plus_handlers: dict[str, Any] = {}
        self._video_handler: Any = None
        self.stream.on_load_older(self.load_older)
        self.composer.on_send(self._on_send)
        self.actions = MessageActions(self)
        """Reply, edit, delete, react and jump (``ui/message_actions.py``)."""
        self.stream.on_message_action(self.actions.handle)
        self.composer.on_edit_last(self.actions.edit_last)
        self.composer.set_mention_source(self._mention_candidates)
        self.join.on_click(lambda _b: self.join_conversation())
        self.video.on_click(lambda _b: self.start_video())
        self.plus.on_click(lambda _b: self.toggle_plus_menu())
        self.whiteboard_entry.on_click(lambda _b: self.plus_action("whiteboard"))
        self.upload_entry.on_click(lambda _b: self.plus_action("upload"))
        self._set_controls()

    # -- opening and paging ------------------------------------------------------------------------

    def show(self, conversation_id: int, *, focus: int | None = None) -> None:
        """Open a conversation: the latest page of messages, newest last; with ``focus`` (a message id) the
        window around that message instead, scrolled to it and highlighted."""
        try:
            conv = self.service.conversation(conversation_id)
            page = (
                self.service.messages_around(focus, conversation_id=conv.id)
                if focus
                else self.service.messages(conv.id)
            )
            may_post = self.service.can_post(conv.id)
            may_join = not may_post and self.service.can_join(conv.id)
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            return
        self.conversation = conv
        self.read_only = not may_post
        self.composer.cancel_mode()
        self.join.layout.display = "" if may_join else "none"
        self.error.value = ""
        self.title.value = f'<div class="cw-area-title">{escape_text(conv.title)}</div>'
        self.stream.empty_text = _("No messages yet. Say hello!")
        has_older = bool(focus) or len(page) >= self.service.settings.page_size
        self.stream.reset(self._rows(page), has_older=has_older, focus=focus)
        self._set_controls()
        if page:
            self.service.mark_read(conv.id, page[-1].id)

    def _set_controls(self) -> None:
        closed = self.conversation is None
        self.composer.disabled = closed or self.read_only
        if closed:
            self.composer.placeholder = _("Open a conversation to write.")
        elif self.read_only:
            self.composer.placeholder = _("Read only: you are not a member of this conversation.")
        else:
            self.composer.placeholder = _("Write a message… (Markdown works)")
        self.video.disabled = closed or self.read_only
        self.plus.disabled = closed or self.read_only

    def join_conversation(self) -> None:
        """Join the open service case chat (engineers and admins), then reopen it writable."""
        if self.conversation is None:
            return
        try:
            self.service.join_case_chat(self.conversation.id)
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            return
        self.show(self.conversation.id)

    def load_older(self) -> None:
        """Page back: prepend the messages before the oldest one shown."""
        if self.conversation is None or not self.stream.window:
            return
        try:
            page = self.service.messages(self.conversation.id, before_id=self.stream.window[0]["id"])
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            return
        self.stream.prepend(self._rows(page), has_older=len(page) >= self.service.settings.page_size)

    def catch_up(self) -> list[int]:
        """Append messages newer than the last one shown (live updates); returns their ids."""
        if self.conversation is None:
            return []
        last = self.stream.window[-1]["id"] if self.stream.window else 0
        try:
            new = self.service.messages_after(self.conversation.id, last)
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            return []
        if new:
            self.stream.append(self._rows(new))
            self.service.mark_read(self.conversation.id, new[-1].id)
        return [m.id for m in new]

    def refresh_rows(self, message_ids: list[int]) -> None:
        """Re-render rows already shown (edited, deleted, reacted to, or their call/file/board changed), and the
        replies quoting them, with the stream's "update" message (the window is not resent)."""
        changed = set(message_ids)
        wanted = [r["id"] for r in self.stream.window if r["id"] in changed or r.get("reply_to") in changed]
        if self.conversation is None or not wanted:
            return
        try:
            found = self.service.messages_by_id(self.conversation.id, wanted)
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            return
        messages = [found[i] for i in wanted if i in found]
        if messages:
            self.stream.update_rows(self._rows(messages))

    # -- sending -------------------------------------------------------------------------------------

    def on_sent(self, callback: Any, remove: bool = False) -> None:
        """Register ``callback(message)`` for each posted message."""
        self._sent.register_callback(callback, remove=remove)

    def send(self, text: str | None = None) -> bool:
        """Send ``text`` (default: the composer's) as if the user pressed Enter."""
        return self.composer.send_text(text)

    def _on_send(self, text: str, client_id: str | None) -> str | None:
        if self.conversation is None:
            return _("Open a conversation first.")
        editing = self.composer.mode == "edit"
        try:
            message = self.actions.send(text, client_id) or self.service.post(
                self.conversation.id, text, client_id=client_id
            )
        except StorageError as exc:
            # The composer keeps the text; a retry reuses the client id, so it never posts twice.
            unsent = _("Can't reach the server right now. Your message was not sent; it is still here. (ref {ref})")
            return unsent.format(ref=exc.ref)
        except ConferencingError as exc:
            return str(exc)
        if editing:
            return None
        self.catch_up()
        self._sent(message)
        return None

    def _mention_candidates(self, prefix: str) -> list[dict[str, str]]:
        """The composer's ``@`` autocomplete: members of the open conversation (the service filters)."""
        if self.conversation is None or self.read_only:
            return []
        try:
            people = self.service.mention_candidates(self.conversation.id, prefix)
        except ConferencingError:
            return []
        return [{"login": u.login, "name": u.display_name} for u in people]

    def _rows(self, messages: list[Message]) -> list[dict[str, Any]]:
        return message_rows(self.service, messages, self.kind_renderers)

    # -- video and "+" (features register handlers) ----------------------------------------------------

    def set_video_handler(self, handler: Any) -> None:
        """The video feature's ``handler(conversation)``."""
        self._video_handler = handler

    def set_plus_handler(self, action: str, handler: Any) -> None:
        """A feature's ``handler(conversation)`` for a "+" menu entry (``whiteboard`` or ``upload``)."""
        self._plus_handlers[action] = handler

    def start_video(self) -> None:
        """What the video button does."""
        self._run(self._video_handler, _("Video calls are not available on this server yet."))

    def plus_action(self, action: str) -> None:
        """What a "+" menu entry does."""
        label = {
            "whiteboard": _("Whiteboard sessions are not available on this server yet."),
            "upload": _("File uploads are not available on this server yet."),
        }.get(action, action)
        self.toggle_plus_menu(False)
        self._run(self._plus_handlers.get(action), label)

    def toggle_plus_menu(self, show: bool | None = None) -> None:
        """Open or close the "+" menu."""
        visible = self.plus_menu.layout.display != "none"
        self.plus_menu.layout.display = "" if (not visible if show is None else show) else "none"

    def set_plus_entry(self, action: str, widget: w.DOMWidget) -> None:
        """Replace a "+" menu entry with a feature's own widget (keep its CSS class)."""
        if action == "whiteboard":
            self.whiteboard_entry = widget
        else:
            self.upload_entry = widget
        self.plus_menu.children = [self.whiteboard_entry, self.upload_entry]

    def _run(self, handler: Any, label: str) -> None:  # label: the sentence when no feature handles it
        if self.conversation is None:
            self.error.value = _("Open a conversation first.")
            return
        if handler is None:
            self.error.value = escape_text(label)
            return
        try:
            handler(self.conversation)
            self.error.value = ""
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
