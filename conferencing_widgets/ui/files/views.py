"""File sharing in the app: the "+" -> Upload new file entry, the file viewer, file rows and area 3's lists.

- ``UploadWidget`` replaces the "+" menu's upload entry (CSS class ``cw-upload``). Its JavaScript opens the
  file chooser from the click itself and sends each file in binary chunks, a few in flight, so no websocket
  frame comes near the limit and the kernel stays responsive. Python only passes the chunks to an
  ``UploadSession`` of the file service and acknowledges them.
- ``FileViewerWidget`` is ONE panel for every preview and download: a click on any ``data-cw-file`` element
  of the app asks Python, which checks the rights and sends the bytes over the comm (a Voilà kernel cannot
  add HTTP routes); the browser turns them into a Blob URL.
- File messages in the stream and the Files/Media sections of area 3 are HTML built here from trusted
  templates; every user value goes through ``markup``'s escaping.

Calls in the Media section: the app passes the calls feature's list to ``install``; without it, the calls
table is listed read-only.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import logging
import uuid
from collections.abc import Callable, Iterator
from functools import lru_cache, partial
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.markup import escape_text, safe_filename_display
from conferencing_widgets.core.model import Attachment, Call, Conversation, Event, Message, MessageKind
from conferencing_widgets.files.service import FileService, UploadSession, human_size, preview_kind
from conferencing_widgets.files.store import ATTACHMENT_EVENT, get_attachment

if TYPE_CHECKING:
    from conferencing_widgets.ui.app import ConferencingApp

log = logging.getLogger(__name__)

ASSETS = Path(__file__).parent.parent / "assets"

UPLOAD_CHUNK_BYTES = 512 * 1024
"""Bytes per chunk the browser sends (well under the 10 MiB websocket frame limit). See benchmarks/upload_bench."""
UPLOAD_WINDOW = 2
"""Chunks in flight before the browser waits for an acknowledgement."""
VIEW_CHUNK_BYTES = 2 * 1024 * 1024
"""Bytes per message when sending a file to the browser."""
FILES_LISTED = 30
"""Files shown in area 3 (newest first); the rest are counted."""
MEDIA_LISTED = 24
"""Images and videos shown in the media gallery."""
NAME_CHARS = 80
"""Longest file name shown before it is shortened (the full name is in the tooltip)."""

CallsRenderer = Callable[[Conversation], str]
"""Safe HTML for the calls part of the Media section (may be empty)."""

_CSS = """
.cw-upload-root { display: inline-flex; flex-direction: column; gap: 4px; max-width: 100%; }
.cw-upload-list:empty { display: none; }
.cw-upload-item { display: grid; grid-template-columns: minmax(80px, 220px) 120px auto auto; gap: 6px;
  align-items: center; font-size: var(--jp-ui-font-size1, 13px); }
