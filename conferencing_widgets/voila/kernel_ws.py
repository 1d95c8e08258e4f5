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

**No IOPub message is swallowed by the nudge** (an upstream jupyter_server 2.21 bug, worked around here only).
The nudge's IOPub handler takes the first IOPub message this socket's channel receives as proof that the
subscription works, and drops it. On a fresh socket that is usually the status of the nudge's own kernel_info
request, but it is whatever the kernel published first: a live update (a new message row, a widget state reply)
sent while the page connects. On a *reconnect* the channel is the one that buffered while the page was away, so
the first message after the buffer is a real one whenever the conversation is busy. It never reached the page:
``tests/browser/test_abandoned_page.py`` cut ten pages' connections while messages kept arriving, and a page
missed one. Here every IOPub message the nudge sees is recorded, and those that do not answer the server's own
kernel_info requests are sent to the page once the connection is live, after jupyter_server's buffer replay and
before anything newer.

**No kernel message is lost, and no stream stops, when a page's socket closes** (upstream jupyter_server 2.21, the
binary ``v1.kernel.websocket.jupyter.org`` protocol that Voilà pages speak). Between the TCP drop and ``on_close``,
a kernel message written to the closing socket raises ``WebSocketClosedError``. The JSON path catches it and drops
the message; the binary path lets it escape into pyzmq, whose ``ZMQStream`` then skips re-arming its
edge-triggered socket, so that channel's later messages stayed unread until some other event woke it (the ten
reconnected pages of ``test_abandoned_page.py``: one waited over 60 s). Here the error is caught, and the message
goes to the front of the buffer that ``disconnect`` starts for the page's return.

This module is imported by the Voilà *server* process; it imports nothing heavy of its own.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from tornado.websocket import WebSocketClosedError

from conferencing_widgets.voila.shell_watchdog import ShellWatchdog, header_id, poke_kernel, v1_channel_and_header

SLOW_CONNECT_S = 5.0
"""A connection that takes longer than this to become live is logged as a warning."""


def end_kernel_connections(kernel_id: str) -> int:
    """Tell every page still connected to a kernel that was shut down (culled, abandoned, restarted away) that it
    is gone, then close their websockets; the number of pages told.

    jupyter_server leaves those sockets open and silent, so the page would believe it is connected to nothing
    (issue 16). A ``dead`` status is what the page's ``KernelConnection`` understands; the close makes a page that
    missed it reconnect, which fails with 404, which ``connection.js`` reads as "the session ended".
    """
    told = 0
    for conn in list(ZMQChannelsWebsocketConnection._open_sockets):
        if conn.kernel_id != kernel_id:
            continue
        with contextlib.suppress(Exception):  # best effort: the socket may be closing already
            conn._send_status_message("dead")
        with contextlib.suppress(Exception):
            conn.websocket_handler.close(1000, "kernel shut down")
        told += 1
    return told


