"""The feed relay: one wake-up source per server, shared by every page kernel on it.

PostgreSQL: one ``LISTEN`` connection per server. SQLite: one inotify instance watching the doorbell files
(``<db>.bells/<topic>``) instead of one per page (``relay_bells.py``).

Without it each page kernel holds its own listening connection, so PostgreSQL's connections grow with open pages
(``max_connections`` is 100 here). With it the connections follow servers: ``conferencing serve`` starts one relay
next to Voilà (``python -m conferencing_widgets.store.relay``), and each kernel's feed reaches it over a local
UNIX socket (mode 0600, path from ``relay_socket_path``).

Protocol (text lines from the client, single bytes back):

- on connect the relay sends ``HELLO`` and the key of its store (``store_key``) on one line; a kernel that gets no
  answer, or the key of another store, falls back to its own ``LISTEN`` / doorbell watch;
- the client sends ``L <channel> <channel> ...\\n``: the whole set it wants from now on (``L`` alone: none); the
  relay answers ``ACK`` once it follows them, and the client waits for it, so no later ring can be missed;
- a client may send ``O <origin>\n`` first: its store's token (``Store.origin``). A ``NOTIFY`` whose payload names
  that origin (a read mark that client's page wrote itself) does not wake it;
- the relay writes one ``WAKE`` byte to each client with a matching ``NOTIFY`` (at most one unread byte each:
  a client reads everything pending and catches up by id, so more bytes would say nothing new);
- after the relay (re)connects to PostgreSQL it wakes every client, which then catches up by id;
- ``?\\n`` answers one JSON line of counters (tests and benchmarks).

The relay ``LISTEN``s on the union of its clients' channels and ``UNLISTEN``s a channel when its last client goes.
It never reads the events table and knows nothing of rights: it only says "something may have changed".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from conferencing_widgets.store import audience
from conferencing_widgets.store.relay_bells import BellWatch
from conferencing_widgets.store.relay_client import (  # noqa: F401 - re-exported: the relay's one import point
    ACK,
    ENV_DATA_DIR,
    ENV_SOCKET,
    HELLO,
    MAX_LINE,
    PING_INTERVAL,
    SOCKET_NAME,
    WAKE,
    RelayUnavailable,
    RelayWaker,
    _check_channel,
    _read_line,
    bells_dir_of,
    conninfo_of,
    probe,
    relay_socket_path,
    relay_stats,
    socket_path_from_env,
    store_key,
)

log = logging.getLogger(__name__)

# -- the relay (one per server) -------------------------------------------------------------------


class _Client:
    __slots__ = ("channels", "origin", "writer")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.channels: set[str] = set()
        self.origin = ""
        """The client's store ``origin``: wake-ups that carry it (its own read marks) skip it."""