.cw-upload-name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; unicode-bidi: isolate; }
.cw-upload-error { grid-column: 1 / -1; white-space: normal; }
.cw-viewer-root { border: 1px solid var(--jp-border-color1, #bbb); border-radius: 6px; padding: 6px;
  margin: 4px 0; background: var(--jp-layout-color1, #fff); max-height: 60vh; overflow: auto; }
.cw-viewer-head { display: flex; gap: 8px; align-items: center; }
.cw-viewer-name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; flex: 1;
  unicode-bidi: isolate; }
.cw-viewer-image { max-width: 100%; max-height: 50vh; display: block; margin-top: 6px; }
.cw-viewer-pdf { width: 100%; height: 50vh; border: none; margin-top: 6px; }
.cw-viewer-video { max-width: 100%; max-height: 50vh; margin-top: 6px; }
.cw-viewer-text { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 40vh; overflow: auto;
  background: var(--jp-layout-color2, #f3f3f3); padding: 6px; font-size: var(--jp-code-font-size, 12px); }
"""


# -- HTML pieces (trusted templates, escaped values) ------------------------------------------------------


def file_label(name: str) -> str:
    """A file name as inert HTML text (shortened; control and direction marks gone)."""
    return escape_text(safe_filename_display(name, NAME_CHARS))


def _title_attr(name: str) -> str:
    return escape(safe_filename_display(name, 300), quote=True)


def type_label(media_type: str) -> str:
    """A short human label of a media type."""
    labels = {
        "application/pdf": "PDF",
        "text/plain": "text",
        "text/csv": "CSV",
        "application/octet-stream": "file",
        "application/zip": "ZIP",
    }
    if media_type in labels:
        return labels[media_type]
    major, _, minor = media_type.partition("/")
    if major in ("image", "video", "audio"):
        return f"{minor.upper()} {major}"
    return media_type


@lru_cache(maxsize=512)
def _thumb_uri(sha256: str, media_type: str, thumb: bytes) -> str:
    # Keyed by content hash too, so a repeated render reuses the encoded string.
    return f"data:{media_type};base64,{base64.b64encode(thumb).decode('ascii')}"


def thumbnail_html(files: FileService, att: Attachment, *, css: str = "cw-file-thumb") -> str:
    """An ``<img>`` thumbnail (a re-encoded PNG/JPEG data URI) for an image attachment, or an empty string."""
    if preview_kind(att.media_type) != "image":
        return ""
    try:
        made = files.thumbnail(att)
    except ConferencingError:
        return ""
    if made is None:
        return ""
    media_type, data = made
    return f'<img class="{css}" src="{_thumb_uri(att.sha256, media_type, data)}" alt="" loading="lazy">'


def file_message_html(files: FileService, message: Message) -> str:
    """The stream row body of a file message."""
    try:
        att = _attachment_cached(files.service, message.ref_id)
    except ConferencingError:
        att = None
    if att is None or att.conversation_id != message.conversation_id:
        # A forged or dangling reference never reveals another conversation's file.
        return '<em class="cw-muted">This file is not available.</em>'
    thumb = thumbnail_html(files, att)
    thumb_button = (
        f'<button type="button" class="cw-file-thumb-button" data-cw-file="{att.id}" '
        f'aria-label="Open {_title_attr(att.name)}">{thumb}</button>'
        if thumb
        else ""
    )
    return (
        f'<div class="cw-file-card">{thumb_button}<div class="cw-file-text">'
        f'<button type="button" class="cw-file-open" data-cw-file="{att.id}" title="{_title_attr(att.name)}">'
        f"{file_label(att.name)}</button>"
        f'<div class="cw-muted cw-file-meta">{escape(human_size(att.size))} · {escape(type_label(att.media_type))}'
        "</div></div></div>"
    )


def _attachment_cached(service: Service, attachment_id: int | None) -> Attachment | None:
    # Attachments never change, so one lookup per id and process is enough (rights are checked by the caller:
    # the row belongs to a readable conversation and the attachment must be in that same conversation).
    if attachment_id is None:
        return None
    return _ATTACHMENTS.get(service, int(attachment_id))


class _AttachmentCache:
    def __init__(self, size: int = 2048) -> None:
        self._items: collections.OrderedDict[tuple[int, int], Attachment] = collections.OrderedDict()
        self._size = size

    def get(self, service: Service, attachment_id: int) -> Attachment:
        key = (id(service.store), attachment_id)
        att = self._items.get(key)
        if att is None:
            att = get_attachment(service.store, attachment_id)
            self._items[key] = att
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return att


_ATTACHMENTS = _AttachmentCache()


def files_section_html(files: FileService, conversation: Conversation) -> str:
    """Area 3's Files section: the newest files first, each opening in the viewer."""
    service = files.service
    items = files.attachments(conversation.id, limit=FILES_LISTED)
    if not items:
        return ""
    total = files.count(conversation.id) if len(items) >= FILES_LISTED else len(items)
    people = service.people({a.uploader for a in items})
    rows = []
    for att in items:
        who = people[att.uploader].display_name if att.uploader in people else att.uploader
        when = att.created_at.strftime("%Y-%m-%d %H:%M")
        thumb = thumbnail_html(files, att, css="cw-file-list-thumb")
        rows.append(
            f'<li class="cw-file" data-kind="{preview_kind(att.media_type)}">{thumb}'
            f'<button type="button" class="cw-file-open" data-cw-file="{att.id}" title="{_title_attr(att.name)}">'
            f"{file_label(att.name)}</button>"
            f'<div class="cw-muted cw-file-meta">{escape(human_size(att.size))} · '
            f"{escape(type_label(att.media_type))} · {escape_text(who)} · "
            f'<time datetime="{att.created_at.isoformat()}">{when}</time></div></li>'
        )
    more = (
        f'<div class="cw-muted cw-files-more">{total - len(items)} older files not shown.</div>'
        if total > len(items)
        else ""
    )
    return f'<ul class="cw-file-list">{"".join(rows)}</ul>{more}'


def _default_calls_html(service: Service, calls: list[Call]) -> str:
    if not calls:
        return ""
    people = service.people({c.started_by for c in calls})
    items = []
    for call in calls:
        who = people[call.started_by].display_name if call.started_by in people else call.started_by
        when = call.started_at.strftime("%Y-%m-%d %H:%M")
        if call.ended_at is None:
            state = "ongoing"
        else:
            minutes = max(1, round((call.ended_at - call.started_at).total_seconds() / 60))
            state = f"{minutes} min"
        items.append(
            f'<li class="cw-media-call">Call by {escape_text(who)} · <time datetime="{call.started_at.isoformat()}">'
            f"{when}</time> · {escape(state)}</li>"
        )
    return f'<div class="cw-section-subtitle cw-muted">Calls</div><ul class="cw-media-calls">{"".join(items)}</ul>'


def media_section_html(
    files: FileService, conversation: Conversation, calls_html: CallsRenderer | None = None
) -> str:
    """Area 3's Media section: a gallery of shared images and videos, then the conversation's calls.

    ``calls_html`` is the calls feature's list when it is installed; without it, calls are listed read-only.
    """
    media = files.media(conversation.id, limit=MEDIA_LISTED)
    tiles = []
    for att in media.items:
        thumb = thumbnail_html(files, att, css="cw-media-thumb")
        inner = thumb or f'<span class="cw-media-icon">{escape(type_label(att.media_type))}</span>'
        tiles.append(
            f'<button type="button" class="cw-media-item" data-cw-file="{att.id}" title="{_title_attr(att.name)}" '
            f'aria-label="Open {_title_attr(att.name)}">{inner}</button>'
        )
    gallery = f'<div class="cw-media-gallery">{"".join(tiles)}</div>' if tiles else ""
    if media.total > len(media.items):
        gallery += f'<div class="cw-muted">{media.total - len(media.items)} more in Files.</div>'
    calls = calls_html(conversation) if calls_html is not None else _default_calls_html(files.service, media.calls)
    return gallery + calls


# -- widgets ---------------------------------------------------------------------------------------------


class UploadWidget(anywidget.AnyWidget):
    """The "+" menu's Upload new file entry: file chooser, chunked sending, progress bars."""

    _esm = ASSETS / "upload.js"
    _css = _CSS
    key = traitlets.Unicode(help="Unique id that ties the browser's upload queue to this widget.").tag(sync=True)
    label = traitlets.Unicode("Upload new file", help="Button text.").tag(sync=True)
    disabled = traitlets.Bool(False, help="True while no conversation the user may post in is open.").tag(sync=True)
    max_bytes = traitlets.Int(0, help="Largest file accepted; bigger ones are refused before sending.").tag(sync=True)
    max_label = traitlets.Unicode("", help="The size limit in words, e.g. '100 MB'.").tag(sync=True)
    chunk_bytes = traitlets.Int(UPLOAD_CHUNK_BYTES, help="Bytes per chunk sent by the browser.").tag(sync=True)
    window = traitlets.Int(UPLOAD_WINDOW, help="Chunks in flight before the browser waits.").tag(sync=True)

    def __init__(self, files: FileService, conversation: Callable[[], Conversation | None], **kwargs: Any) -> None:
        limit = files.settings.max_upload_bytes
        # Read at call time, so a benchmark (or a deployment's startup code) can tune the module constants.
        kwargs.setdefault("chunk_bytes", UPLOAD_CHUNK_BYTES)
        kwargs.setdefault("window", UPLOAD_WINDOW)
        super().__init__(key=uuid.uuid4().hex, max_bytes=limit, max_label=human_size(limit), **kwargs)
        self.add_class("cw-upload")
        self.service = files.service
        self.files = files
        self._conversation = conversation
        self._uploads: dict[str, UploadSession] = {}
        self._done: list[Callable[[Attachment], None]] = []
        self.replies: collections.deque[dict[str, Any]] = collections.deque(maxlen=32)
        """The last messages sent to the browser (for tests and debugging)."""
        self.on_msg(self._on_custom)

    def on_uploaded(self, callback: Callable[[Attachment], None]) -> None:
        """Register ``callback(attachment)`` for each finished upload."""
        self._done.append(callback)

    def _reply(self, msg: dict[str, Any]) -> None:
        self.replies.append(msg)
        self.send(msg)

    # -- what the browser sends -----------------------------------------------------------------------

    def receive(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        """Handle one message from the browser (also how tests drive an upload without one)."""
        kind = content.get("type")
        uid = content.get("uid")
        if not isinstance(uid, str) or not uid or len(uid) > 64:
            return
        if kind == "begin":
            self._begin(uid, content)
        elif kind == "chunk":
            self._chunk(uid, content, buffers or [])
        elif kind == "end":
            self._end(uid)
        elif kind == "cancel":
            session = self._uploads.pop(uid, None)
            if session is not None:
                session.cancel()

    def _on_custom(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        self.receive(content, buffers)

    def _begin(self, uid: str, content: dict[str, Any]) -> None:
        conv = self._conversation()
        if conv is None:
            self._reply({"type": "refused", "uid": uid, "message": "Open a conversation first."})
            return
        if uid in self._uploads:
            return
        try:
            session = self.files.begin_upload(
                conv.id, str(content.get("name", "")), content.get("size"), client_id=f"upload-{uid[:32]}"
            )
        except ConferencingError as exc:
            self._reply({"type": "refused", "uid": uid, "message": str(exc)})
            return
        self._uploads[uid] = session
        self._reply({"type": "ready", "uid": uid})

    def _chunk(self, uid: str, content: dict[str, Any], buffers: list[Any]) -> None:
        session = self._uploads.get(uid)
        if session is None:
            self._reply({"type": "failed", "uid": uid, "message": "This upload is no longer running; start again."})
            return
        try:
            if len(buffers) != 1:
                raise ConferencingError("An upload chunk arrived without its data; upload the file again.")
            received = session.write(buffers[0], content.get("offset"))
        except ConferencingError as exc:
            self._uploads.pop(uid, None)
            session.cancel()
            self._reply({"type": "failed", "uid": uid, "message": str(exc)})
            return
        self.send({"type": "ack", "uid": uid, "received": received})

    def _end(self, uid: str) -> None:
        session = self._uploads.pop(uid, None)
        if session is None:
            self._reply({"type": "failed", "uid": uid, "message": "This upload is no longer running; start again."})
            return
        try:
            att = session.finish()
        except ConferencingError as exc:
            self._reply({"type": "failed", "uid": uid, "message": str(exc)})
            return
        self._reply({"type": "done", "uid": uid, "attachment": att.id})
        for callback in self._done:
            try:
                callback(att)
            except Exception:  # noqa: BLE001 - the upload itself succeeded
                log.exception("upload callback failed")

    def close(self) -> None:
        """Cancel running uploads (their temporary files go) and close the widget."""
        for session in getattr(self, "_uploads", {}).values():
            session.cancel()
        self._uploads = {}
        super().close()


class FileViewerWidget(anywidget.AnyWidget):
    """One panel for every preview and download. ``open_file(id)`` does what a click on a file does."""

    _esm = ASSETS / "viewer.js"
    _css = _CSS

    def __init__(self, files: FileService, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("cw-viewer")
        self.service = files.service
        self.files = files
        self._req = 0
        self.shown: dict[str, Any] | None = None
        """The last preview sent (for tests): name, kind, media_type, ..."""
        self.replies: collections.deque[dict[str, Any]] = collections.deque(maxlen=32)
        self.on_msg(self._on_custom)

    def _on_custom(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        ref = content.get("id")
        if kind == "closed":
            self.shown = None
        elif not isinstance(ref, int) or isinstance(ref, bool):
            return  # a malformed id from the page: ignore it
        elif kind == "open":
            self.open_file(ref)
        elif kind == "download":
            self.download_file(ref)

    def _error(self, message: str) -> None:
        self.shown = None
        msg = {"type": "error", "message": message}
        self.replies.append(msg)
        self.send(msg)

    def open_file(self, attachment_id: int) -> None:
        """Show a file: an image, PDF or video inline, text as text, anything else as a download."""
        try:
            preview = self.files.preview(attachment_id)
        except ConferencingError as exc:
            self._error(str(exc))
            return
        att = preview.attachment
        self._req += 1
        streaming = preview.kind in ("image", "pdf", "video")
        note = ""
        if preview.kind == "download":
            note = "This kind of file is not shown here; it is downloaded under its original name."
        self.shown = {
            "type": "show",
            "req": self._req,
            "id": att.id,
            "name": safe_filename_display(att.name, 300),
            "download_name": preview.download_name,
            "media_type": att.media_type,
            "size": att.size,
            "size_text": human_size(att.size),
            "kind": preview.kind,
            "text": preview.text,
            "truncated": preview.truncated,
            "streaming": streaming,
            "note": note,
        }
        self.replies.append(self.shown)
        self.send(self.shown)
        if streaming:
            self._stream(self._req, att)
        elif preview.kind == "download":
            self.download_file(att.id)

    def download_file(self, attachment_id: int) -> None:
        """Send a file's exact bytes for the browser to save under its original name."""
        try:
            preview = self.files.preview(attachment_id)
        except ConferencingError as exc:
            self._error(str(exc))
            return
        self._req += 1
        msg = {
            "type": "save",
            "req": self._req,
            "download_name": preview.download_name,
            "size": preview.attachment.size,
        }
        self.replies.append(msg)
        self.send(msg)
        self._stream(self._req, preview.attachment)

    def _stream(self, req: int, att: Attachment) -> None:
        try:
            _att, chunks = self.files.iter_bytes(att.id, VIEW_CHUNK_BYTES)
        except ConferencingError as exc:
            self._error(str(exc))
            return
        messages = self._messages(req, chunks)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            for content, buffers in messages:  # no event loop (tests, scripts): send at once
                self.send(content, buffers)
            return

        async def pace() -> None:
            # One chunk per loop turn, so other messages (clicks, chat) are served during a big download.
            for content, buffers in messages:
                self.send(content, buffers)
                await asyncio.sleep(0)

        loop.create_task(pace())

    def _messages(self, req: int, chunks: Iterator[bytes]) -> Iterator[tuple[dict[str, Any], list[bytes]]]:
        try:
            pending = next(chunks, None)
            seq = 0
            while pending is not None:
                following = next(chunks, None)
                yield {"type": "bytes", "req": req, "seq": seq, "last": following is None}, [pending]
                pending, seq = following, seq + 1
        except ConferencingError as exc:
            yield {"type": "error", "req": req, "message": str(exc)}, []

    def hide(self) -> None:
        """Close the panel."""
        self.shown = None
        self.send({"type": "hide"})


# -- wiring into the app ----------------------------------------------------------------------------------


class FilesFeature:
    """The file feature of one app: upload entry, viewer, sections and live refresh."""

    def __init__(self, app: ConferencingApp, calls_html: CallsRenderer | None = None) -> None:
        self.app = app
        files = app.session.files
        self.upload = UploadWidget(files, lambda: app.conversation)
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
        if any(e.kind == ATTACHMENT_EVENT for e in mine):
            self.refresh_sections()
        elif any(e.kind == "call" for e in mine):  # not "call_signal": WebRTC chatter changes no list
            app.details.refresh_section("media")


def install(app: ConferencingApp, calls_html: CallsRenderer | None = None) -> FilesFeature:
    """Add file sharing to one app; ``calls_html`` lists calls in its Media section."""
    return FilesFeature(app, calls_html)
