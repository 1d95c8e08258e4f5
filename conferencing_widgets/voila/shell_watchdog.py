"""Pokes a kernel that leaves a page's shell request unread (issue 12: whiteboard pages that never became ready).

A page's widget requests (``comm_info_request``, ``comm_msg``: the canvas's "client ready", a state request) go to
the kernel's shell socket. Every request the kernel starts on is answered on IOPub with a ``status: busy`` whose
parent is that request. Rarely, in the browser suite, a page waited for good: its whiteboard never became ready,
with no error anywhere. ipykernel 7's shell ROUTER has been seen to miss its edge-triggered wake-up, so a request
sits unread until something else happens on the socket, in practice the *next connection* (ipykernel issue #1554;
7.4's #1529 closed one such window). jupyter_server makes exactly such a connection for every new page websocket.
That is why the old forced 30-s reconnect "recovered" stalled pages.

This watchdog does the same thing, and only when it is needed. When a page's shell request has had no answer for
``STALL_S`` while the kernel is not busy, it opens a short-lived shell channel to that kernel, sends a
``kernel_info_request`` on it and logs a warning, so each stall shows in the server log. At worst a poke is one
harmless request; at best the page goes on without the user noticing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tornado.ioloop import IOLoop, PeriodicCallback

STALL_S = 3.0
"""A shell request unanswered this long, with the kernel not busy, counts as unread."""
CHECK_MS = 1000
POKE_EVERY_S = 10.0
"""At most one poke per connection in this many seconds."""
POKE_CHANNEL_S = 5.0
"""How long the poke's own shell channel stays open (its reply is not needed)."""
MAX_PENDING = 1000
"""Requests tracked per connection; beyond this the oldest are forgotten (a page flooding the kernel)."""


def header_id(raw: Any) -> str | None:
    """The ``msg_id`` of a serialized (JSON bytes) or parsed message header; None when there is none."""
    raw = getattr(raw, "bytes", raw)  # a zmq Frame
    if isinstance(raw, memoryview):
        raw = raw.tobytes()
    try:
        header = json.loads(raw) if isinstance(raw, bytes | bytearray | str) else raw
    except (ValueError, UnicodeDecodeError):
        return None
    msg_id = header.get("msg_id") if isinstance(header, dict) else None
    return str(msg_id) if msg_id else None


class ShellWatchdog:
    """Per page connection: remembers its shell requests, forgets each once the kernel answers it, pokes when one
    waits too long. ``poke`` opens the extra shell channel; ``busy`` says whether the kernel is executing."""

    def __init__(self, poke: Callable[[], None], busy: Callable[[], bool], log: Any, name: str = "") -> None:
        self._poke, self._busy, self._log, self.name = poke, busy, log, name
        self.pending: dict[str, float] = {}
        self.pokes = 0
        self._last_poke = 0.0
        self._timer = PeriodicCallback(self._tick, CHECK_MS)
        self._timer.start()

    def sent(self, msg_id: str | None) -> None:
        """A page request went to the kernel's shell socket."""
        if msg_id:
            if len(self.pending) >= MAX_PENDING:
                self.pending.pop(next(iter(self.pending)))
            self.pending[msg_id] = time.monotonic()

    def answered(self, parent_id: str | None) -> None:
        """The kernel sent something in answer to ``parent_id`` (a status, a reply): it has read that request."""
        if parent_id:
            self.pending.pop(parent_id, None)

    def check(self, now: float | None = None) -> bool:
        """Poke if a request has waited too long and the kernel is not busy; True when it poked."""
        if not self.pending:
            return False
        now = time.monotonic() if now is None else now
        waited = now - min(self.pending.values())
        if waited < STALL_S or now - self._last_poke < POKE_EVERY_S or self._busy():
            return False
        self._last_poke = now
        self.pokes += 1
        self._log.warning(
            "A page's shell request waited %.1f s unread by idle kernel %s (%d waiting): poking it with a new shell "
            "connection.",
            waited,
            self.name,
            len(self.pending),
        )
        try:
            self._poke()
        except Exception as exc:  # noqa: BLE001 - a kernel that is shutting down: nothing to wake
            self._log.warning("Could not poke kernel %s: %s", self.name, exc)
        return True

    def _tick(self) -> None:
        self.check()

    def stop(self) -> None:
        self._timer.stop()
        self.pending.clear()


def v1_channel_and_header(ws_msg: bytes) -> tuple[str, bytes]:
    """Channel and header of a ``v1.kernel.websocket.jupyter.org`` frame, without copying its other parts (an
    upload chunk's buffer can be large)."""
    count = int.from_bytes(ws_msg[:8], "little")
    if count < 3:
        return "", b""
    offsets = [int.from_bytes(ws_msg[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(3)]
    return ws_msg[offsets[0] : offsets[1]].decode("utf-8", "replace"), ws_msg[offsets[1] : offsets[2]]


def poke_kernel(kernel_manager: Any, session: Any) -> None:
    """Open a fresh shell channel to the kernel, send a ``kernel_info_request`` on it, close it a little later."""
    stream = kernel_manager.connect_shell()
    session.send(stream, "kernel_info_request")
    IOLoop.current().call_later(POKE_CHANNEL_S, stream.close)
