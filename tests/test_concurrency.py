"""Many writers and readers in real OS processes (multiprocessing, spawn), on SQLite and PostgreSQL.

8 writer processes post 500 messages each through ``Service.post`` into two shared conversations while 4 reader
processes follow the feed with ``ChangeFeed.wait_blocking`` as a dashboard does: each reader filters the events with
``Service.visible`` and catches the conversation it has open up by message id (``Service.messages_after``, what
the message stream does). Required: no message lost or duplicated, every reader sees the same events in the same
order, and no error (such as "database is locked") reaches any writer or reader.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from typing import Any

import pytest

from conferencing_widgets import ConversationKind, Role, Service, Settings, Store

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

WRITERS = 8
PER_WRITER = 500
READERS = 4
CATCH_UP_TIMEOUT = 60.0
"""Seconds a reader may still take, once every writer is done, to receive the last messages (else the test fails).
Readers lag behind on a loaded machine; what matters is that they end up with everything."""

SETTINGS = Settings(posts_per_minute=1_000_000)
"""The posting-rate limit is not what is tested here."""


def build_world(store: Store) -> list[int]:
    """Vendor staff: w0..w7 write, r0..r3 read; both conversations hold everyone. Returns the conversation ids."""
    store.create_schema()
    store.add_group(id="vendor", name="Vendor", is_vendor=True)
    logins = [f"w{i}" for i in range(WRITERS)] + [f"r{i}" for i in range(READERS)]
    for login in logins:
        store.add_user(login=login, display_name=login.upper(), group_id="vendor", role=Role.TECHNICIAN)
    svc = Service(store, "w0", SETTINGS)
    others = logins[1:]
    return [svc.create_conversation(kind=ConversationKind.DIRECT, title=f"Shared {n}", members=others).id for n in "AB"]


def writer(url: str, login: str, conversations: list[int], count: int, start: Any, results: Any) -> None:
    """Post ``count`` messages, alternating between the conversations; report the ids (and any error)."""
    ids: list[int] = []
    errors: list[str] = []
    store = Store(url)
    try:
        svc = Service(store, login, SETTINGS)
        start.wait(60)
        for i in range(count):
            try:
                msg = svc.post(conversations[i % len(conversations)], f"{login} #{i}", client_id=f"{login}-{i}")
                ids.append(msg.id)
            except Exception as exc:  # noqa: BLE001 - any error reaching a user is a failure, reported
                errors.append(f"{type(exc).__name__}: {exc}")
    except Exception:  # noqa: BLE001
        errors.append(traceback.format_exc())
    finally:
        store.close()
        results.put(("writer", login, ids, errors))


def reader(
    url: str, login: str, open_conversation: int, after: int, total: int, ready: Any, done: Any, results: Any
) -> None:
    """Follow the feed until ``total`` message events arrived; report the events seen and the messages the open
    conversation's stream caught up."""
    events: list[tuple[int, int]] = []
    shown: list[int] = []
    errors: list[str] = []
    store = Store(url)
    try:
        svc = Service(store, login, SETTINGS)
        with store.feed() as feed:
            ready.put(login)
            deadline = float("inf")
            while len(events) < total and time.monotonic() < deadline:
                if deadline == float("inf") and done.is_set():
                    deadline = time.monotonic() + CATCH_UP_TIMEOUT
                try:
                    batch = feed.wait_blocking(after=after, timeout=1)
                    if not batch:
                        continue
                    after = batch[-1].id
                    news = [e for e in svc.visible(batch) if e.kind == "message"]
                    events += [(e.id, int(e.ref_id or 0)) for e in news]
                    if any(e.conversation_id == open_conversation for e in news):
                        while True:  # the message stream's catch-up: messages after the last one shown
                            page = svc.messages_after(open_conversation, shown[-1] if shown else 0)
                            shown += [m.id for m in page]
                            if len(page) < 500:
                                break
                except Exception as exc:  # noqa: BLE001 - reported to the parent
                    errors.append(f"{type(exc).__name__}: {exc}")
                    time.sleep(0.05)
    except Exception:  # noqa: BLE001
        errors.append(traceback.format_exc())
    finally:
        store.close()
        results.put(("reader", login, events, (open_conversation, shown), errors))


def test_many_writers_and_readers(store: Store) -> None:
    url = store.url
    conversations = build_world(store)
    after = store.last_event_id()
    total = WRITERS * PER_WRITER
    ctx = multiprocessing.get_context("spawn")
    results: Any = ctx.Queue()
    ready: Any = ctx.Queue()
    start, done = ctx.Event(), ctx.Event()
    procs = [
        ctx.Process(target=reader, args=(url, f"r{i}", conversations[i % 2], after, total, ready, done, results))
        for i in range(READERS)
    ]
    procs += [
        ctx.Process(target=writer, args=(url, f"w{i}", conversations, PER_WRITER, start, results))
        for i in range(WRITERS)
    ]
    t0 = time.monotonic()
    try:
        for p in procs:
            p.start()
        for _ in range(READERS):
            ready.get(timeout=60)  # every reader follows the feed before the first post
        start.set()
        out = []
        for _ in procs:  # drain before joining: a child blocks on exit until its queued data is read
            out.append(results.get(timeout=400))
            if sum(r[0] == "writer" for r in out) == WRITERS:
                done.set()
        for p in procs:
            p.join(30)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(5)
    elapsed = time.monotonic() - t0
    writers = {r[1]: r for r in out if r[0] == "writer"}
    readers = {r[1]: r for r in out if r[0] == "reader"}
    assert len(writers) == WRITERS and len(readers) == READERS

    errors = {login: r[-1] for login, r in {**writers, **readers}.items() if r[-1]}
    assert not errors, f"errors reached users: {errors}"
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]

    posted = [i for r in writers.values() for i in r[2]]
    assert len(posted) == total and len(set(posted)) == total, "a writer got a duplicate id"
    stored = sum(store.message_count(cid) for cid in conversations)
    assert stored == total, f"{stored} messages stored, {total} posted"

    orders = {login: r[2] for login, r in readers.items()}
    first = next(iter(orders.values()))
    for login, seen in orders.items():
        ids = [m for _, m in seen]
        assert len(ids) == len(set(ids)), f"{login} saw a message twice"
        assert set(ids) == set(posted), f"{login} missed {len(set(posted) - set(ids))} messages"
        assert [e for e, _ in seen] == sorted(e for e, _ in seen), f"{login}: events out of order"
        assert seen == first, f"{login} saw another order than the first reader"
    for login, r in readers.items():
        cid, shown = r[3]
        expected = [m.id for m in store.latest_messages(cid, limit=total)]
        lost = len(set(expected) - set(shown))
        assert shown == expected, f"{login}: the stream of {cid}, caught up by message id, lost {lost} messages"
    print(f"{store.backend}: {total} messages by {WRITERS} writers, {READERS} readers, {elapsed:.1f} s")
