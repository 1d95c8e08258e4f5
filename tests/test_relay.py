"""The feed relay (issue 12): PostgreSQL connections follow servers, not pages.

A real relay process (``python -m conferencing_widgets.store.relay``) serves many kernel-like feeds over its
UNIX socket. Wake-ups are counted per feed, and ``pg_stat_activity`` of the throwaway database shows that
connections stay fixed however many feeds follow.
"""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from support import RelayProcess, seed_world

from conferencing_widgets import ChangeFeed, Service, Store
from conferencing_widgets.core import policy
from conferencing_widgets.store import engine as engine_module
from conferencing_widgets.store import relay, wakers
from conferencing_widgets.store.relay import RelayWaker
from conferencing_widgets.store.wakers import PostgresListenWaker
from conferencing_widgets.testing import wait_until

pytestmark = pytest.mark.timeout(180)
postgres = pytest.mark.postgres

QUIET = 0.4
"""Seconds a feed must stay un-woken after a write outside its audience."""


@pytest.fixture()
def relay_proc(pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RelayProcess]:
    path = tmp_path / "relay.sock"
    monkeypatch.setenv(relay.ENV_SOCKET, str(path))
    proc = RelayProcess(pg_store.url, path)
    proc.start()
    yield proc
    proc.kill()


@pytest.fixture()
def any_relay(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RelayProcess]:
    """A relay for ``store``, on either backend."""
    path = tmp_path / "relay.sock"
    monkeypatch.setenv(relay.ENV_SOCKET, str(path))
    proc = RelayProcess(store.url, path)
    proc.start()
    yield proc
    proc.kill()


def connections(store: Store) -> int:
    """Sessions on the store's database other than the one asking."""
    name = make_url(store.url).database
    with store.reading() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                {"d": name},
            ).scalar_one()
        )


def page_feed(store: Store, login: str) -> ChangeFeed:
    return store.feed(policy.read_scope(store.get_user(login)))


def woken(feed: ChangeFeed, timeout: float = QUIET) -> bool:
    waker = feed._waker
    fd = waker.fileno()
    if fd is None:
        return waker.drain()
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready and waker.drain():
            return True
    return False


def settle(feeds: list[ChangeFeed]) -> None:
    for f in feeds:
        while woken(f, 0.05):
            pass


LOGINS = ("alice", "adam", "bella", "tom", "tina", "erik")


@postgres
def test_many_feeds_share_one_relay_and_only_the_audience_wakes(relay_proc: RelayProcess, pg_store: Store) -> None:
    world = seed_world(pg_store)
    pg_store.close()  # start from no pooled connection, so the count below is what the feeds cost
    before = connections(pg_store)
    feeds = [page_feed(pg_store, LOGINS[i % len(LOGINS)]) for i in range(24)]
    try:
        assert all(isinstance(f._waker, RelayWaker) for f in feeds), "every feed goes through the relay"
        wait_until(lambda: relay_proc.stats().get("clients", 0) >= 24, 10, "24 relay clients")
        assert connections(pg_store) == before, "24 following feeds open no PostgreSQL connection of their own"
        settle(feeds)
        wakes_before = [f._waker.wakeups for f in feeds]  # type: ignore[attr-defined]

        Service(pg_store, "alice").post(world.acme_case_chat, "ACME only")
        audience = {"alice", "adam", "tom", "erik"}  # members, and the engineer through the cases topic
        for i, f in enumerate(feeds):
            login = LOGINS[i % len(LOGINS)]
            if login in audience:
                assert woken(f, 5), f"{login}'s page is woken"
        for i, f in enumerate(feeds):
            login = LOGINS[i % len(LOGINS)]
            if login not in audience:
                assert not woken(f), f"{login}'s page is not woken by a message it cannot read"
                assert f._waker.wakeups == wakes_before[i]  # type: ignore[attr-defined]
        assert connections(pg_store) <= before + 1, "the post used one pooled connection, the feeds none"
    finally:
        for f in feeds:
            f.close()
    wait_until(lambda: relay_proc.stats().get("clients") == 0, 10, "the clients are gone")
    assert relay_proc.stats()["channels"] == 0, "the relay UNLISTENs a channel when its last client goes"


