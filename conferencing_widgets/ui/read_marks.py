"""The open page's read marks: what it shows is marked read, the others hear "seen", and the seen-by line follows.

A conversation opened is marked read at once; messages that live updates show are marked read a moment later, once
per burst (``Coalescer``), so a burst costs one read mark and the kernel is free for the next message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from conferencing_widgets.chat.receipts import Receipts
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.core.model import Message, MessageKind
from conferencing_widgets.ui.coalesce import Coalescer
from conferencing_widgets.ui.typing import ConversationStatus

log = logging.getLogger(__name__)


class ReadMarks:
    """Read marks, "seen" signals and the seen-by line of one messages area."""

    def __init__(self, service: Service, status: ConversationStatus, open_id: Callable[[], int | None]) -> None:
        self.service = service
        self.status = status
        self.receipts = Receipts(service)
        self._open_id = open_id
        """The conversation the area shows now (None for none)."""
        self.later: Coalescer[tuple[int, Message]] = Coalescer(self._mark_shown)
        """(conversation, message) pairs that live updates showed and that are marked read a moment later."""

    def opened(self, conversation_id: int, page: list[Message]) -> None:
        """A conversation was opened on this page: read up to its newest message, now."""
        if page:
            self.service.mark_read(conversation_id, page[-1].id)
            self._announce(conversation_id, page)
        self.refresh_seen()

    def shown(self, conversation_id: int, messages: list[Message]) -> None:
        """Live updates showed these messages: mark them read once the burst is over."""
        self.later.add([(conversation_id, m) for m in messages])

    def refresh_seen(self) -> None:
        """Re-read who has seen the latest message (the service applies the rights and the opt-out)."""
        conversation_id = self._open_id()
        if conversation_id is None:
            self.status.show_seen([])
            return
        try:
            self.status.show_seen(self.receipts.seen_by(conversation_id).names)
        except ConferencingError:
            self.status.show_seen([])

    def _announce(self, conversation_id: int, messages: list[Message]) -> None:
        # Read marks wake only the reader's own pages: a short "seen" signal wakes the others (no row stays). It
        # names the newest message everyone sees: a note's id never goes out to the customers' pages.
        message_id = next((m.id for m in reversed(messages) if m.kind is not MessageKind.NOTE), None)
        if message_id is None:
            return
        try:
            self.receipts.announce(conversation_id, message_id)
        except ConferencingError:
            log.info("could not announce the read mark", exc_info=True)

    def _mark_shown(self, shown: list[tuple[int, Message]]) -> None:
        by_conversation: dict[int, list[Message]] = {}
        for cid, message in shown:
            by_conversation.setdefault(cid, []).append(message)
        for cid, messages in by_conversation.items():
            try:
                self.service.mark_read(cid, max(m.id for m in messages))
            except ConferencingError:
                log.info("could not mark the shown messages read", exc_info=True)
                continue
            self._announce(cid, sorted(messages, key=lambda m: m.id))
        if self._open_id() in by_conversation:
            self.refresh_seen()
