"""The kernel side of the feed relay (``store/relay.py``): where its socket is, its protocol, and ``RelayWaker``.

Kept apart from the relay server so that every page kernel imports only this (no asyncio server code).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.engine import make_url

from conferencing_widgets.store import audience

log = logging.getLogger(__name__)

HELLO = b"R"
WAKE = b"!"
ACK = b"+"
"""Sent after a channel list is in force (LISTEN executed, bells watched): rings after it reach the client."""
PING_INTERVAL = 15.0
"""Seconds between the relay's liveness checks of its PostgreSQL connection (a half-open socket never errors)."""
MAX_LINE = 256 * 1024
"""Longest channel list a client may send (about 20,000 channels)."""
SOCKET_NAME = "feed-relay.sock"
ENV_SOCKET = "CONFERENCING_RELAY_SOCKET"
ENV_DATA_DIR = "CONFERENCING_DATA_DIR"
_MAX_UNIX_PATH = 100
"""sun_path holds 108 bytes on Linux; longer derived paths move to the temp folder."""


def relay_socket_path(*, socket_setting: str = "", data_dir: str | Path | None = None) -> Path:
    """Where the relay of this server listens: the ``relay_socket`` setting, else ``<data_dir>/feed-relay.sock``.

    Kernels and the relay derive it the same way from the same ``CONFERENCING_*`` variables (``conferencing
    serve`` passes every setting to the kernels). A derived path too long for a UNIX socket is replaced by one in
    the temp folder named after it.
    """
    if socket_setting:
        return Path(socket_setting).expanduser()
    folder = Path(data_dir if data_dir is not None else "data").expanduser().resolve()
    path = folder / SOCKET_NAME
    if len(os.fsencode(path)) > _MAX_UNIX_PATH:
        digest = hashlib.sha1(os.fsencode(path)).hexdigest()[:16]
        path = Path("/tmp") / f"cw-relay-{os.getuid()}-{digest}.sock"
    return path


def socket_path_from_env(env: dict[str, str] | None = None) -> Path:
    """``relay_socket_path`` from the environment (the store layer has no ``Settings``)."""
    env = dict(os.environ if env is None else env)
    return relay_socket_path(socket_setting=env.get(ENV_SOCKET, ""), data_dir=env.get(ENV_DATA_DIR) or None)


def store_key(store_url: str) -> str:
    """A short id of a store (its database file, or its PostgreSQL URL without password): relay and page must agree."""
    from conferencing_widgets.store.engine import normalise_url

    url = make_url(normalise_url(store_url))
    if url.get_backend_name() == "sqlite":
        ident = "sqlite:" + str(Path(url.database or "").resolve())
    else:
        ident = url.set(drivername="postgresql", password=None).render_as_string(hide_password=True)
    return hashlib.sha1(ident.encode("utf-8")).hexdigest()[:16]


def bells_dir_of(store_url: str) -> Path:
    """The doorbell folder of a SQLite store (``StoreBase.bells_dir`` without a Store)."""
    db = Path(make_url(store_url).database or "").resolve()
    return db.with_name(db.name + ".bells")


def _read_line(sock: socket.socket, limit: int = 65536) -> bytes:
    """One line from the relay, byte by byte (a wake-up byte may follow it at once), skipping wake-ups before it."""
    data = bytearray()
    while not data.endswith(b"\n"):
        byte = sock.recv(1)
        if not byte:
            raise OSError("the relay closed the connection")
        if byte == WAKE and not data:
            continue
        data += byte
        if len(data) > limit:
            raise OSError("the relay's answer is too long")
    return bytes(data)


def _check_channel(channel: str) -> str:
    from conferencing_widgets.store.wakers import _identifier

    return _identifier(channel)


