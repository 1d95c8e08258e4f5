"""File sharing in the app: the "+" -> Upload new file entry, the file viewer, file rows and area 3's lists.

``install(app, calls_html)`` puts the pieces into one app and refreshes them on the feed's attachment and call
events. Calls in the Media section: the app passes the calls feature's list; without it, the calls table is
listed read-only.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.model import Attachment, Event, MessageKind
from conferencing_widgets.ui.files.html import CallsRenderer, file_message_html, files_section_html, media_section_html
from conferencing_widgets.ui.files.upload import UploadWidget
from conferencing_widgets.ui.files.viewer import FileViewerWidget

if TYPE_CHECKING:
    from conferencing_widgets.ui.app import ConferencingApp


class FilesFeature:
    """The file feature of one app: upload entry, viewer, sections and live refresh."""

    def __init__(self, app: ConferencingApp, calls_html: CallsRenderer | None = None) -> None:
        self.app = app
        files = app.session.files
        self.upload = UploadWidget(files, lambda: app.conversation)
        # Where a file chosen offline belongs: the browser keeps it with the conversation open at that moment.
        self.upload.conversation_id = app.conversation.id if app.conversation else 0
        app.add_open_hook(lambda conversation_id: setattr(self.upload, "conversation_id", conversation_id))
        self.viewer = FileViewerWidget(files)
        self.upload.on_uploaded(self._uploaded)
        # The entry is usable exactly when the "+" menu is (a conversation the user may post in is open).
        self.upload.disabled = app.messages.plus.disabled
        app.messages.plus.observe(lambda change: setattr(self.upload, "disabled", change.new), "disabled")
        app.messages.set_plus_entry("upload", self.upload)
        app.messages.extras.children = (*app.messages.extras.children, self.viewer)
        app.details.set_section_provider("files", partial(files_section_html, files))
        app.details.set_section_provider("media", partial(media_section_html, files, calls_html=calls_html))
        app.messages.kind_renderers[MessageKind.FILE] = partial(file_message_html, files)
        app.add_event_hook(self._on_events)

    def _uploaded(self, _att: Attachment) -> None:
        # The feed brings the same news; showing it now makes the uploader's own page feel instant.
        self.app.messages.catch_up()
        self.refresh_sections()

    def refresh_sections(self) -> None:
        """Re-render area 3's Files and Media sections."""
        self.app.details.refresh_section("files")
        self.app.details.refresh_section("media")

    def _on_events(self, app: ConferencingApp, events: list[Event]) -> None:
        conv = app.conversation
        if conv is None:
            return
        mine = [e for e in events if e.conversation_id == conv.id]
        if any(e.kind == EventKind.ATTACHMENT for e in mine):
            self.refresh_sections()
        elif any(e.kind == EventKind.CALL for e in mine):  # not "call_signal": WebRTC chatter changes no list
            app.details.refresh_section("media")


def install(app: ConferencingApp, calls_html: CallsRenderer | None = None) -> FilesFeature:
    """Add file sharing to one app; ``calls_html`` lists calls in its Media section."""
    return FilesFeature(app, calls_html)


__all__ = ["FilesFeature", "install"]
