"""Following the change feed from inside a kernel: one follower per page (app, whiteboard, call).

``SignalFollower`` follows the ephemeral signals (typing, presence) of the page's open conversation beside it.

The follower reads the feed as its user sees it (``Session.events()``): it never touches the store.

The follower catches up by event id, so a missed wake-up, a reconnect or an error in one batch loses nothing:
the next wait starts from the last event handed over. It runs as a task in the kernel's event loop, which keeps
running after the notebook's cells have finished (in Voilà and in JupyterLab).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from conferencing_widgets.chat.signals import SignalState
from conferencing_widgets.core.model import Event

log = logging.getLogger(__name__)

FIRST_RETRY = 0.1
"""Seconds before the first retry after a failed batch; doubles up to ``MAX_RETRY``."""
MAX_RETRY = 5.0
ATTEMPTS = 3
"""Tries per batch: a batch that keeps failing is skipped (and logged) so one bad event cannot stop a page."""


class EventSource(Protocol):
    """What a follower reads: ``chat.events.VisibleEvents`` (the feed as one user sees it)."""

    def last_id(self) -> int: ...

    def read(self, after: int) -> tuple[list[Event], int]: ...

    async def wait(self, after: int) -> tuple[list[Event], int]: ...

    def close(self) -> None: ...


class FeedFollower:
    """Hands every new visible event to ``apply(events)``, live (``start``) or on demand (``refresh``).

    ``done()`` ends the live loop when it returns true (a call page stops following once its call has ended).
    """

    def __init__(
        self,
        source: EventSource,
        apply: Callable[[list[Event]], None],
        *,
        name: str,
        done: Callable[[], bool] = lambda: False,
    ) -> None:
        self.source = source
        self.name = name
        self.last_event = source.last_id()
        """The newest event id read and applied: the next batch starts after it."""
        self._apply = apply
        self._done = done
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        """Whether the live loop runs (tests and notebooks without a loop use ``refresh``)."""
        return self._task is not None

    def _hand_over(self, events: list[Event], last: int) -> None:
        # The position moves only once the batch is applied: a failed batch is tried again.
        if events:
            self._apply(events)
        self.last_event = max(self.last_event, last)

    def refresh(self) -> int:
        """Apply everything new in the feed now; returns how many visible events there were."""
        events, last = self.source.read(self.last_event)
        self._hand_over(events, last)
        return len(events)

    def start(self) -> None:
        """Follow the feed in the running event loop (nothing happens without one)."""
        if self._task is not None:
            return
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
        self._stopping = False
        self._task = loop.create_task(self._follow())

    async def _follow(self) -> None:
        delay, failed = FIRST_RETRY, 0
        try:
            while not self._done() and not self._stopping:
                events: list[Event] = []
                last = self.last_event
                try:
                    events, last = await self.source.wait(self.last_event)
                    self._hand_over(events, last)
                    delay, failed = FIRST_RETRY, 0
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - keep following; the next wait catches up by id
                    if self._stopping:
                        return  # stop() closed the feed under the wait: that is not a failure
                    failed += 1
                    if failed >= ATTEMPTS:
                        log.exception("%s: skipping events up to %d after %d failures", self.name, last, failed)
                        self.last_event, failed = max(self.last_event, last), 0
                    else:
                        log.warning("%s: live update failed; retrying", self.name, exc_info=True)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_RETRY)
        finally:
            self.source.close()

    def stop(self) -> None:
        """Stop following and release the feed's connection (no error is logged for the wait it ends)."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        self.source.close()


class FollowsFeed:
    """A page that follows the feed through its ``live`` follower (the app, a board page, a call page)."""

    live: FeedFollower

    def refresh(self) -> int:
        """Apply everything new in the feed now (tests and notebooks without a running loop)."""
        return self.live.refresh()

    def start_live(self) -> None:
        """Follow the feed in the kernel's event loop (it keeps running after the notebook cell finished)."""
        self.live.start()

    def stop_live(self) -> None:
        """Stop following (safe on a half-built page: ipywidgets' ``__del__`` calls ``close()`` on those too)."""
        live = self.__dict__.get("live")
        if live is not None:
            live.stop()


class SignalSourceLike(Protocol):
    """What a ``SignalFollower`` follows: ``chat.signals.SignalSource`` (``session.signals.watch()``)."""

    def follow(self, conversation_id: int | None) -> None: ...

    def state(self) -> SignalState: ...

    async def wait(self) -> bool: ...

    def close(self) -> None: ...


class SignalFollower:
    """Calls ``apply(state)`` whenever the typing/presence of the followed conversation changes or expires.

    ``follow(cid)`` retargets it to the page's open conversation (None: none, and then it costs nothing). Only
    changed states are handed over, so an idle page sends no widget traffic (which culling would count as
    activity). Runs as a task in the kernel loop, like ``FeedFollower``.
    """

    def __init__(self, source: SignalSourceLike, apply: Callable[[SignalState], None], *, name: str) -> None:
        self.source = source
        self.name = name
        self._apply = apply
        self._task: asyncio.Task[None] | None = None
        self._last: SignalState | None = None

    def follow(self, conversation_id: int | None) -> None:
        """Follow this conversation's signals (``NotFound`` if the user may not read it) and hand over its state."""
        self.source.follow(conversation_id)
        self.refresh()

    def refresh(self) -> SignalState:
        """Read the state now and hand it over if it changed."""
        state = self.source.state()
        if state != self._last:
            self._last = state
            self._apply(state)
        return state

    def start(self) -> None:
        """Follow in the running event loop (nothing happens without one)."""
        if self._task is not None:
            return
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._follow())

    async def _follow(self) -> None:
        delay = FIRST_RETRY
        while True:
            try:
                await self.source.wait()
                self.refresh()
                delay = FIRST_RETRY
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - signals are best effort; keep following
                log.warning("%s: signal update failed; retrying", self.name, exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY)

    def stop(self) -> None:
        """Stop following and release the watch."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        self.source.close()