@postgres
def test_relay_restart_loses_nothing(relay_proc: RelayProcess, pg_store: Store) -> None:
    world = seed_world(pg_store)
    adam = Service(pg_store, "adam")
    feed = page_feed(pg_store, "adam")
    seen: list[int] = []
    position = pg_store.last_event_id()

    def catch_up(expect: int) -> None:
        nonlocal position

        def step() -> bool:
            nonlocal position
            events = feed.wait_blocking(after=position, timeout=0.5)
            seen.extend(e.ref_id or 0 for e in events if e.kind == "message")
            position = max(position, feed.position)
            return len(seen) >= expect

        wait_until(step, 30, f"{expect} messages seen")

    try:
        assert isinstance(feed._waker, RelayWaker)
        first = adam.post(world.acme_direct, "before").id
        catch_up(1)
        relay_proc.kill()
        during = [adam.post(world.acme_direct, f"while the relay is down {i}").id for i in range(3)]
        gone = feed._waker.wakeups  # type: ignore[attr-defined]
        wait_until(
            lambda: woken(feed, 0.2) is not None and not feed._waker.connected,  # type: ignore[attr-defined]
            10,
            "the feed notices that the relay went away",
        )
        assert feed._waker.wakeups > gone, "losing the relay counts as news: the feed re-reads by id"  # type: ignore[attr-defined]
        relay_proc.start()
        after = adam.post(world.acme_direct, "after").id
        catch_up(5)
        assert seen == [first, *during, after], "nothing lost, nothing duplicated, in order"
        waker = feed._waker
        wait_until(lambda: waker.drain() is not None and waker.connected, 10, "the waker is back on the relay")  # type: ignore[attr-defined]
        settle([feed])
        adam.post(world.acme_direct, "live again")
        assert woken(feed, 5), "wake-ups flow through the restarted relay"
    finally:
        feed.close()