class NoDelayKernelWebsocketConnection(ZMQChannelsWebsocketConnection):
    """``ZMQChannelsWebsocketConnection`` with Nagle off, the time to a live connection logged, nothing lost to the
    nudge, and a kernel that leaves a page's request unread poked (``shell_watchdog.py``)."""

    _watchdog: ShellWatchdog | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._unsent: list[tuple[str, list[Any]]] = []
        """Kernel messages the closing page socket refused, until ``disconnect`` buffers them."""

    def connect(self) -> Any:
        # The handler calls connect() from open(), once the websocket handshake is done.
        with contextlib.suppress(AttributeError, AssertionError, OSError):
            self.websocket_handler.set_nodelay(True)
        started = time.monotonic()
        state = getattr(self.kernel_manager, "execution_state", None)
        self._nudge_seen: list[list[Any]] = []
        self._own_requests: set[str] = set()
        connected = super().connect()
        if self._watchdog is None:
            self._watchdog = ShellWatchdog(
                lambda: poke_kernel(self.kernel_manager, self.session),
                lambda: getattr(self.kernel_manager, "execution_state", None) == "busy",
                self.log,
                name=str(self.kernel_id),
            )
        if connected is not None:
            # Added after jupyter_server's replay and subscribe callbacks, so it runs right after them.
            connected.add_done_callback(lambda _f: self._deliver_nudge_seen())
            connected.add_done_callback(lambda _f: self._log_connected(started, state))
        return connected

    def nudge(self) -> Any:
        """jupyter_server's nudge, recording what its IOPub handler consumes and which requests it sends."""
        iopub = self.channels.get("iopub")
        if iopub is None:
            return super().nudge()
        seen = self._nudge_seen
        original_on_recv = iopub.on_recv
        original_send = self.session.send

        def on_recv(callback: Any, copy: bool = True) -> None:
            if callback is None:
                return original_on_recv(None, copy)

            def record(msg_list: list[Any]) -> None:
                seen.append(msg_list)
                callback(msg_list)

            return original_on_recv(record, copy)

        def send(stream: Any, msg_or_type: Any, *args: Any, **kwargs: Any) -> Any:
            msg = original_send(stream, msg_or_type, *args, **kwargs)
            if msg_or_type == "kernel_info_request" and isinstance(msg, dict):  # the nudge's own probe
                self._own_requests.add(str(msg["header"]["msg_id"]))
            return msg

        iopub.on_recv = on_recv  # only while super() registers its handler
        self.session.send = send  # type: ignore[method-assign]  # the probes go out later, from the loop
        try:
            nudged = super().nudge()
        finally:
            del iopub.on_recv
        nudged.add_done_callback(lambda _f: self.session.__dict__.pop("send", None))
        return nudged

    def _deliver_nudge_seen(self) -> None:
        """Send the page the IOPub messages the nudge consumed, except answers to our own probes."""
        seen, self._nudge_seen = self._nudge_seen, []
        if not self.channels:
            return  # closed meanwhile
        for msg_list in seen:
            try:
                _idents, fed = self.session.feed_identities(msg_list)
                parent = self.session.deserialize(fed, content=False).get("parent_header") or {}
            except Exception:  # noqa: BLE001 - not a message we can read: jupyter_server would not forward it
                continue
            if parent.get("msg_id") in self._own_requests:
                continue
            self.log.info("Delivering an IOPub message the nudge consumed on kernel %s.", self.kernel_id)
            self.handle_outgoing_message("iopub", msg_list)

    def handle_incoming_message(self, incoming_msg: Any) -> None:
        """Forward a page's message to the kernel; a shell request is remembered until the kernel answers it."""
        super().handle_incoming_message(incoming_msg)
        if self._watchdog is None or not self.channels:
            return
        try:
            if self.subprotocol == "v1.kernel.websocket.jupyter.org":
                channel, header = v1_channel_and_header(incoming_msg)
                msg_id = header_id(header)
            else:
                msg = json.loads(incoming_msg)
                channel, msg_id = msg.get("channel") or "shell", header_id(msg.get("header"))
        except (ValueError, TypeError, AttributeError):
            return  # upstream has already said what it thought of this message
        if channel == "shell":
            self._watchdog.sent(msg_id)

    def handle_outgoing_message(self, stream: str, outgoing_msg: list[Any]) -> None:
        """Forward a kernel message to the page; its parent request has been read by the kernel."""
        if self._watchdog is not None and self._watchdog.pending:
            with contextlib.suppress(Exception):  # never let bookkeeping stop a message
                _idents, fed = self.session.feed_identities(outgoing_msg)
                self._watchdog.answered(header_id(fed[2]))
        try:
            super().handle_outgoing_message(stream, outgoing_msg)
        except WebSocketClosedError:
            # The page's socket is closing and ``disconnect`` has not run yet: keep the message for its buffer.
            channel = stream if isinstance(stream, str) else getattr(stream, "channel", None)
            if isinstance(channel, str):
                self._unsent.append((channel, outgoing_msg))

    def disconnect(self) -> None:  # type: ignore[override]  # upstream's is sync despite the base class
        if self._watchdog is not None:
            self._watchdog.stop()
            self._watchdog = None
        super().disconnect()
        self._buffer_unsent()

    def _buffer_unsent(self) -> None:
        """Put the messages the closing socket refused in front of the buffer kept for this page's return."""
        unsent, self._unsent = self._unsent, []
        if not unsent:
            return
        buffers = getattr(self.multi_kernel_manager, "_kernel_buffers", None)  # jupyter_server's, no public API
        info = buffers.get(self.kernel_id) if isinstance(buffers, dict) else None
        if not isinstance(info, dict) or info.get("session_key") != self.session_key:
            self.log.warning(
                "%d kernel message(s) for a closed page of kernel %s dropped: no buffer kept for its session",
                len(unsent),
                self.kernel_id,
            )
            return
        info["buffer"][:0] = unsent
        self.log.info("Buffered %d kernel message(s) the closing page socket refused.", len(unsent))

    def _log_connected(self, started: float, state: object) -> None:
        took = time.monotonic() - started
        log = self.log.warning if took > SLOW_CONNECT_S else self.log.debug
        log("Kernel %s websocket live after %.3f s (kernel was %s).", self.kernel_id, took, state)
