"""The kernel websocket connection Voilà uses (``voila.json``: ``Voila.kernel_websocket_connection_class``).

jupyter_server's connection class, with two additions.

``TCP_NODELAY`` on the websocket. Tornado leaves Nagle's algorithm on, so when the kernel answers with several
small messages in a row (``status: busy``, the reply, ``status: idle``) the second one waits for the browser's
delayed ACK: a fixed ~40 ms on every back-to-back exchange. Measured on loopback, a widget message round trip fell
from 48 ms to 3 ms, and a chunked upload (one acknowledgement per chunk) stopped being capped by that wait.

A log line when a connection is slow to become live. Tornado reads no frame from the page until ``open()`` has
returned, and ``open()`` waits for jupyter_server's *nudge* (kernel_info requests until the kernel answers and this
socket's IOPub subscription delivers). A page whose first kernel messages stall is therefore a nudge that does not
finish, and it shows here (``Voila --debug`` logs every connection's timing). Issue 12 hunted such stalls:
see ARCHITECTURE.md, "Voilà pages that never stall", and ``benchmarks/voila_stall_repro.py``.

This module is imported by the Voilà *server* process; it imports nothing heavy of its own.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

SLOW_CONNECT_S = 5.0
"""A connection that takes longer than this to become live is logged as a warning."""


class NoDelayKernelWebsocketConnection(ZMQChannelsWebsocketConnection):
    """``ZMQChannelsWebsocketConnection`` with Nagle off and the time to a live connection logged."""

    def connect(self) -> Any:
        # The handler calls connect() from open(), once the websocket handshake is done.
        with contextlib.suppress(AttributeError, AssertionError, OSError):
            self.websocket_handler.set_nodelay(True)
        started = time.monotonic()
        state = getattr(self.kernel_manager, "execution_state", None)
        connected = super().connect()
        if connected is not None:
            connected.add_done_callback(lambda _f: self._log_connected(started, state))
        return connected

    def _log_connected(self, started: float, state: object) -> None:
        took = time.monotonic() - started
        log = self.log.warning if took > SLOW_CONNECT_S else self.log.debug
        log("Kernel %s websocket live after %.3f s (kernel was %s).", self.kernel_id, took, state)
