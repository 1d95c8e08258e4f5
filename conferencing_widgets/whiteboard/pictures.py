"""Backgrounds and pictures of a board (the picture half of ``WhiteboardService``).

Backgrounds are files already shared in the board's conversation; pictures (exports, thumbnails) are rendered
on the server from the stored log and cached per service until the board changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.i18n import _
from conferencing_widgets.core.model import Attachment, Whiteboard
from conferencing_widgets.whiteboard import raster
from conferencing_widgets.whiteboard import store as wb_store
from conferencing_widgets.whiteboard.backgrounds import board_background, fitted_background
from conferencing_widgets.whiteboard.geometry import background_rect
from conferencing_widgets.whiteboard.thumbnails import THUMB_SIZE, BoardImages
from conferencing_widgets.whiteboard.validation import BACKGROUND_TYPES, MAX_BACKGROUND_BYTES, as_id, check_background

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from conferencing_widgets.chat.service import Service
    from conferencing_widgets.files.service import FileService


class BoardPictures:
    """Background and picture use cases; the rights checks come from ``WhiteboardService``."""

    service: Service
    images: BoardImages

    @property
    def files(self) -> FileService:
        raise NotImplementedError

    @property
    def login(self) -> str:
        raise NotImplementedError

    def board(self, board_id: object) -> Whiteboard:
        raise NotImplementedError

    def _writable(self, board_id: object) -> Whiteboard:
        raise NotImplementedError

    # -- backgrounds -----------------------------------------------------------------------------------

    def background_choices(self, board_id: object, *, limit: int = 50) -> list[Attachment]:
        """Files of the board's conversation that can be its background (PNG, JPEG, PDF), newest first."""
        board = self.board(board_id)
        found: list[Attachment] = []
        before: int | None = None
        # Newest first, through the file service (its rights check included), until enough images are found.
        while len(found) < limit:
            page = self.files.attachments(board.conversation_id, limit=max(limit, 100), before_id=before)
            found += [a for a in page if a.media_type in BACKGROUND_TYPES]
            if len(page) < max(limit, 100):
                break
            before = page[-1].id
        return [a for a in found[:limit] if a.size <= MAX_BACKGROUND_BYTES]

    def set_background(self, board_id: object, attachment_id: object | None) -> Whiteboard:
        """Draw a file already shared in the board's conversation under the strokes (None removes it)."""
        board = self._writable(board_id)
        if attachment_id is None:
            return wb_store.set_background(self.service.store, board.id, None, by=self.login)
        att = self.files.attachment(as_id(attachment_id, "file"))
        if att.conversation_id != board.conversation_id:
            raise NotFound(_("That file was not shared in this whiteboard's conversation."))
        check_background(att.media_type, att.size, att.name)
        # Decode it now, so a broken file is refused before the board points at it.
        fitted_background(
            self.files.read(att.id)[1], att.media_type, cache_key=att.sha256, cache=self.images.backgrounds
        )
        return wb_store.set_background(self.service.store, board.id, att.id, by=self.login)

    def upload_background(self, board_id: object, name: str, data: bytes) -> Whiteboard:
        """Share a new PNG/JPEG/PDF in the board's conversation and make it the background.

        Checked before anything is written: a file that is not an image, is too large or cannot be decoded
        is refused with nothing shared.
        """
        from conferencing_widgets.files.service import clean_file_name, detect_media_type

        board = self._writable(board_id)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidInput(_("The background file arrived without its content; choose it again."))
        data = bytes(data)
        shown = clean_file_name(name)
        if not data:
            raise InvalidInput(_("{shown} is empty (0 bytes); choose another file.").format(shown=shown))
        media_type = detect_media_type(data[:65536], shown)
        check_background(media_type, len(data), shown)
        fitted_background(data, media_type)
        att = self.files.upload_bytes(board.conversation_id, shown, data)
        return self.set_background(board.id, att.id)

    def background(self, board_id: object) -> PILImage.Image | None:
        """The board's background fitted to the page, or None."""
        board = self.board(board_id)
        return board_background(
            self.service.store, board.background_attachment_id, self.files.blobs, cache=self.images.backgrounds
        )

    def background_png(self, board_id: object) -> tuple[bytes, tuple[int, int, int, int]] | None:
        """The fitted background as PNG bytes and its place (x, y, w, h) on the page, or None."""
        board = self.board(board_id)
        if board.background_attachment_id is None:
            return None

        def make() -> tuple[bytes, tuple[int, int, int, int]] | None:
            img = self.background(board.id)
            return None if img is None else (raster.png_bytes(img), background_rect(*img.size))

        return self.images.background_png(board.background_attachment_id, make)

    # -- images ----------------------------------------------------------------------------------------

    def _picture(self, board: Whiteboard, *, scale: float, size: tuple[int, int] | None) -> bytes:
        # The revision is read before the scene: a change in between is rendered under the older key, never
        # the other way round, so a cached picture is never older than its key says.
        revision = wb_store.revisions(self.service.store, [board.id]).get(board.id, 0)
        # The scale as given (repr: hashable whatever it is; the renderer refuses what is not a positive number).
        return self.images.picture(
            (board.id, revision, None if size is not None else repr(scale), size),
            lambda: raster.render_png(
                self.service.store,
                board.id,
                scale=scale,
                size=size,
                blobs=self.files.blobs,
                backgrounds=self.images.backgrounds,
            ),
        )

    def png(self, board_id: object, *, scale: float = 1.0, size: tuple[int, int] | None = None) -> bytes:
        """A PNG export of a readable board, rendered on the server from its stored log (cached until it changes)."""
        board = self.board(board_id)
        return self._picture(board, scale=scale, size=None if size is None else (size[0], size[1]))

    def thumbnail(self, board: Whiteboard) -> bytes:
        """A small PNG of a readable board, cached until the board changes."""
        return self._picture(self.board(board.id), scale=1.0, size=THUMB_SIZE)
