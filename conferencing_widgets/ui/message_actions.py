"""Reply, edit, delete, react and jump-to-original in the Messages area (issue 13). Display only: each action
calls one service method (which checks the rights) and re-renders the rows it touched; errors go to the area."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.markup import escape_text
from conferencing_widgets.core.model import Message, MessageKind
from conferencing_widgets.ui.rows import version_rows

if TYPE_CHECKING:
    from conferencing_widgets.ui.messages import MessagesArea


def stream_labels() -> dict[str, str]:
    """The words the stream shows for the actions (translated once per area)."""
    return {
        "reply": _("Reply"),
        "edit": _("Edit"),
        "delete": _("Delete"),
        "react": _("Add reaction"),
        "react_other": _("other emoji"),
        "reacted": _("{emoji} by {who}"),
        "edited": _("edited"),
        "jump": _("Show the original message"),
        "versions": _("Show earlier versions"),
        "no_versions": _("No earlier versions."),
        "older": _("Load older messages"),
        "new_messages": _("New messages ↓"),
        "internal": _("Internal"),
    }


class MessageActions:
    """What the stream's action buttons and the composer's edit/reply keys do."""

    def __init__(self, area: MessagesArea) -> None:
        self.area = area

    @property
    def _service(self) -> Service:
        return self.area.service

    def _row(self, message_id: int) -> dict[str, Any] | None:
        return next((r for r in self.area.stream.window if r["id"] == message_id), None)

    def _fail(self, exc: ConferencingError) -> None:
        self.area.error.value = escape_text(str(exc))

    def handle(self, action: str, message_id: int, emoji: str | None = None) -> None:
        """One action from the stream (the browser only asks; the service decides)."""
        if self.area.conversation is None:
            return
        self.area.error.value = ""
        try:
            if action == "reply":
                self.reply(message_id)
            elif action == "edit":
                self.edit(message_id)
            elif action == "delete":
                self._service.delete_message(message_id)
                self.area.refresh_rows([message_id])
                if self.area.composer.target_id == message_id:
                    self.area.composer.cancel_mode()
            elif action == "react":
                self._service.react(message_id, emoji or "")
                self.area.refresh_rows([message_id])
            elif action == "jump":
                self.jump_to(message_id)
            elif action == "versions":
                self.area.stream.show_versions(message_id, version_rows(self._service.message_versions(message_id)))
        except ConferencingError as exc:
            self._fail(exc)

    def reply(self, message_id: int) -> None:
        """Put the composer into reply mode for a shown message."""
        row = self._row(message_id)
        if row is None or "reply" not in row.get("actions", ()):
            return
        original = self._message(message_id)
        quote = _("Replying to {name}").format(name=row["author"])
        first = next((line for line in original.body.splitlines() if line.strip()), "")
        self.area.composer.start_reply(message_id, f"{quote}: {first[:100]}")
        if original.kind is MessageKind.NOTE:
            self.area.note_toggle.value = True  # a reply to a note is a note too (the service insists)

    def edit(self, message_id: int) -> None:
        """Put the composer into edit mode with the message's current text."""
        original = self._message(message_id)
        row = self._row(message_id)
        if row is None or "edit" not in row.get("actions", ()):
            return
        self.area.composer.start_edit(message_id, original.body, _("Editing your message"))

    def edit_last(self) -> None:
        """Up arrow in an empty composer: edit the newest shown message this user may edit."""
        if self.area.conversation is None or self.area.read_only:
            return
        row = next((r for r in reversed(self.area.stream.window) if "edit" in r.get("actions", ())), None)
        if row is not None:
            try:
                self.edit(row["id"])
            except ConferencingError as exc:
                self._fail(exc)

    def jump_to(self, message_id: int) -> None:
        """Highlight the original of a reply, loading the window around it when it is not shown."""
        if self._row(message_id) is None:
            area = self.area
            page = self._service.messages_around(message_id, before=area.service.settings.page_size // 2, after=1000)
            if not page:
                return
            older = sum(1 for m in page if m.id < message_id)
            area.stream.reset(area._rows(page), has_older=older >= area.service.settings.page_size // 2)
        self.area.stream.highlight(message_id)

    def _message(self, message_id: int) -> Message:
        conv = self.area.conversation
        found = self._service.messages_by_id(conv.id, [message_id]) if conv else {}
        if message_id not in found:
            raise ConferencingError(_("That message is not in this conversation."))
        return found[message_id]

    def send(self, text: str, client_id: str | None, kind: MessageKind = MessageKind.TEXT) -> Message | None:
        """A send in edit mode edits; in reply mode posts a reply. None: a plain send (the area posts it)."""
        composer, conv = self.area.composer, self.area.conversation
        if conv is None or not composer.mode:
            return None
        if composer.mode == "edit":
            edited = self._service.edit_message(composer.target_id, text)
            self.area.refresh_rows([edited.id])
            return edited
        return self._service.post(conv.id, text, client_id=client_id, reply_to=composer.target_id, kind=kind)
