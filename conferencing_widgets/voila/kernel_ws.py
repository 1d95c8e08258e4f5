"""The kernel websocket connection Voilà uses (``voila.json``: ``Voila.kernel_websocket_connection_class``).

jupyter_server's connection class, with one change: ``TCP_NODELAY`` on the websocket. Tornado leaves Nagle's
algorithm on, so when the kernel answers with several small messages in a row (``status: busy``, the reply,
``status: idle``) the second one waits for the browser's delayed ACK: a fixed ~40 ms on every back-to-back
exchange. Measured on loopback, a widget message round trip fell from 48 ms to 3 ms, and a chunked upload
(one acknowledgement per chunk) stopped being capped by that wait.

This module is imported by the Voilà *server* process; it imports nothing heavy of its own.
"""

from __future__ import annotations

import contextlib
from typing import Any

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection


class NoDelayKernelWebsocketConnection(ZMQChannelsWebsocketConnection):
    """``ZMQChannelsWebsocketConnection`` that turns Nagle's algorithm off for its websocket."""

    def connect(self) -> Any:
        # The handler calls connect() from open(), once the websocket handshake is done.
        with contextlib.suppress(AttributeError, AssertionError, OSError):
            self.websocket_handler.set_nodelay(True)
        return super().connect()
