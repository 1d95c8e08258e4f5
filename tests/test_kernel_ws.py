"""``voila.kernel_ws``: no IOPub message is lost to jupyter_server's nudge (issue 12).

jupyter_server's nudge takes the first IOPub message a new (or restored) channel receives as proof that the
subscription works and drops it. Driven here with fake ZMQ streams: a live update that arrives during the nudge
must reach the page once the connection is live; the status of the nudge's own kernel_info probe must not.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jupyter_server.services.kernels.websocket import KernelWebsocketHandler
from tornado.websocket import WebSocketClosedError
from traitlets.config import Configurable

from conferencing_widgets.voila.kernel_ws import NoDelayKernelWebsocketConnection


class FakeStream:
    """Just enough of a ``ZMQStream``: the test fires ``callback`` by hand."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.callback: Any = None
        self.sent: list[list[bytes]] = []
        self._closed = False

    def on_recv(self, callback: Any, copy: bool = True) -> None:
        self.callback = callback

    def stop_on_recv(self) -> None:
        self.on_recv(None)

    def send_multipart(self, frames: list[bytes], *args: Any, **kwargs: Any) -> None:
        self.sent.append(frames)

    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True


class FakeMultiKernelManager(Configurable):
    kernel_info_timeout = 5.0
    allow_tracebacks = True

    def __contains__(self, kernel_id: object) -> bool:
        return True


class FakeKernelManager(Configurable):
    kernel_id = "k-1"
    execution_state = "idle"
    ports = [1, 2, 3, 4, 5]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shells: list[FakeStream] = []

    def connect_shell(self, identity: bytes | None = None) -> FakeStream:
        self.shells.append(FakeStream("shell"))
        return self.shells[-1]

    def connect_control(self, identity: bytes | None = None) -> FakeStream:
        return FakeStream("control")


def test_a_live_update_the_nudge_consumes_still_reaches_the_page() -> None:
    async def scenario() -> list[str]:
        km = FakeKernelManager(parent=FakeMultiKernelManager())
        conn = NoDelayKernelWebsocketConnection(parent=km, kernel_info_timeout=5.0)
        iopub = FakeStream("iopub")
        conn.channels = {"iopub": iopub}
        conn._nudge_seen, conn._own_requests = [], set()
        delivered: list[str] = []
        conn.handle_outgoing_message = lambda stream, msg_list: delivered.append(  # type: ignore[method-assign]
            conn.session.deserialize(conn.session.feed_identities(msg_list)[1])["content"]["data"]
        )

        nudged = conn.nudge()
        await asyncio.sleep(0.05)  # the nudge sends its first kernel_info probe from the loop
        probe = conn.session.deserialize(conn.session.feed_identities(km.shells[0].sent[0])[1])
        assert probe["header"]["msg_type"] == "kernel_info_request"
        # The kernel publishes a live update first (a new message row), then the probe's status.
        update = conn.session.msg("comm_msg", {"data": "row 41"})
        status = conn.session.msg("status", {"data": "probe status"}, parent=probe)
        iopub.callback(conn.session.serialize(update))  # consumed by the nudge: upstream drops it
        if iopub.callback is not None:
            iopub.callback(conn.session.serialize(status))
        km.shells[0].callback(conn.session.serialize(conn.session.msg("kernel_info_reply", {}, parent=probe)))
        await asyncio.wait_for(nudged, 5)
        conn._deliver_nudge_seen()
        return delivered

    delivered = asyncio.run(scenario())
    assert delivered == ["row 41"], "the live update consumed by the nudge must reach the page, the probe's not"


class ClosingWebsocket(KernelWebsocketHandler):
    """A page's websocket between the TCP drop and ``on_close``: every write raises, as tornado's does."""

    def __init__(self) -> None:  # no tornado application or request behind it
        pass

    selected_subprotocol = "v1.kernel.websocket.jupyter.org"  # what Voila pages speak

    def write_message(self, message: Any, binary: bool = False) -> Any:
        raise WebSocketClosedError()


def test_a_message_to_a_closing_page_socket_is_buffered_and_the_stream_keeps_reading() -> None:
    """Upstream's binary path let ``WebSocketClosedError`` escape into pyzmq, which then stopped re-arming that
    stream (a reconnected page waited over 60 s for its messages). The error stays here, and the message goes to
    the front of the buffer ``disconnect`` keeps for the page's return."""
    km = FakeKernelManager(parent=FakeMultiKernelManager())
    conn = NoDelayKernelWebsocketConnection(parent=km, kernel_info_timeout=5.0)
    conn.websocket_handler = ClosingWebsocket()
    iopub = FakeStream("iopub")
    conn.channels = {"iopub": iopub}
    refused = conn.session.serialize(conn.session.msg("comm_msg", {"data": "row 7"}))
    conn.handle_outgoing_message(iopub, refused)  # must not raise into the stream's callback
    conn.handle_outgoing_message("iopub", refused)

    later = conn.session.serialize(conn.session.msg("comm_msg", {"data": "row 8"}))
    # What jupyter_server's disconnect leaves when it starts buffering for this page's session.
    km.parent._kernel_buffers = {  # type: ignore[union-attr]
        conn.kernel_id: {"session_key": conn.session_key, "buffer": [("iopub", later)], "channels": {}}
    }
    conn._buffer_unsent()
    buffer = km.parent._kernel_buffers[conn.kernel_id]["buffer"]  # type: ignore[union-attr]
    assert buffer == [("iopub", refused), ("iopub", refused), ("iopub", later)], "refused first, in order"
    conn._buffer_unsent()
    assert len(buffer) == 3, "handed over once"


def test_refused_messages_without_a_buffer_for_the_session_are_dropped_with_a_warning() -> None:
    km = FakeKernelManager(parent=FakeMultiKernelManager())
    conn = NoDelayKernelWebsocketConnection(parent=km, kernel_info_timeout=5.0)
    conn.websocket_handler = ClosingWebsocket()
    conn.channels = {"iopub": FakeStream("iopub")}
    conn.handle_outgoing_message("iopub", conn.session.serialize(conn.session.msg("comm_msg", {"data": "x"})))
    km.parent._kernel_buffers = {conn.kernel_id: {"session_key": "another page", "buffer": []}}  # type: ignore[union-attr]
    conn._buffer_unsent()
    assert km.parent._kernel_buffers[conn.kernel_id]["buffer"] == []  # type: ignore[union-attr]