@postgres
def test_without_a_relay_feeds_fall_back_and_say_so(
    pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed_world(pg_store)
    monkeypatch.setenv(relay.ENV_SOCKET, str(tmp_path / "nobody.sock"))
    monkeypatch.setattr(wakers, "_fallback_logged", False)
    with caplog.at_level(logging.INFO, logger=wakers.__name__):
        feed = page_feed(pg_store, "alice")
    try:
        assert isinstance(feed._waker, PostgresListenWaker)
        said = [r.getMessage() for r in caplog.records]
        assert any("no feed relay" in m and "own LISTEN connection" in m for m in said), said
    finally:
        feed.close()
    # A socket that is no relay (nothing reads or answers) is refused too, within the timeout.
    (tmp_path / "plain").write_text("not a socket")
    monkeypatch.setenv(relay.ENV_SOCKET, str(tmp_path / "plain"))
    feed = page_feed(pg_store, "alice")
    try:
        assert isinstance(feed._waker, PostgresListenWaker)
    finally:
        feed.close()


@postgres
def test_hostile_relay_requests_drop_only_that_client(relay_proc: RelayProcess) -> None:
    import socket

    good = RelayWaker(relay_proc.path, ["cw_c1"])
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bad:
            bad.settimeout(5)
            bad.connect(str(relay_proc.path))
            assert relay._read_line(bad).startswith(relay.HELLO)
            bad.sendall(b"L cw_ok; DROP TABLE events\n")
            assert bad.recv(16) == b"", "a malformed channel list closes that client's connection"
        with pytest.raises(ValueError):
            RelayWaker(relay_proc.path, ["cw_x; UNLISTEN *"])
        stats = relay_proc.stats()
        assert stats["clients"] >= 1 and stats["channels"] == 1, "the good client is still served"
    finally:
        good.close()


@postgres
def test_idle_pool_connections_are_released(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(engine_module.ENV_POOL_IDLE, "0.3")
    store = Store(pg_url)
    probe = Store(pg_url)
    try:
        store.last_event_id()
        reaper = engine_module.REAPERS[store.engine]
        pool = store.engine.pool
        assert pool.checkedin() == 1, "an active page keeps its connection warm"  # type: ignore[attr-defined]
        wait_until(lambda: reaper.released >= 1, 10, "the idle pool is released")
        assert pool.checkedin() == 0  # type: ignore[attr-defined]
        own = connections(probe)
        store.last_event_id()  # works again, on a fresh connection
        assert connections(probe) == own + 1
        wait_until(lambda: connections(probe) == own, 10, "released again after the next idle period")
    finally:
        store.close()
        probe.close()


def test_on_both_backends_one_relay_wakes_only_the_audience(any_relay: RelayProcess, store: Store) -> None:
    """SQLite too: one inotify instance in the relay instead of one per page (Linux allows 128 per user)."""
    world = seed_world(store)
    feeds = {login: page_feed(store, login) for login in LOGINS}
    try:
        assert all(isinstance(f._waker, RelayWaker) for f in feeds.values())
        settle(list(feeds.values()))
        Service(store, "alice").post(world.acme_case_chat, "ACME only")
        for login in ("alice", "adam", "tom", "erik"):
            assert woken(feeds[login], 5), f"{login}'s page is woken"
        for login in ("bella", "tina"):
            assert not woken(feeds[login]), f"{login}'s page is not woken"
        # A read mark stays private: only its owner's page wakes.
        Service(store, "adam").mark_read(world.acme_case_chat)
        assert woken(feeds["adam"], 5)
        assert not any(woken(feeds[x], 0.1) for x in ("alice", "bella", "tina"))
    finally:
        for f in feeds.values():
            f.close()

    # Ephemeral signals ride the same relay: only watchers of that conversation are woken, and no event is written.
    showing, elsewhere = store.signal_watch(), store.signal_watch()
    try:
        showing.follow(world.acme_case_chat)
        elsewhere.follow(world.borg_case_chat)
        assert isinstance(showing._waker, RelayWaker) and isinstance(elsewhere._waker, RelayWaker)
        last = store.last_event_id()
        store.signal(world.acme_case_chat, "alice", "typing", 5)
        assert wakes(showing._waker, 5), "the page showing the conversation is woken"
        assert not wakes(elsewhere._waker, QUIET), "a page showing another company's chat is not"
        assert store.last_event_id() == last
    finally:
        showing.close()
        elsewhere.close()


def wakes(waker: object, timeout: float) -> bool:
    fd = waker.fileno()  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready and waker.drain():  # type: ignore[attr-defined]
            return True
    return False


def test_a_relay_of_another_store_is_not_used(any_relay: RelayProcess, store: Store, tmp_path: Path) -> None:
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        seed_world(other)
        feed = page_feed(other, "alice")
        try:
            assert not isinstance(feed._waker, RelayWaker), "the relay serves another store: the page watches itself"
        finally:
            feed.close()
        with pytest.raises(relay.RelayUnavailable, match="another store"):
            RelayWaker(any_relay.path, ["cw_c1"], key=relay.store_key(other.url))
    finally:
        other.close()


def test_serve_starts_one_relay_per_server_and_shares_a_running_one(tmp_path: Path) -> None:
    from conferencing_widgets.core.config import Settings
    from conferencing_widgets.voila import serve

    settings = Settings(data_dir=tmp_path / "data", secret="s3")
    path = relay.relay_socket_path(data_dir=settings.data_dir)
    proc = serve.start_relay(settings)
    try:
        assert proc is not None and relay.probe(path), "the relay answers at DATA_DIR/feed-relay.sock"
        assert oct(path.stat().st_mode & 0o777) == "0o600", "only this user's kernels may connect"
        assert serve.start_relay(settings) is None, "a second server on the same data folder shares it"
    finally:
        if proc is not None:
            serve.stop_voila(proc, grace=5)
    assert not path.exists(), "the relay removes its socket when it stops"
    assert serve.relay_command(Settings(store="sqlite:///:memory:", secret="s3")) is None


@postgres
@pytest.mark.parametrize("relayed", [True, False], ids=["relay", "own LISTEN"])
def test_a_read_mark_does_not_wake_the_page_that_wrote_it(
    relayed: bool, pg_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page marks read what it showed; waking it for its own mark was a third of all wake-ups in the soak. The
    writer's store puts its ``origin`` on the ``NOTIFY``, and only that store's page of that user skips it: the same
    user's page in another kernel (another store) is still woken, and nothing is lost by the skip."""
    proc = None
    if relayed:
        monkeypatch.setenv(relay.ENV_SOCKET, str(tmp_path / "relay.sock"))
        proc = RelayProcess(pg_store.url, tmp_path / "relay.sock")
        proc.start()
    else:
        monkeypatch.setenv(wakers.ENV_NO_RELAY, "1")
    world = seed_world(pg_store)
    other_kernel = Store(pg_store.url)
    writer, elsewhere = page_feed(pg_store, "adam"), page_feed(other_kernel, "adam")
    kind = RelayWaker if relayed else PostgresListenWaker
    try:
        assert isinstance(writer._waker, kind) and isinstance(elsewhere._waker, kind)
        message = Service(pg_store, "alice").post(world.acme_case_chat, "the spindle is back")
        assert woken(writer, 5) and woken(elsewhere, 5)
        settle([writer, elsewhere])

        Service(pg_store, "adam").mark_read(world.acme_case_chat, message.id)
        assert woken(elsewhere, 5), "adam's page in another kernel hears of the mark (its unread counts change)"
        assert not woken(writer), "the page that wrote the mark is not woken by it"
        mark = pg_store.last_event_id()
        writer.changes(after=message.id)
        assert writer.position == mark, "the skipped wake-up loses nothing: the next read passes the mark"
        if proc is not None:
            assert proc.stats()["skipped"] >= 1

        # A second page of adam in the same kernel must hear of the first one's marks: then nobody skips.
        second = page_feed(pg_store, "adam")
        try:
            reply = Service(pg_store, "alice").post(world.acme_case_chat, "and the coolant?")
            assert woken(writer, 5) and woken(second, 5)
            settle([writer, second, elsewhere])
            Service(pg_store, "adam").mark_read(world.acme_case_chat, reply.id)
            assert woken(writer, 5) and woken(second, 5), "two pages of adam here: both are woken"
        finally:
            second.close()
    finally:
        writer.close()
        elsewhere.close()
        other_kernel.close()
        if proc is not None:
            proc.kill()


def test_origin_tokens_are_read_strictly() -> None:
    """A wake-up's payload and a client's ``O`` line carry only a short hex token; anything else means none."""
    from conferencing_widgets.store import audience

    assert audience.note_origin('{"id" : 3, "kind" : "read", "origin" : "ab12cd34"}') == "ab12cd34"
    for payload in ('{"id": 3}', '{"origin": "<script>"}', '{"origin": 5}', "not json \"origin\"", "[]", ""):
        assert audience.note_origin(payload) == ""
    with pytest.raises(ValueError, match="origin"):
        RelayWaker(Path("/nonexistent"), ["cw_c1"], origin="../x")
