"""Ephemeral signals (issue 12): typing and presence reach only readers, expire, and never write an event.

Wake-ups are counted per watch (``SignalSource.wakeups``), not only what is read: a page of another company, or a
page showing another conversation, is never woken by a signal. Both backends.
"""

from __future__ import annotations

import asyncio

import pytest
from support import World

from conferencing_widgets.chat import signals as chat_signals
from conferencing_widgets.chat.signals import SignalSource, SignalState
from conferencing_widgets.core.errors import InvalidInput, NotFound, PermissionDenied
from conferencing_widgets.session import Session
from conferencing_widgets.store import schema
from conferencing_widgets.store import signals as store_signals
from conferencing_widgets.ui.live import SignalFollower

pytestmark = pytest.mark.timeout(120)

QUIET = 0.4
"""Seconds a watch must stay un-woken after a signal outside its conversation."""


def session(world: World, login: str) -> Session:
    return Session.of_service(world.service(login))


def rows(world: World, table: str) -> int:
    return world.snapshot()[table]


async def rang(source: SignalSource, timeout: float) -> bool:
    """Whether the watch is woken by a ring within ``timeout`` seconds."""
    try:
        return await asyncio.wait_for(source.wait(), timeout)
    except TimeoutError:
        return False


def test_typing_reaches_only_readers_and_never_writes_an_event(seeded: World) -> None:
    alice, adam, erik, bella = (session(seeded, x) for x in ("alice", "adam", "erik", "bella"))
    chat = seeded.acme_case_chat
    events_before = seeded.store.last_event_id()

    alice.signals.signal_typing(chat)
    assert adam.signals.typing(chat) == ["Alice Moreau"], "a member sees who types"
    assert erik.signals.typing(chat) == ["Alice Moreau"], "an engineer who reads every case chat sees it too"
    assert alice.signals.typing(chat) == [], "never your own"
    with pytest.raises(NotFound):
        bella.signals.typing(chat)  # another company: not even that the conversation exists
    with pytest.raises(NotFound):
        bella.signals.signal_typing(chat)
    with pytest.raises(PermissionDenied):
        erik.signals.signal_typing(chat)  # reads the case chat, but only members may post (and type)

    assert seeded.store.last_event_id() == events_before, "signals never write an events row"
    assert rows(seeded, "signals") == 1
    alice.signals.signal_typing(chat)  # every keystroke may call it: throttled, still one row
    assert rows(seeded, "signals") == 1

    alice.signals.stop_typing(chat)
    assert adam.signals.typing(chat) == []
    assert rows(seeded, "signals") == 0, "stopping removes the row"


def test_signals_expire_and_the_table_stays_small(seeded: World, monkeypatch: pytest.MonkeyPatch) -> None:
    store = seeded.store
    chat = seeded.acme_direct
    store.signal(chat, "alice", "typing", 0.2)
    store.signal(chat, "adam", "presence", 60)
    assert {x.login for x in store.signals(chat)} == {"alice", "adam"}

    async def expired() -> None:
        watch = store.signal_watch()
        watch.follow(chat)
        try:
            assert len(watch.read()) == 2
            # No ring comes: the watch wakes by itself at the earliest expiry.
            assert await asyncio.wait_for(watch.wait(), 10) is False
            assert [x.login for x in watch.read()] == ["adam"]
        finally:
            watch.close()

    asyncio.run(expired())
    assert store.signals(chat, kind="typing") == []
    assert rows(seeded, "signals") == 2, "an expired row is only ignored until the next write sweeps it"
    store.signal(chat, "adam", "presence", 60)
    assert rows(seeded, "signals") == 1, "a write deletes the conversation's expired rows"

    # Bounded: one row per (conversation, user, kind), however often it is refreshed.
    for _ in range(20):
        store.signal(chat, "alice", "typing", 5, {"draft": "x"})
    assert rows(seeded, "signals") == 2


