"""A TCP proxy in front of a Voilà server, to make a page's network misbehave the way real networks do.

``freeze()`` is a phone that walks out of coverage: every connection stays open on both sides, but nothing passes
any more in either direction (no FIN, no RST), so only the server's websocket ping can notice that the peer is gone.
``drop_all()`` is a flaky network: every connection is cut at once, and the page reconnects.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

CHUNK = 65536


@dataclass(eq=False)
class _Pair:
    client: socket.socket
    upstream: socket.socket
    closed: bool = False


@dataclass(eq=False)
class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``127.0.0.1:<target_port>``; ``base_url`` is where pages should go."""

    target_port: int
    port: int = 0
    _listener: socket.socket = field(init=False, repr=False)
    _pairs: list[_Pair] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _flowing: threading.Event = field(default_factory=threading.Event, repr=False)
    _stopped: bool = False
    accepted: int = 0
    """Connections accepted so far (a reconnecting page adds new ones)."""

    def __post_init__(self) -> None:
        self._flowing.set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def via(self, url: str) -> str:
        """``url`` of the proxied server rewritten to go through the proxy."""
        return url.replace(f"127.0.0.1:{self.target_port}", f"127.0.0.1:{self.port}", 1)

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pair = _Pair(client, upstream)
            with self._lock:
                self._pairs.append(pair)
                self.accepted += 1
            threading.Thread(target=self._pump, args=(pair, client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(pair, upstream, client), daemon=True).start()

    def _pump(self, pair: _Pair, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                # Frozen: read nothing, send nothing, close nothing, as if the packets were lost on the way.
                self._flowing.wait()
                data = source.recv(CHUNK)
                if not data or pair.closed:
                    break
                self._flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        if self._flowing.is_set():
            self._close(pair)

    def _close(self, pair: _Pair) -> None:
        with self._lock:
            pair.closed = True
            if pair in self._pairs:
                self._pairs.remove(pair)
        for sock in (pair.client, pair.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def freeze(self) -> None:
        """Nothing passes any more, in either direction, on open or new connections; nothing is closed either."""
        self._flowing.clear()

    def drop_all(self) -> int:
        """Cut every open connection (both sides see it closed); the number cut. New connections work."""
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            self._close(pair)
        return len(pairs)

    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def close(self) -> None:
        self._stopped = True
        with contextlib.suppress(OSError):
            self._listener.close()
        self._flowing.set()
        self.drop_all()


@contextlib.contextmanager
def tcp_proxy(target_port: int) -> Iterator[TcpProxy]:
    """A running :class:`TcpProxy` to ``target_port``, closed afterwards."""
    proxy = TcpProxy(target_port)
    try:
        yield proxy
    finally:
        proxy.close()