class Relay:
    """Follows the union of its clients' channels (PostgreSQL LISTEN or SQLite doorbells); wakes the matching ones."""

    def __init__(self, store_url: str, path: Path) -> None:
        from conferencing_widgets.store.engine import normalise_url

        store_url = normalise_url(store_url)
        self.key = store_key(store_url)
        self.sqlite = make_url(store_url).get_backend_name() == "sqlite"
        self.conninfo = "" if self.sqlite else conninfo_of(store_url)
        self.bells = bells_dir_of(store_url) if self.sqlite else None
        self._bell_watch: BellWatch | None = None
        self.path = Path(path)
        self._clients: set[_Client] = set()
        self._by_channel: dict[str, set[_Client]] = {}
        self._listening: set[str] = set()
        self._conn: Any = None  # psycopg.Connection while connected
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._backoff = 0.1
        self._connecting = False
        self.stats = {"clients": 0, "channels": 0, "notifies": 0, "wakes": 0, "skipped": 0, "connects": 0}

    # -- lifecycle --

    async def start(self) -> None:
        """Bind the socket (0600) and connect to PostgreSQL (retrying in the background while it is down)."""
        self._loop = asyncio.get_running_loop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() or self.path.is_symlink():
            if probe(self.path):
                raise RuntimeError(f"a feed relay already answers at {self.path}")
            if not stat.S_ISSOCK(self.path.lstat().st_mode):
                raise RuntimeError(f"{self.path} is not a socket; remove it or set {ENV_SOCKET}")
            self.path.unlink()  # a stale socket of a relay that died
        old = os.umask(0o177)  # created 0600: only this user's kernels may connect
        try:
            self._server = await asyncio.start_unix_server(self._serve_client, path=str(self.path), limit=MAX_LINE)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        if self.sqlite:
            self._watch_bells()
        else:
            await self._connect()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        for client in list(self._clients):
            client.writer.close()
        self._drop()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    # -- SQLite side: one inotify instance for every client's doorbells (relay_bells.py) --

    def _watch_bells(self) -> None:
        assert self.bells is not None and self._loop is not None
        self._bell_watch = BellWatch(
            self.bells, self._loop, ring=self._wake_channels, ring_all=lambda: self._wake(set(self._clients))
        )
        self._bell_watch.start()
        self._conn = self._bell_watch  # "connected": _sync_listens keeps the watches
        self.stats["connects"] += 1
        self._sync_listens()

    # -- PostgreSQL side --

    async def _connect(self) -> None:
        import psycopg

        if self._connecting or self._conn is not None or self._loop is None:
            return
        self._connecting = True
        try:
            conn = await self._loop.run_in_executor(
                None, lambda: psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
            )
            conn.add_notify_handler(lambda n: self._wake_channels({n.channel}))
            self._conn = conn
            self._listening = set()
            self._sync_listens()
            if self._conn is None:
                raise OSError("the relay connection failed while subscribing")
        except (psycopg.Error, OSError) as exc:
            self._drop()
            log.warning("feed relay cannot reach PostgreSQL (%s); retrying in %.1fs", exc, self._backoff)
            self._loop.call_later(self._backoff, lambda: asyncio.ensure_future(self._connect()))
            self._backoff = min(self._backoff * 2, 5.0)
            return
        finally:
            self._connecting = False
        self._backoff = 0.1
        self.stats["connects"] += 1
        self._loop.add_reader(conn.fileno(), self._on_pg_readable)
        self._schedule_ping(conn)
        log.info("feed relay listening on PostgreSQL for %d clients at %s", len(self._clients), self.path)
        # Anything committed while we were away is caught up by id: wake everyone once.
        self._wake(set(self._clients))

    def _schedule_ping(self, conn: Any) -> None:
        if self._loop is not None:
            self._loop.call_later(PING_INTERVAL, self._ping, conn)

    def _ping(self, conn: Any) -> None:
        """``SELECT 1`` on the listening connection; a failure counts as losing it (every client is woken)."""
        import psycopg

        if conn is not self._conn:
            return  # replaced meanwhile: that connection's pings end here
        try:
            conn.execute("SELECT 1")
        except (psycopg.Error, OSError) as exc:
            self._lost(exc)
            return
        self._schedule_ping(conn)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._listening = set()
        if conn is None or self.sqlite:
            if self._bell_watch is not None:
                self._bell_watch.close()
                self._bell_watch = None
            return
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(conn.fileno())
        with contextlib.suppress(Exception):
            conn.close()

    def _lost(self, exc: BaseException) -> None:
        log.warning("feed relay lost PostgreSQL (%s); reconnecting", exc)
        self._drop()
        self._wake(set(self._clients))  # let kernels re-check by id (and notice an outage) at once
        if self._loop is not None:
            self._loop.call_later(self._backoff, lambda: asyncio.ensure_future(self._connect()))

    def _on_pg_readable(self) -> None:
        import psycopg

        conn = self._conn
        if conn is None:
            return
        pgconn = conn.pgconn
        try:
            pgconn.consume_input()
            notes: set[tuple[str, str]] = set()
            while (n := pgconn.notifies()) is not None:
                notes.add((n.relname.decode("utf-8", "replace"), audience.note_origin(n.extra)))
            if pgconn.status != 0:  # CONNECTION_OK
                raise psycopg.OperationalError("relay connection lost")
        except (psycopg.Error, OSError) as exc:
            self._lost(exc)
            return
        if notes:
            self._wake_notes(notes)

    def _sync_listens(self) -> None:
        """LISTEN/UNLISTEN (or watch bells) so that the relay follows exactly the clients' channels."""
        import psycopg

        conn = self._conn
        if conn is None:
            return
        if self._bell_watch is not None:
            self._bell_watch.sync(set(self._by_channel))
            self.stats["channels"] = len(self._bell_watch.watching)
            return
        wanted = set(self._by_channel)
        try:
            for ch in sorted(self._listening - wanted):
                conn.execute(f"UNLISTEN {_check_channel(ch)}")
                self._listening.discard(ch)
            for ch in sorted(wanted - self._listening):
                conn.execute(f"LISTEN {_check_channel(ch)}")
                self._listening.add(ch)
        except (psycopg.Error, OSError) as exc:
            self._lost(exc)
        self.stats["channels"] = len(self._listening)

    def _wake_channels(self, channels: set[str]) -> None:
        self._wake_notes({(ch, "") for ch in channels})

    def _wake_notes(self, notes: set[tuple[str, str]]) -> None:
        """Wake the clients of each (channel, origin) note, except those of the note's origin (their own read
        mark: the page that wrote it needs no wake-up, and one was a third of all wake-ups)."""
        self.stats["notifies"] += len(notes)
        targets: set[_Client] = set()
        for ch, origin in notes:
            clients = self._by_channel.get(ch, set())
            if origin:
                skipped = {c for c in clients if c.origin == origin}
                self.stats["skipped"] += len(skipped)
                clients = clients - skipped
            targets |= clients
        self._wake(targets)

    def _wake(self, clients: set[_Client]) -> None:
        for client in clients:
            transport = client.writer.transport
            if transport.is_closing() or transport.get_write_buffer_size() > 0:
                continue  # a byte is already waiting for this client
            client.writer.write(WAKE)
            self.stats["wakes"] += 1

    # -- client side of the socket --

    def _set_channels(self, client: _Client, channels: set[str]) -> None:
        for ch in client.channels - channels:
            members = self._by_channel.get(ch)
            if members is not None:
                members.discard(client)
                if not members:
                    del self._by_channel[ch]
        for ch in channels - client.channels:
            self._by_channel.setdefault(ch, set()).add(client)
        client.channels = channels
        self._sync_listens()

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(writer)
        self._clients.add(client)
        self.stats["clients"] = len(self._clients)
        try:
            writer.write(HELLO + self.key.encode("ascii") + b"\n")
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError, ConnectionError, asyncio.CancelledError):
                    break  # a line over MAX_LINE, a reset or the relay stopping: drop the client
                if not line:
                    break
                words = line.decode("ascii", "replace").split()
                if not words:
                    continue
                if words[0] == "?":
                    others = dict(self.stats, clients=len(self._clients) - 1)  # not counting the asker
                    writer.write((json.dumps(others) + "\n").encode())
                elif words[0] == "O" and len(words) == 2 and audience.ORIGIN_RE.fullmatch(words[1]):
                    client.origin = words[1]
                elif words[0] == "L":
                    try:
                        channels = {_check_channel(w) for w in words[1:]}
                    except ValueError:
                        break  # a malformed request: drop the client (it falls back to its own LISTEN)
                    self._set_channels(client, channels)
                    writer.write(ACK)
        finally:
            self._clients.discard(client)
            self.stats["clients"] = len(self._clients)
            self._set_channels(client, set())
            writer.close()


# -- running it -----------------------------------------------------------------------------------


async def _run(store_url: str, path: Path) -> None:
    relay = Relay(store_url, path)
    await relay.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await relay.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m conferencing_widgets.store.relay [--socket PATH] [--store URL]`` (defaults: the settings)."""
    from conferencing_widgets.store.engine import normalise_url

    parser = argparse.ArgumentParser(prog="conferencing-feed-relay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--socket", default=None, help="UNIX socket path (default: from CONFERENCING_* settings)")
    parser.add_argument("--store", default=os.environ.get("CONFERENCING_STORE", ""), help="store URL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s feed-relay %(levelname)s %(message)s")
    store_url = normalise_url(args.store) if args.store else ""
    database = make_url(store_url).database if store_url else None
    if not store_url or (store_url.startswith("sqlite") and (not database or database == ":memory:")):
        print("feed relay: give a PostgreSQL store or a SQLite file (--store or CONFERENCING_STORE).", file=sys.stderr)
        return 2
    path = Path(args.socket) if args.socket else socket_path_from_env()
    try:
        asyncio.run(_run(store_url, path))
    except RuntimeError as exc:
        print(f"feed relay: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