def test_a_signal_wakes_only_watchers_of_that_conversation(seeded: World) -> None:
    alice, adam, bella, tom = (session(seeded, x) for x in ("alice", "adam", "bella", "tom"))

    async def scenario() -> None:
        on_case = adam.signals.watch()
        on_direct = adam.signals.watch()
        other_company = bella.signals.watch()
        not_showing = tom.signals.watch()  # a page that shows no conversation: no waker at all
        try:
            on_case.follow(seeded.acme_case_chat)
            on_direct.follow(seeded.acme_direct)
            other_company.follow(seeded.borg_case_chat)
            with pytest.raises(NotFound):
                other_company.follow(seeded.acme_case_chat)
            other_company.follow(seeded.borg_case_chat)
            for w in (on_case, on_direct, other_company):
                w.state()
            assert not_showing._watch._waker is None

            alice.signals.signal_typing(seeded.acme_case_chat)
            assert await rang(on_case, 5), "the page showing that conversation is woken"
            assert on_case.state().typing == ["Alice Moreau"]
            assert not await rang(on_direct, QUIET), "a page showing another conversation is not woken"
            assert not await rang(other_company, QUIET), "another company's page is never woken"
            assert other_company.wakeups == 0 and on_direct.wakeups == 0
            assert other_company.state() == SignalState(conversation_id=seeded.borg_case_chat)

            # Retarget: the same watch now follows the direct chat only.
            on_case.follow(seeded.acme_direct)
            on_case.state()
            alice.signals.stop_typing(seeded.acme_case_chat)
            assert not await rang(on_case, QUIET), "after following another conversation, the old one is silent"
            alice.signals.mark_present(seeded.acme_direct)
            assert await rang(on_case, 5) and await rang(on_direct, 5)
            assert on_direct.state().present == ["Alice Moreau"]
        finally:
            for w in (on_case, on_direct, other_company, not_showing):
                w.close()

    asyncio.run(scenario())


def test_the_follower_hands_over_changes_and_expiry(seeded: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat_signals, "TYPING_TTL_S", 0.5)
    alice, adam = session(seeded, "alice"), session(seeded, "adam")
    seen: list[SignalState] = []

    async def scenario() -> None:
        follower = SignalFollower(adam.signals.watch(), seen.append, name="typing")
        follower.follow(seeded.acme_case_chat)
        follower.start()
        try:
            alice.signals.signal_typing(seeded.acme_case_chat)
            await wait_for_state(lambda: bool(seen) and seen[-1].typing == ["Alice Moreau"])
            await wait_for_state(lambda: seen[-1].typing == [])  # expired: no write, no event
        finally:
            follower.stop()

    async def wait_for_state(pred: object, timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not pred():  # type: ignore[operator]
            assert asyncio.get_running_loop().time() < deadline, f"states seen: {seen}"
            await asyncio.sleep(0.02)

    asyncio.run(scenario())
    assert [s.typing for s in seen] == [[], ["Alice Moreau"], []], "only changes are handed over"


def test_bad_signal_input_is_refused_and_writes_nothing(seeded: World) -> None:
    store = seeded.store
    alice = session(seeded, "alice")
    before = seeded.snapshot()
    for kind, ttl, data in (
        ("reading", 5, None),
        ("typing", 0, None),
        ("typing", -1, None),
        ("typing", store_signals.MAX_TTL_S + 1, None),
        ("typing", True, None),
        ("typing", 5, {"x": "y" * 1000}),
        ("typing", 5, ["not", "an", "object"]),
        ("typing", 5, {"x": object()}),
    ):
        with pytest.raises(InvalidInput):
            store.signal(seeded.acme_direct, "alice", kind, ttl, data)  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        store.signal(999_999, "alice", "typing", 5)  # no such conversation: the foreign key refuses it
    with pytest.raises(NotFound):
        store.signal(seeded.acme_direct, "nobody", "typing", 5)
    for bad in ("abc", 2**64, -1, None, True, "1; DROP TABLE signals"):
        with pytest.raises(NotFound):
            alice.signals.typing(bad)  # type: ignore[arg-type]
        with pytest.raises((NotFound, InvalidInput)):
            alice.signals.signal_typing(bad)  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            alice.signals.stop_typing(bad)  # type: ignore[arg-type]
    assert seeded.snapshot() == before
    assert "signals" in {t.name for t in schema.metadata.sorted_tables}


def test_a_disabled_account_loses_its_signals(seeded: World) -> None:
    alice, adam = session(seeded, "alice"), session(seeded, "adam")
    alice.signals.signal_typing(seeded.acme_direct)
    seeded.store.set_user_disabled("alice", True)
    assert adam.signals.typing(seeded.acme_direct) == [], "a disabled user's signal is not shown"
    with pytest.raises(PermissionDenied):
        alice.signals.signal_typing(seeded.acme_direct)
