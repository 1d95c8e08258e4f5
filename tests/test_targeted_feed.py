"""The targeted feed (issue 12): an event wakes only the pages of its audience, and a page reads only its own.

Wake-ups are *counted* (the waker's descriptor becoming readable and ``drain()`` reporting news, and the waker's
own ``wakeups`` counter), not only what is delivered: a page of another company must not be woken at all by a
message it cannot read. Each test also shows the untargeted feed (every commit wakes it, as every page was woken
before) being woken by the same write, so a "not woken" cannot pass by accident.

The wake-up tests run twice per backend (fixture ``wake``): through the server's feed relay, as every page under
``conferencing serve`` is woken (one LISTEN connection / inotify instance per server), and through the page's own
waker, the fallback of a kernel without a relay (JupyterLab, the CLI).
"""

from __future__ import annotations

import asyncio
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import RelayProcess, World

from conferencing_widgets import ChangeFeed, ConversationKind, Service, Store
from conferencing_widgets.chat.events import VisibleEvents
from conferencing_widgets.core import policy
from conferencing_widgets.store import audience, relay_client
from conferencing_widgets.store import feed as feed_module
from conferencing_widgets.store.relay_client import RelayWaker
from conferencing_widgets.store.wakers import DoorbellWaker, PostgresListenWaker

pytestmark = pytest.mark.timeout(120)

QUIET = 0.4
"""Seconds a page must stay un-woken after a write outside its audience (writes ring at commit, in microseconds
on SQLite and a few ms on PostgreSQL)."""


@pytest.fixture(params=["relay", "own waker"])
def wake(
    request: pytest.FixtureRequest, seeded: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RelayProcess | None]:
    """How pages are woken: through a feed relay for the seeded store (its process), or each by its own waker."""
    if request.param == "own waker":
        monkeypatch.delenv(relay_client.ENV_SOCKET, raising=False)
        monkeypatch.setenv(relay_client.ENV_DATA_DIR, str(tmp_path / "no-relay-here"))
        yield None
        return
    path = tmp_path / "relay.sock"
    monkeypatch.setenv(relay_client.ENV_SOCKET, str(path))
    proc = RelayProcess(seeded.store.url, path)
    proc.start()
    yield proc
    proc.kill()


def expect_waker(feed: ChangeFeed, wake: RelayProcess | None) -> None:
    if wake is not None:
        assert isinstance(feed._waker, RelayWaker), "the page is woken through the server's relay"
    elif feed.store.backend == "sqlite":
        assert isinstance(feed._waker, DoorbellWaker)
    else:
        assert isinstance(feed._waker, PostgresListenWaker)


def wakeups(feed: ChangeFeed) -> int:
    """How many times the page's waker reported news so far (what each wake-up costs a page: a catch-up read)."""
    return int(feed._waker.wakeups)  # type: ignore[attr-defined]


def page_feed(store: Store, login: str) -> ChangeFeed:
    return store.feed(policy.read_scope(store.get_user(login)))


def woken(feed: ChangeFeed, timeout: float = QUIET) -> bool:
    """Whether the feed's waker reports news within ``timeout`` seconds (one wake-up is consumed)."""
    waker = feed._waker
    fd = waker.fileno()
    assert fd is not None
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready and waker.drain():
            return True
    return False


def settle(*feeds: ChangeFeed) -> None:
    """Consume whatever the setup rang."""
    for f in feeds:
        while woken(f, 0.1):
            pass