def conninfo_of(store_url: str) -> str:
    """libpq conninfo of a ``postgresql+psycopg://`` store URL."""
    url = make_url(store_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def probe(path: Path, timeout: float = 1.0) -> bool:
    """Whether a relay answers at ``path`` (connects and reads its hello)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            return sock.recv(1) == HELLO
    except OSError:
        return False


def relay_stats(path: Path, timeout: float = 5.0) -> dict[str, int]:
    """The relay's counters (clients, channels LISTENed, notifies received, wakes sent, PostgreSQL connects)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        if not _read_line(sock).startswith(HELLO):
            raise OSError("not a feed relay")
        sock.sendall(b"?\n")
        return dict(json.loads(_read_line(sock)))


# -- the kernel side ------------------------------------------------------------------------------


class RelayUnavailable(OSError):
    """No relay answers at the socket (the caller falls back to its own LISTEN connection)."""


class RelayWaker:
    """A ``TargetedWaker`` fed by the server's relay: readable when a ``NOTIFY`` of one of its channels arrived.

    If the relay goes away the waker reports news once (the feed catches up by id), has no descriptor while it is
    gone (the feed then polls ``drain`` every ``POLL_INTERVAL``, which retries with backoff), and reports news
    again when it is back, so nothing committed meanwhile is lost.
    """

    needs_visibility_retry = False
    @property
    def safety_factor(self) -> float:
        """How much rarer than ``SAFETY_INTERVAL`` the feed re-checks by id: 30x (5 min) while connected, because
        the relay wakes every client when it reconnects and pings PostgreSQL every ``PING_INTERVAL`` and a lost
        socket wakes the page; 1x while the relay is away (the page still catches up every 10 s)."""
        return 30.0 if self._sock is not None else 1.0

    def __init__(
        self, path: Path, channels: Iterable[str], *, key: str | None = None, origin: str = "", timeout: float = 1.0
    ) -> None:
        self.path = Path(path)
        self.key = key
        """The ``store_key`` the relay must serve (None: any, for tests of the protocol)."""
        if origin and not audience.ORIGIN_RE.fullmatch(origin):
            raise ValueError(f"not an origin token: {origin!r}")
        self.origin = origin
        """The store's ``origin``: the relay skips this client for wake-ups that carry it (its own read marks)."""
        self._channels = {_check_channel(c) for c in channels}
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self.wakeups = 0
        """How many drains reported news (tests count wake-ups with it)."""
        self.generation = 0
        """Counts successful connects: a new socket may reuse the old descriptor number."""
        self._next_attempt = 0.0
        self._backoff = 0.1
        self._pending = False
        try:
            self._connect_or_raise()
        except OSError as exc:
            raise RelayUnavailable(f"no feed relay at {self.path}: {exc}") from exc

    def _connect_or_raise(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self._timeout)
            sock.connect(str(self.path))
            hello = _read_line(sock)
            if not hello.startswith(HELLO):
                raise OSError("the socket does not answer like a feed relay")
            theirs = hello[len(HELLO) :].strip().decode("ascii", "replace")
            if self.key is not None and theirs != self.key:
                raise OSError(f"the relay serves another store ({theirs}, not {self.key})")
            self._send_and_wait(sock)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self.generation += 1
        self._backoff = 0.1

    def _send_and_wait(self, sock: socket.socket) -> None:
        """Send the channel list and wait until the relay follows it (wake-ups seen meanwhile are kept as news)."""
        sock.sendall(self._request())
        while True:
            byte = sock.recv(1)
            if not byte:
                raise OSError("the relay closed the connection")
            if byte == ACK:
                return
            self._pending = True

    def _request(self) -> bytes:
        # ``O`` first (a relay without origins ignores the line), then the channel list it acknowledges.
        origin = f"O {self.origin}\n" if self.origin else ""
        return (origin + "L " + " ".join(sorted(self._channels)) + "\n").encode("ascii")

    def _reconnect(self) -> bool:
        now = time.monotonic()
        if now < self._next_attempt:
            return False
        try:
            self._connect_or_raise()
        except OSError as exc:
            self._next_attempt = now + self._backoff
            self._backoff = min(self._backoff * 2, 2.0)
            log.debug("feed relay still unavailable (%s)", exc)
            return False
        log.info("feed relay at %s is back", self.path)
        return True

    def set_topics(self, topics: set[str]) -> None:
        """Follow exactly the channels of ``topics`` from now on."""
        self.set_channels({audience.channel(t) for t in topics})

    def set_channels(self, channels: set[str]) -> None:
        self._channels = {_check_channel(c) for c in channels}
        if self._sock is None:
            return  # the reconnect sends the new set
        try:
            self._sock.settimeout(self._timeout)
            self._send_and_wait(self._sock)
            self._sock.setblocking(False)
        except OSError as exc:
            log.warning("feed relay connection lost (%s); retrying", exc)
            self._drop()

    @property
    def channels(self) -> set[str]:
        return set(self._channels)

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def fileno(self) -> int | None:
        return None if self._sock is None else self._sock.fileno()

    def drain(self) -> bool:
        pending, self._pending = self._pending, False
        if self._sock is None:
            got = self._reconnect()  # back: whatever happened meanwhile is caught up by id
        else:
            data: bytes | None
            try:
                data = self._sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                if not pending:
                    return False
                data = None  # nothing new, but a wake-up arrived while we waited for an ACK
            except OSError as exc:
                data = b""
                log.warning("feed relay connection failed (%s)", exc)
            if data is None or data:
                got = True
            else:
                log.warning("feed relay at %s went away; retrying (pages catch up by id)", self.path)
                self._drop()
                self._reconnect()
                got = True
        if got:
            self.wakeups += 1
        return got

    def _drop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def close(self) -> None:
        self._drop()
