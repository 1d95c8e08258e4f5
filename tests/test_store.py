"""Store contract: the same tests on SQLite and on the real PostgreSQL server (``store`` is parametrized)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from support import World, snapshot

from conferencing_widgets import ConversationKind, InvalidInput, NewMessage, NotFound, Role, Store
from conferencing_widgets.core.model import UNREAD_CAP, CaseStatus
from conferencing_widgets.core.policy import ReadScope


def post_many(store: Store, conversation_id: int, author: str, n: int, prefix: str = "m") -> list[int]:
    """Post ``n`` messages in one transaction (fast) and return their ids."""
    with store.atomic():
        return [
            store.post_message(NewMessage(conversation_id=conversation_id, body=f"{prefix}{i}"), author=author)[0].id
            for i in range(n)
        ]


def test_schema_is_created_once_and_upgrades_idempotently(store: Store) -> None:
    store.create_schema()
    store.create_schema()
    assert set(snapshot(store).values()) == {0}
    assert store.changes(after=0) == []
    assert store.vendor_group() is None


def test_groups_users_and_cases(store: Store) -> None:
    store.add_group(id="v", name="Vendor", is_vendor=True)
    store.add_group(id="c", name="Customer")
    store.add_group(id="c", name="Customer Renamed")  # update, not a second row
    assert [(g.id, g.name, g.is_vendor) for g in store.groups()] == [
        ("v", "Vendor", True),
        ("c", "Customer Renamed", False),
    ]
    assert store.vendor_group() is not None and store.vendor_group().id == "v"

    before = snapshot(store)
    with pytest.raises(InvalidInput, match="already the vendor"):
        store.add_group(id="x", name="Second vendor", is_vendor=True)
    with pytest.raises(NotFound):
        store.add_user(login="u", display_name="U", group_id="nope", role=Role.CUSTOMER)
    assert snapshot(store) == before

    store.add_user(login="cust", display_name="Cust", group_id="c", role="customer")
    store.add_user(login="tech", display_name="Tech", group_id="v", role=Role.TECHNICIAN)
    store.add_user(login="tech2", display_name="Tech Two", group_id="v", role=Role.TECHNICIAN)
    assert store.get_user("cust").role is Role.CUSTOMER
    assert [u.login for u in store.users(group_id="v")] == ["tech", "tech2"]
    with pytest.raises(NotFound):
        store.get_user("ghost")

    before = snapshot(store)
    with pytest.raises(InvalidInput, match="customer company"):
        store.add_case(number="SR-1", title="t", group_id="v")
    with pytest.raises(InvalidInput, match="only vendor staff"):
        store.add_case(number="SR-1", title="t", group_id="c", technicians=["cust"])
    with pytest.raises(NotFound):
        store.add_case(number="SR-1", title="t", group_id="c", technicians=["ghost"])
    assert snapshot(store) == before

    case = store.add_case(number="SR-1", title="Spindle", group_id="c", technicians=["tech"])
    assert case.technicians == ("tech",) and case.status is CaseStatus.OPEN and case.name == "SR-1 · Spindle"
    again = store.add_case(number="SR-1", title="Spindle!", group_id="c", status="in_progress", technicians=["tech2"])
    assert again.id == case.id and again.technicians == ("tech2",)
    assert again.status is CaseStatus.WAITING_ON_VENDOR  # the old name "in_progress" still reads
    kept = store.add_case(number="SR-1", title="Spindle!", group_id="c", technicians=["tech2"])
    assert kept.status is CaseStatus.WAITING_ON_VENDOR  # an update without a status keeps it (re-seeding)
    assert store.get_case_by_number("SR-1").title == "Spindle!"
    assert [c.id for c in store.cases(group_id="c")] == [case.id]
    with pytest.raises(NotFound):
        store.get_case(case.id + 1000)


def test_post_writes_message_event_and_author_read_mark_together(seeded: World) -> None:
    store, cid = seeded.store, seeded.acme_case_chat
    last = store.last_event_id()
    msg, created = store.post_message(NewMessage(conversation_id=cid, body="hello", client_id="c-1"), author="tom")
    assert created and msg.author == "tom" and msg.body == "hello" and msg.client_id == "c-1"
    events = store.changes(after=last)
    assert [(e.kind, e.conversation_id, e.ref_id) for e in events] == [("message", cid, msg.id)]
    assert store.last_event_id() == events[-1].id
    assert store.unread_count("tom", cid) == 0  # posting reads up to one's own message
    assert store.get_message(msg.id) == msg
    with pytest.raises(NotFound):
        store.get_message(msg.id + 1000)


def test_post_to_unknown_conversation_writes_nothing(store: Store, seed: Callable[[Store], World]) -> None:
    seed(store)
    before = snapshot(store)
    with pytest.raises(NotFound):
        store.post_message(NewMessage(conversation_id=987654, body="x"), author="alice")
    assert snapshot(store) == before


def test_atomic_rolls_back_everything_and_nests(seeded: World) -> None:
    store, cid = seeded.store, seeded.acme_case_chat
    before = snapshot(store)
    with pytest.raises(RuntimeError):
        with store.atomic():
            store.post_message(NewMessage(conversation_id=cid, body="one"), author="alice")
            with store.atomic():  # joins the outer transaction
                store.post_message(NewMessage(conversation_id=cid, body="two"), author="alice")
            raise RuntimeError("boom")
    assert snapshot(store) == before
    with store.atomic():
        store.post_message(NewMessage(conversation_id=cid, body="three"), author="alice")
        with store.atomic():
            store.post_message(NewMessage(conversation_id=cid, body="four"), author="alice")
    assert [m.body for m in store.latest_messages(cid, limit=2)] == ["three", "four"]


def test_same_client_id_yields_one_message(seeded: World) -> None:
    store, cid = seeded.store, seeded.acme_case_chat
    first, created = store.post_message(NewMessage(conversation_id=cid, body="hi", client_id="k1"), author="alice")
    before = snapshot(store)
    second, created_again = store.post_message(
        NewMessage(conversation_id=cid, body="hi", client_id="k1"), author="alice"
    )
    assert created and not created_again and second == first
    assert snapshot(store) == before
    # Another author may use the same client id: ids are per author.
    other, other_created = store.post_message(NewMessage(conversation_id=cid, body="hi", client_id="k1"), author="tom")
    assert other_created and other.id != first.id


def test_concurrent_retries_with_one_client_id_store_one_message(seeded: World) -> None:
    """A double click racing itself: both calls return the same message, and only one row exists."""
    store, cid = seeded.store, seeded.acme_case_chat
    for round_no in range(4):
        barrier = threading.Barrier(3)
        results: list[object] = []

        def send(results: list[object] = results, barrier: threading.Barrier = barrier, n: int = round_no) -> None:
            barrier.wait()
            try:
                results.append(
                    store.post_message(
                        NewMessage(conversation_id=cid, body="dup", client_id=f"race-{n}"), author="adam"
                    )
                )
            except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                results.append(exc)

        threads = [threading.Thread(target=send) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert all(isinstance(r, tuple) for r in results), results
        ids = {r[0].id for r in results}  # type: ignore[index]
        assert len(ids) == 1 and sum(bool(r[1]) for r in results) == 1  # type: ignore[index]
    bodies = [m.body for m in store.latest_messages(cid, limit=10)]
    assert bodies.count("dup") == 4


def test_keyset_paging(seeded: World) -> None:
    store, cid = seeded.store, seeded.acme_direct
    existing = [m.id for m in store.latest_messages(cid, limit=100)]
    ids = existing + post_many(store, cid, "alice", 25)
    assert store.message_count(cid) == len(ids)

    page = store.latest_messages(cid, limit=10)
    assert [m.id for m in page] == ids[-10:]  # newest 10, oldest first
    page2 = store.latest_messages(cid, limit=10, before_id=page[0].id)
    assert [m.id for m in page2] == ids[-20:-10]
    page3 = store.latest_messages(cid, limit=10, before_id=page2[0].id)
    assert [m.id for m in page3] == ids[:-20]
    assert store.latest_messages(cid, limit=10, before_id=ids[0]) == []
    assert [m.id for m in store.latest_messages(cid, limit=5, after_id=ids[3])] == ids[4:9]
    assert store.latest_messages(cid, limit=5, after_id=ids[-1]) == []
    # Paging stays inside the conversation.
    other = store.latest_messages(seeded.acme_case_chat, limit=100)
    assert other and all(m.conversation_id == seeded.acme_case_chat for m in other)


def test_inbox_counts_each_conversations_unread_after_its_own_read_mark(seeded: World) -> None:
    """A read mark in one conversation must not hide the unread messages of another (ids are store-wide)."""
    store, w = seeded.store, seeded
    older = post_many(store, w.acme_case_chat, "tom", 3)
    post_many(store, w.acme_direct, "adam", 2)  # newer ids than every case chat message
    store.mark_read("alice", w.acme_direct)
    expected = {cid: store.unread_count("alice", cid) for cid in (w.acme_direct, w.acme_case_chat)}
    assert expected[w.acme_direct] == 0 and expected[w.acme_case_chat] >= len(older)
    for scope in ("alice", ReadScope(login="alice", notes=True)):
        assert {s.conversation.id: s.unread for s in store.inbox(scope)} == expected


def test_inbox_orders_by_activity_with_last_message_unread_and_case(seeded: World) -> None:
    store, w = seeded.store, seeded
    inbox = store.inbox("alice")
    assert [s.conversation.id for s in inbox] == [w.acme_direct, w.acme_case_chat]  # most recent first
    direct, case_chat = inbox
    assert direct.case is None and direct.last_message is not None
    assert direct.last_message.body == "Call with MachTool at 10:00?" and direct.last_author_name == "Adam Fischer"
    assert direct.unread == 1
    assert case_chat.case is not None and case_chat.case.name == "SR-1001 · Spindle vibration"
    assert case_chat.last_author_name == "Tom Becker" and case_chat.unread == 1

    # New activity moves the case chat to the top; unread counts others' messages only, capped.
    post_many(store, w.acme_case_chat, "tom", UNREAD_CAP + 5)
    inbox = store.inbox("alice")
    assert inbox[0].conversation.id == w.acme_case_chat
    assert inbox[0].unread == UNREAD_CAP
    assert inbox[0].last_message is not None and inbox[0].last_message.body == f"m{UNREAD_CAP + 4}"
    assert inbox[0].last_activity_at >= inbox[1].last_activity_at
    assert store.unread_count("tom", w.acme_case_chat) == 0
    assert store.unread_count("adam", w.acme_case_chat) == UNREAD_CAP

    # Reading brings it down; read marks never move back.
    newest = store.latest_messages(w.acme_case_chat, limit=1)[0].id
    older = store.latest_messages(w.acme_case_chat, limit=3)[0].id
    assert store.mark_read("alice", w.acme_case_chat, older) == older
    assert store.unread_count("alice", w.acme_case_chat) == 2
    store.mark_read("alice", w.acme_case_chat)
    assert store.unread_count("alice", w.acme_case_chat) == 0
    before = snapshot(store)
    store.mark_read("alice", w.acme_case_chat, older)  # backwards: a no-op that writes nothing
    assert snapshot(store) == before
    assert store.unread_count("alice", w.acme_case_chat) == 0 and newest > older

    # Kind filter, keyset paging by (last_activity_at, id), and every case chat for engineers.
    assert [s.conversation.kind for s in store.inbox("alice", kind=ConversationKind.DIRECT)] == [
        ConversationKind.DIRECT
    ]
    first = store.inbox("alice", limit=1)
    rest = store.inbox("alice", limit=5, before=(first[0].last_activity_at, first[0].conversation.id))
    assert [s.conversation.id for s in first + rest] == [w.acme_case_chat, w.acme_direct]
    erik = {s.conversation.id for s in store.inbox(ReadScope(login="erik", all_case_chats=True))}
    assert erik == {w.acme_case_chat, w.borg_case_chat, w.staff_direct}
    assert {s.conversation.id for s in store.inbox("erik")} == {w.borg_case_chat, w.staff_direct}
    assert store.inbox("nobody") == []


def test_members_and_conversations(seeded: World) -> None:
    store, w = seeded.store, seeded
    conv = store.get_conversation(w.acme_case_chat)
    assert conv.kind is ConversationKind.SERVICE_CASE and conv.case_id == w.acme_case.id
    assert set(conv.members) == {"alice", "adam", "tom"} and store.members(conv.id) == list(conv.members)
    assert store.is_member(conv.id, "tom") and not store.is_member(conv.id, "tina")
    last = store.last_event_id()
    assert store.add_members(conv.id, ["adam", "amy", "amy"]) == ["amy"]
    assert [(e.kind, e.payload) for e in store.changes(after=last)] == [("members", {"added": ["amy"]})]
    before = snapshot(store)
    assert store.add_members(conv.id, ["amy"]) == []  # already a member: nothing written
    assert snapshot(store) == before
    assert [c.id for c in store.conversations_of_case(w.acme_case.id)] == [w.acme_case_chat]
    with pytest.raises(NotFound):
        store.get_conversation(987654)


def test_feed_reader_misses_nothing_under_concurrent_writers(seeded: World) -> None:
    """Readers follow events by id; with 3 concurrent writers every committed event is seen exactly once."""
    store, w = seeded.store, seeded
    start = store.last_event_id()
    per_writer, writers = 15, [("alice", w.acme_case_chat), ("tom", w.vendor_direct), ("erik", w.staff_direct)]
    seen: list[int] = []
    done = threading.Event()

    def read() -> None:
        after = start
        while True:
            finished = done.is_set()  # read once more after the writers finished
            for e in store.changes(after=after):
                seen.append(e.id)
                after = e.id
            if finished:
                return
            time.sleep(0.002)  # poll, but leave the CPU to the writers

    def write(login: str, cid: int) -> None:
        for i in range(per_writer):
            store.post_message(NewMessage(conversation_id=cid, body=f"{login}-{i}"), author=login)

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=wc) for wc in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    done.set()
    reader.join(60)
    expected = [e.id for e in store.changes(after=start)]
    assert len(expected) == per_writer * len(writers)
    assert seen == expected  # in order, none skipped, none twice