def test_a_message_wakes_only_its_audience(seeded: World, wake: RelayProcess | None) -> None:
    store = seeded.store
    alice, adam, bella, erik = (page_feed(store, x) for x in ("alice", "adam", "bella", "erik"))
    everything = store.feed()
    feeds = (alice, adam, bella, erik, everything)
    try:
        for f in (alice, adam, bella, erik):
            expect_waker(f, wake)
        if wake is not None:
            relayed = sum(isinstance(f._waker, RelayWaker) for f in feeds)
            assert wake.stats()["clients"] == relayed >= 4, "one relay serves every page"
        settle(*feeds)
        before = {f: wakeups(f) for f in (alice, adam, bella, erik)}

        Service(store, "alice").post(seeded.acme_case_chat, "ACME only")
        assert woken(everything), "control: the untargeted feed (the old behaviour) is woken by this post"
        assert woken(alice) and woken(adam), "the members' pages are woken"
        assert woken(erik), "an engineer reads every case chat: woken through the cases topic"
        assert not woken(bella), "a page of another company is never woken by a message it cannot read"
        assert wakeups(bella) == before[bella], "counted: not one wake-up reached bella's page"
        assert all(wakeups(f) > before[f] for f in (alice, adam, erik))

        Service(store, "adam").post(seeded.acme_direct, "ACME direct")
        assert woken(alice) and woken(adam)
        assert not woken(erik), "a direct chat of customers does not wake vendor staff"
        assert not woken(bella)

        settle(*feeds)
        acme = (wakeups(alice), wakeups(adam))
        Service(store, "bella").post(seeded.borg_case_chat, "Borg here")
        assert woken(bella) and woken(erik)
        assert not woken(alice) and not woken(adam)
        settle(*feeds)
        assert (wakeups(alice), wakeups(adam)) == acme, "counted: Borg's post woke no ACME page, not even late"
    finally:
        for f in feeds:
            f.close()


def test_a_read_mark_wakes_only_its_owner(seeded: World, wake: RelayProcess | None) -> None:
    store = seeded.store
    alice, adam, everything = page_feed(store, "alice"), page_feed(store, "adam"), store.feed()
    try:
        expect_waker(alice, wake)
        expect_waker(adam, wake)
        settle(alice, adam, everything)
        after = store.last_event_id()
        adam_before = wakeups(adam)
        Service(store, "alice").mark_read(seeded.acme_direct)
        assert woken(everything), "control: a read mark is a commit the untargeted feed sees"
        assert woken(alice)
        assert not woken(adam), "another member's page is not woken by my read mark"
        assert wakeups(adam) == adam_before, "counted: the other member's waker reported nothing"
        # ...nor does it read it: the event is private to alice.
        mine, _ = store.changes_for(policy.read_scope(store.get_user("alice")), after=after)
        theirs, position = store.changes_for(policy.read_scope(store.get_user("adam")), after=after)
        assert [e.kind for e in mine] == ["read"] and theirs == []
        assert position == store.last_event_id(), "adam's position still moves past alice's read mark"
    finally:
        for f in (alice, adam, everything):
            f.close()


def test_joining_a_conversation_retargets_the_page(seeded: World, wake: RelayProcess | None) -> None:
    store = seeded.store
    amy, bella = page_feed(store, "amy"), page_feed(store, "bella")
    try:
        expect_waker(amy, wake)
        settle(amy, bella)
        after = store.last_event_id()
        conv = Service(store, "alice").create_conversation(kind=ConversationKind.DIRECT, title="New", members=["amy"])
        assert woken(amy), "a new member is woken through her own topic"
        got = amy.wait_blocking(after=after, timeout=2)
        assert [e.kind for e in got] == ["conversation"] and got[0].conversation_id == conv.id
        assert audience.conversation_topic(conv.id) in _topics(amy), "the page now listens to the new conversation"
        settle(amy, bella)
        Service(store, "alice").post(conv.id, "Welcome")
        assert woken(amy)
        assert not woken(bella)
    finally:
        amy.close()
        bella.close()


def _topics(feed: ChangeFeed) -> set[str]:
    waker = feed._waker
    if isinstance(waker, DoorbellWaker):
        return waker.topics
    assert isinstance(waker, PostgresListenWaker | RelayWaker)
    return {ch.removeprefix("cw_") for ch in waker.channels}


