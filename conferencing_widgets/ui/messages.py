"""Area 2, Messages: the stream of the open conversation, the composer, video and "+" menu."""

from __future__ import annotations

import logging
from typing import Any

import ipywidgets as w
from ipywidgets import CallbackDispatcher

from conferencing_widgets.chat.drafts import Drafts
from conferencing_widgets.chat.editing import MessageExtras
from conferencing_widgets.chat.service import Service
from conferencing_widgets.chat.signals import Signals, SignalState
from conferencing_widgets.core.errors import ConferencingError, StorageError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import escape_text
from conferencing_widgets.core.model import Conversation, Message, MessageKind
from conferencing_widgets.ui.live import SignalFollower
from conferencing_widgets.ui.message_actions import MessageActions, stream_labels
from conferencing_widgets.ui.outbox import OutboxEntry, outbox_scope
from conferencing_widgets.ui.read_marks import ReadMarks
from conferencing_widgets.ui.rows import KindRenderer, message_rows
from conferencing_widgets.ui.typing import ConversationStatus
from conferencing_widgets.ui.widgets import ComposerWidget, MessageStreamWidget

log = logging.getLogger(__name__)


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
        self.video = w.Button(description=_("Video call"), tooltip=_("Start a video conference in a new window"))
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
        self.note_toggle = w.ToggleButton(
            description=_("Internal note"),
            tooltip=_("Only vendor staff see the next message"),
            layout=w.Layout(display="none", width="auto", align_self="flex-start"),
        )
        """Shown to vendor staff in a case chat: the next message is an internal note (reset after sending)."""
        self.note_toggle.add_class("cw-note-toggle")
        # Linked in the browser: a send the outbox keeps while the kernel is away still knows it is a note.
        self._note_link = w.jslink((self.note_toggle, "value"), (self.composer, "note"))
        self.error = w.HTML()
        self.error.add_class("cw-error")
        self.status = ConversationStatus()
        """The typing line (``cw-typing``) and the seen-by line (``cw-seen``) under the stream."""
        self.children = [
            self.toolbar, self.plus_menu, self.extras, self.error, self.stream, self.status, self.note_toggle,
            self.composer,
        ]  # fmt: skip
        self.drafts = Drafts(service)
        # Posting clears the author's draft however the message is posted (also set by ``Session``).
        service.post_hooks["drafts"] = self.drafts.after_post
        self.signals = Signals(service)
        self.read_marks = ReadMarks(service, self.status, lambda: self.conversation.id if self.conversation else None)
        self._last_seen: list[tuple[str, int]] = []
        """The ``seen`` wake-ups last handed over: a change re-reads the seen-by line."""
        self._signals_live = False
        self.signal_follower = SignalFollower(self.signals.watch(), self.apply_signals, name="messages signals")
        self.composer.on_typing(self._on_typing)
        self.composer.on_draft(self._on_draft)
        self._sent = CallbackDispatcher()
        self._plus_handlers: dict[str, Any] = {}
        self._video_handler: Any = None
        self.stream.on_load_older(self.load_older)
        self.composer.on_send(self._on_send)
        self.composer.set_outbox_handler(self._on_outbox)
        self.composer.outbox_scope = outbox_scope(service.user.login)
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
            may_note = may_post and self.service.can_write_note(conv.id)
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            return
        self.conversation = conv
        self.read_only = not may_post
        self.composer.cancel_mode()
        self._open_extras(conv.id, may_post)
        self.join.layout.display = "" if may_join else "none"
        self.note_toggle.value = False
        self.note_toggle.layout.display = "" if may_note else "none"
        self.error.value = ""
        self.stream.empty_text = _("No messages yet. Say hello!")
        has_older = bool(focus) or len(page) >= self.service.settings.page_size
        self.stream.reset(self._rows(page), has_older=has_older, focus=focus)
        self._set_controls()
        # The title goes last: once it shows, the composer is already enabled for this conversation, so
        # text typed at once is neither refused nor overwritten by a late state update.
        self.title.value = f'<div class="cw-area-title">{escape_text(conv.title)}</div>'
        self.read_marks.opened(conv.id, page)

    # -- typing, drafts (issue 13) ------------------------------------------------------------------------

    def _open_extras(self, conversation_id: int, may_post: bool) -> None:
        """The opened conversation's draft in the box, and its typing/seen lines followed live."""
        draft = ""
        if may_post:
            try:
                draft = self.drafts.get(conversation_id)
            except ConferencingError:
                draft = ""
        self.composer.open_draft(conversation_id, draft)
        self.status.clear()
        self._last_seen = []
        try:
            self.signal_follower.follow(conversation_id)
        except ConferencingError:
            log.warning("cannot follow the signals of conversation %s", conversation_id, exc_info=True)
            return
        if self._signals_live:
            self.signal_follower.start()

    def apply_signals(self, state: SignalState) -> None:
        """The follower's hand-over: who else types in the open conversation."""
        if self.conversation is None or state.conversation_id != self.conversation.id:
            return
        self.status.show_typing(state.typing)
        if state.seen != self._last_seen:
            self._last_seen = state.seen
            self.read_marks.refresh_seen()

    def start_signals(self) -> None:
        """Follow typing live in the kernel's event loop (the app calls it with its feed follower).

        The loop starts once a conversation is followed: a watch without one would sleep its safety interval
        (30 s) before noticing the first conversation's doorbell.
        """
        self._signals_live = True
        if self.conversation is not None:
            self.signal_follower.start()

    def stop_signals(self) -> None:
        """Stop following typing and release the watch."""
        follower = self.__dict__.get("signal_follower")
        if follower is not None:
            follower.stop()

    def _on_typing(self, active: bool) -> None:
        if self.conversation is None or self.read_only:
            return
        if active and self.note_toggle.value:
            return  # writing an internal note: customers are not told that someone is typing
        try:
            if active:
                self.signals.signal_typing(self.conversation.id)
            else:
                self.signals.stop_typing(self.conversation.id)
        except ConferencingError:
            pass  # typing is best effort: the send reports what matters

    def _on_draft(self, conversation_id: int, text: str) -> None:
        try:
            self.drafts.save(conversation_id, text)
        except ConferencingError as exc:
            # Too long, or no longer allowed there: the text stays in the box; the send will say so too.
            log.info("draft not kept: %s", exc)

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
            new, extras = self.service.new_messages_with_extras(self.conversation.id, last)
        except ConferencingError as exc:
            self.error.value = escape_text(str(exc))
            return []
        if new:
            self.stream.append(self._rows(new, extras))
            self.read_marks.shown(self.conversation.id, new)
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
        kind = MessageKind.NOTE if self.note_toggle.value else MessageKind.TEXT
        try:
            message = self.actions.send(text, client_id, kind) or self.service.post(
                self.conversation.id, text, client_id=client_id, kind=kind
            )
        except StorageError as exc:
            # The composer keeps the text; a retry reuses the client id, so it never posts twice.
            unsent = _("Can't reach the server right now. Your message was not sent; it is still here. (ref {ref})")
            return unsent.format(ref=exc.ref)
        except ConferencingError as exc:
            return str(exc)
        if editing:
            return None
        self.note_toggle.value = False  # the toggle makes the next message a note, not every later one
        self._on_typing(False)
        self.catch_up()
        self._sent(message)
        return None

    def _on_outbox(self, entry: OutboxEntry) -> str | None:
        """Post (or save the edit of) what the browser kept while offline; any of the user's conversations, the
        service checks. A resend is harmless: a post is one message per client id, an unchanged edit no version."""
        kind = MessageKind.NOTE if entry.note else MessageKind.TEXT
        try:
            if entry.edit_of is not None:
                message = self.service.edit_message(entry.edit_of, entry.text)
            else:
                message = self.service.post(
                    entry.conversation_id, entry.text, client_id=entry.client_id, kind=kind, reply_to=entry.reply_to
                )
        except StorageError as exc:
            unsent = _("Can't reach the server right now. Your message was not sent; it is still here. (ref {ref})")
            return unsent.format(ref=exc.ref)
        except ConferencingError as exc:
            return str(exc)
        if self.conversation is not None and self.conversation.id == message.conversation_id:
            if entry.edit_of is not None:
                self.refresh_rows([message.id])
            else:
                self.catch_up()
        if entry.edit_of is None:
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

    def _rows(self, messages: list[Message], extras: MessageExtras | None = None) -> list[dict[str, Any]]:
        return message_rows(self.service, messages, self.kind_renderers, extras)

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
