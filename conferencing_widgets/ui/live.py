"""Following the store's change feed from inside a kernel: one follower per page (app, whiteboard, call).

The follower catches up by event id, so a missed wake-up, a reconnect or an error in one batch loses nothing:
the next wait starts from the last event handed over. It runs as a task in the kernel's event loop, which keeps
running after the notebook's cells have finished (in Voilà and in JupyterLab).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..model import Event
from ..store import ChangeFeed, Store

log = logging.getLogger(__name__)

FIRST_RETRY = 0.1
"""Seconds before the first retry after a failed batch; doubles up to ``MAX_RETRY``."""
MAX_RETRY = 5.0
ATTEMPTS = 3
"""Tries per batch: a batch that keeps failing is skipped (and logged) so one bad event cannot stop a page."""


class FeedFollower:
    """Hands every new feed event to ``apply(events)``, live (``start``) or on demand (``refresh``).

    ``done()`` ends the live loop when it returns true (a call page stops following once its call has ended).
    """

    def __init__(
        self,
        store: Store,
        apply: Callable[[list[Event]], None],
        *,
        name: str,
        done: Callable[[], bool] = lambda: False,
    ) -> None:
        self.store = store
        self.name = name
        self.last_event = store.last_event_id()
        """The newest event handed to ``apply``: the next batch starts after it."""
        self._apply = apply
        self._done = done
        self._feed: ChangeFeed | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the live loop runs (tests and notebooks without a loop use ``refresh``)."""
        return self._task is not None

    def _hand_over(self, events: list[Event]) -> None:
        # The position moves only once the batch is applied: a failed batch is tried again.
        if events:
            self._apply(events)
            self.last_event = max(self.last_event, events[-1].id)

    def refresh(self) -> int:
        """Apply everything new in the feed now; returns how many events there were."""
        events = self.store.changes(after=self.last_event)
        self._hand_over(events)
        return len(events)

    def start(self) -> None:
        """Follow the feed in the running event loop (nothing happens without one)."""
        if self._task is not None:
            return
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
        self._feed = self.store.feed()
        self._task = loop.create_task(self._follow())

    async def _follow(self) -> None:
        assert self._feed is not None
        delay, failed = FIRST_RETRY, 0
        while not self._done():
            events: list[Event] = []
            try:
                events = await self._feed.wait(after=self.last_event)
                self._hand_over(events)
                delay, failed = FIRST_RETRY, 0
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep following; the next wait catches up by id
                failed += 1
                if events and failed >= ATTEMPTS:
                    log.exception("%s: skipping events up to %d after %d failures", self.name, events[-1].id, failed)
                    self.last_event, failed = max(self.last_event, events[-1].id), 0
                else:
                    log.exception("%s: live update failed; retrying", self.name)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY)
        self._close_feed()

    def _close_feed(self) -> None:
        feed, self._feed = self._feed, None
        if feed is not None:
            feed.close()

    def stop(self) -> None:
        """Stop following and release the feed's connection."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        self._close_feed()