def test_positions_pass_invisible_events_and_skip_nothing(seeded: World) -> None:
    store = seeded.store
    bella = Service(store, "bella")
    scope = policy.read_scope(bella.user)
    after = store.last_event_id()
    for i in range(3):
        Service(store, "alice").post(seeded.acme_case_chat, f"invisible {i}")
        bella.post(seeded.borg_case_chat, f"visible {i}")
        Service(store, "adam").post(seeded.acme_direct, f"invisible too {i}")
    expected = [e.id for e in bella.visible(store.changes(after=after))]
    assert expected, "the world has events bella may see"

    # One event at a time, continuing from the position returned: every visible event, in order, none skipped.
    seen, position = [], after
    for _ in range(100):
        events, nxt = store.changes_for(scope, after=position, limit=1)
        assert nxt >= position
        if nxt == position:
            break
        seen += [e.id for e in bella.visible(events)]
        position = nxt
    assert seen == expected
    assert position == store.last_event_id(), "the position moved past the invisible events at the end"

    # The page's view (VisibleEvents) hands over the same and continues from the newest id scanned.
    page = VisibleEvents(bella)
    events, position = page.read(after)
    assert [e.id for e in events] == expected and position == store.last_event_id()
    assert page.read(position) == ([], position)


def test_a_lost_wake_up_is_caught_up(seeded: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every wake-up is dropped; the safety re-check still delivers the event, by id."""
    store = seeded.store
    monkeypatch.setattr(feed_module, "SAFETY_INTERVAL", 0.3)
    bella = page_feed(store, "bella")
    try:
        settle(bella)
        monkeypatch.setattr(bella._waker, "safety_factor", 1.0, raising=False)  # doorbells re-check 6x rarer
        real_drain = bella._waker.drain

        def lost() -> bool:
            real_drain()  # consume the ring, and report nothing: the wake-up is lost
            return False

        monkeypatch.setattr(bella._waker, "drain", lost)
        after = store.last_event_id()
        posted: list[int] = []

        def write() -> None:
            Service(store, "alice").post(seeded.acme_case_chat, "not for bella")
            posted.append(Service(store, "bella").post(seeded.borg_case_chat, "for bella").id)

        timer = threading.Timer(0.1, write)  # while the page waits, so only the safety re-check can find it
        t0 = time.monotonic()
        timer.start()
        got = bella.wait_blocking(after=after, timeout=5)
        timer.join()
        assert [e.ref_id for e in got if e.kind == "message"] == posted
        assert time.monotonic() - t0 < 2.0
        assert bella.position == got[-1].id
    finally:
        bella.close()


def test_topics_are_valid_channel_names() -> None:
    for topic in (audience.user_topic("x" * 64), audience.conversation_topic(2**63 - 1), audience.STAFF):
        ch = audience.channel(topic)
        assert ch.isascii() and ch.replace("_", "a").isalnum() and len(ch.encode()) <= 63


def test_a_page_waits_past_invisible_events(seeded: World) -> None:
    """``VisibleEvents.wait`` (what the page's follower awaits) hands over only its own and moves past the rest."""
    store = seeded.store
    page = VisibleEvents(Service(store, "bella"))
    after = page.last_id()
    posted: list[int] = []

    def write() -> None:
        Service(store, "alice").post(seeded.acme_case_chat, "not for bella")
        posted.append(Service(store, "bella").post(seeded.borg_case_chat, "for bella").id)

    async def scenario() -> tuple[list[int | None], int]:
        asyncio.get_running_loop().call_later(0.1, write)
        events, position = await page.wait(after)
        while not events:
            events, position = await page.wait(position)
        return [e.ref_id for e in events if e.kind == "message"], position

    try:
        got, position = asyncio.run(asyncio.wait_for(scenario(), 10))
        assert got == posted and position == store.last_event_id()
    finally:
        page.close()


def test_directory_events_wake_staff_only(seeded: World, wake: RelayProcess | None) -> None:
    store = seeded.store
    alice, erik, everything = page_feed(store, "alice"), page_feed(store, "erik"), store.feed()
    try:
        expect_waker(alice, wake)
        settle(alice, erik, everything)
        alice_before = wakeups(alice)
        store.add_group(id="newco", name="NewCo")
        assert woken(everything) and woken(erik)
        assert not woken(alice), "a customer's page is not woken by another company's directory change"
        assert wakeups(alice) == alice_before
    finally:
        for f in (alice, erik, everything):
            f.close()
