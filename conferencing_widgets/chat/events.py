"""The change feed as one user sees it: the UI follows this, never the store.

Positions are raw event ids, so catching up by id still loses nothing; what is handed over is only what the
user may see (``Service.visible``), so a page never holds another company's events.
"""

from __future__ import annotations

from conferencing_widgets.chat.service import Service
from conferencing_widgets.core import policy
from conferencing_widgets.core.model import Event
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.store import ChangeFeed


class VisibleEvents:
    """Reads and waits on the feed for one user. ``close()`` releases the wake-up connection."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self._feed: ChangeFeed | None = None

    def last_id(self) -> int:
        """The newest event id now: a follower starts after it."""
        return self._service.store.last_event_id()

    def _scope(self) -> ReadScope:
        return policy.read_scope(self._service.user)

    def read(self, after: int) -> tuple[list[Event], int]:
        """The visible events after ``after`` and the newest id scanned (the next position).

        The store reads only this user's audience (``changes_for``); the service still checks every event.
        """
        events, last = self._service.store.changes_for(self._scope(), after=after)
        return self._service.visible(events), max(after, last)

    async def wait(self, after: int) -> tuple[list[Event], int]:
        """Waits for news of this user's audience after ``after``; returns like ``read``. May return nothing."""
        if self._feed is None:
            self._feed = self._service.store.feed(self._scope())
        events = await self._feed.wait(after=after)
        return self._service.visible(events), max(after, self._feed.position)

    def close(self) -> None:
        """Release the feed's connection (a later ``wait`` opens a new one)."""
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.close()
