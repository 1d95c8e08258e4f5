"""Work that may wait a moment, gathered while events keep coming and done once things are quiet.

A live page applies each feed batch in two parts. The stream the user is reading changes at once. The rest,
such as the history tiles, case clocks and the features' panels, costs tens of milliseconds per batch. A page
in a busy conversation used to redo it for every message and read mark, and the kernel was then busy when the
next message arrived. That was most of the browser-to-browser delivery time. ``Coalescer`` runs the rest once,
``quiet`` seconds after the last batch, and at least every ``max_wait`` seconds while batches keep coming.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

QUIET_S = 0.3
"""Run once no batch came for this long (a burst of messages and their read marks is one run)."""
MAX_WAIT_S = 1.5
"""...but never later than this after the first waiting batch, so a conversation that never pauses still updates."""


class Coalescer(Generic[T]):
    """Call ``run(items)`` with everything added since the last run, a moment later in the running event loop.

    Without a running loop (code, tests, a notebook that calls ``refresh``), ``add`` runs at once.
    """

    def __init__(self, run: Callable[[list[T]], None], *, quiet: float = QUIET_S, max_wait: float = MAX_WAIT_S):
        self._run = run
        self.quiet = quiet
        self.max_wait = max_wait
        self._pending: list[T] = []
        self._first: float | None = None
        self._handle: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> bool:
        """Whether items wait for the next run."""
        return bool(self._pending)

    def add(self, items: list[T], *, defer: bool = True) -> None:
        """Queue ``items``; with ``defer=False`` (or no running loop) run now, with anything already waiting."""
        self._pending.extend(items)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            defer = False
        if not defer:
            self.flush()
            return
        now = loop.time()
        if self._first is None:
            self._first = now
        if self._handle is not None:
            self._handle.cancel()
        self._handle = loop.call_at(min(now + self.quiet, self._first + self.max_wait), self._on_timer)

    def flush(self) -> None:
        """Run now with whatever waits (nothing waiting: nothing happens)."""
        self.cancel()
        items, self._pending = self._pending, []
        if items:
            self._run(items)

    def _on_timer(self) -> None:
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - a timer callback has nobody to raise to; the next batch runs again
            log.exception("deferred page update failed")

    def cancel(self) -> None:
        """Forget the timer (items stay until the next ``add`` or ``flush``)."""
        if self._handle is not None:
            self._handle.cancel()
        self._handle = None
        self._first = None
