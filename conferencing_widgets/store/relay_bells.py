"""The SQLite side of the feed relay: one inotify instance watching the doorbells of every client's channels.

A page kernel without the relay watches its own doorbells (``<db>.bells/<topic>``) with its own inotify instance;
Linux allows 128 per user by default, so 200 pages fell back to polling. The relay watches the union instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conferencing_widgets.store import audience
from conferencing_widgets.store.relay_client import _check_channel


class BellWatch:
    """Watches the doorbell file of each wanted channel; calls ``ring`` with the channels rung, ``ring_all`` when
    inotify dropped events (everyone then re-checks by id)."""

    def __init__(
        self,
        bells: Path,
        loop: asyncio.AbstractEventLoop,
        ring: Callable[[set[str]], None],
        ring_all: Callable[[], None],
    ) -> None:
        self.bells = bells
        self._loop = loop
        self._ring = ring
        self._ring_all = ring_all
        self._inotify: Any = None
        self._wd_channel: dict[int, str] = {}
        self._channel_wd: dict[str, int] = {}
        self._wanted: set[str] = set()
        self.watching: set[str] = set()

    def start(self) -> None:
        import inotify_simple

        self.bells.mkdir(parents=True, exist_ok=True)
        self._inotify = inotify_simple.INotify(nonblocking=True)
        self._loop.add_reader(self._inotify.fileno(), self._on_events)

    def close(self) -> None:
        if self._inotify is None:
            return
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self._inotify.fileno())
        self._inotify.close()
        self._inotify = None
        self.watching = set()

    def sync(self, wanted: set[str]) -> None:
        """Watch exactly the bells of ``wanted``."""
        import inotify_simple

        self._wanted = set(wanted)
        if self._inotify is None:
            return
        mask = inotify_simple.flags.ATTRIB | inotify_simple.flags.MODIFY | inotify_simple.flags.CLOSE_WRITE
        for ch in sorted(self.watching - self._wanted):
            wd = self._channel_wd.pop(ch, None)
            self.watching.discard(ch)
            if wd is not None:
                self._wd_channel.pop(wd, None)
                with contextlib.suppress(OSError):
                    self._inotify.rm_watch(wd)
        for ch in sorted(self._wanted - self.watching):
            topic = _check_channel(ch)[len(audience.channel("")) :]
            bell = self.bells / topic
            # Create the bell without writing to it, so other watchers are not woken.
            os.close(os.open(bell, os.O_RDONLY | os.O_CREAT, 0o666))
            wd = self._inotify.add_watch(str(bell), mask)
            self._wd_channel[wd] = ch
            self._channel_wd[ch] = wd
            self.watching.add(ch)

    def _on_events(self) -> None:
        import inotify_simple

        try:
            events = self._inotify.read(timeout=0)
        except BlockingIOError:
            return
        channels = set()
        for e in events:
            if e.mask & inotify_simple.flags.Q_OVERFLOW:
                self._ring_all()
                continue
            if e.mask & inotify_simple.flags.IGNORED:
                ch = self._wd_channel.pop(e.wd, None)  # the bell was removed: watch it again below
                if ch is not None and self._channel_wd.get(ch) == e.wd:
                    del self._channel_wd[ch]
                    self.watching.discard(ch)
                continue
            ch = self._wd_channel.get(e.wd)
            if ch is not None:
                channels.add(ch)
        if channels:
            self._ring(channels)
        if self.watching != self._wanted:
            self.sync(self._wanted)


__all__ = ["BellWatch"]
