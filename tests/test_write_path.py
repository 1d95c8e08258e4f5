"""The cheap write and read path (issue 12): how many statements a post, a page of messages and the inbox cost.

Timing goals live in ``benchmarks/store_bench.py``; these tests pin the *number of statements* (round trips on
PostgreSQL), which is what made a post cost 3-8 ms, and check that the shortcuts keep the semantics: a repeated
client id still returns the first message, read marks still never move back, the id-order lock is still taken.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import event, text

from conferencing_widgets import Service, Store
from conferencing_widgets.core.errors import InvalidInput, NotFound
from conferencing_widgets.core.model import NewMessage
from conferencing_widgets.store.base import EVENT_LOCK_KEY
from tests.support import World

MAX_POST_STATEMENTS = {"sqlite": 6, "postgresql": 2}
"""``Service.post``: the user with the conversation, its members and the user's posts of the last minute (one
statement), then the write. On PostgreSQL the write is one statement in autocommit (lock and kind, message,
conversation, read mark, event and its NOTIFY), so no BEGIN or COMMIT round trips; on SQLite it is BEGIN IMMEDIATE,
message, conversation, read mark, event (the conversation's kind is read once per store)."""


@contextmanager
def counting(store: Store) -> Iterator[list[str]]:
    """Every statement the store's engine sends (SQL text), BEGIN and COMMIT included where they are SQL."""
    sent: list[str] = []

    def before(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    def on_commit(_conn: object) -> None:
        sent.append("COMMIT")

    event.listen(store.engine, "before_cursor_execute", before)
    event.listen(store.engine, "commit", on_commit)
    try:
        yield sent
    finally:
        event.remove(store.engine, "before_cursor_execute", before)
        event.remove(store.engine, "commit", on_commit)


def test_a_post_is_a_handful_of_statements(seeded: World) -> None:
    store, cid = seeded.store, seeded.acme_case_chat
    alice = Service(store, "alice")
    alice.post(cid, "warm the caches")
    with counting(store) as sent:
        message = alice.post(cid, "counted", client_id="count-1")
    statements = [s for s in sent if s != "COMMIT"]
    assert len(statements) <= MAX_POST_STATEMENTS[store.backend], sent
    if store.backend == "postgresql":
        write = [s for s in statements if "pg_advisory_xact_lock" in s]
        assert len(write) == 1 and "pg_notify" in write[0], "the lock and the NOTIFY, once, in the write itself"
        assert not any(s.startswith(("BEGIN", "SAVEPOINT")) for s in statements)
    # What the statements did: the message, the conversation's last message, the author's read mark, one event.
    assert store.latest_messages(cid, limit=1)[0].id == message.id
    assert store.inbox("alice")[0].last_message == message
    assert store.unread_count("alice", cid) == 0
    events = [e for e in store.changes(after=0) if e.kind == "message" and e.ref_id == message.id]
    assert len(events) == 1 and events[0].payload == {"author": "alice"}


def test_a_repeated_client_id_returns_the_first_message_and_writes_nothing(seeded: World) -> None:
    store, cid = seeded.store, seeded.acme_case_chat
    alice = Service(store, "alice")
    first = alice.post(cid, "once", client_id="retry-me")
    events_before = store.last_event_id()
    count_before = store.message_count(cid)
    again = alice.post(cid, "once", client_id="retry-me")
    assert again == first
    assert store.message_count(cid) == count_before and store.last_event_id() == events_before
    # The same client id in another conversation is refused, and leaves that conversation as it was.
    other = seeded.acme_direct
    before_other = store.message_count(other)
    with pytest.raises(InvalidInput):
        alice.post(other, "elsewhere", client_id="retry-me")
    assert store.message_count(other) == before_other and store.last_event_id() == events_before
    # Another author may use the same client id.
    assert Service(store, "adam").post(cid, "mine", client_id="retry-me").id != first.id


def test_posting_into_a_missing_conversation_writes_nothing(store: Store) -> None:
    before = store.last_event_id()
    with pytest.raises(NotFound):
        store.post_message(NewMessage(conversation_id=987_654, body="nowhere"), author="nobody")
    assert store.last_event_id() == before


def test_read_marks_move_forward_only_and_report_whether_they_moved(seeded: World) -> None:
    store, cid = seeded.store, seeded.acme_case_chat
    ids = [Service(store, "tom").post(cid, f"m{i}").id for i in range(3)]
    events = store.last_event_id()
    assert store.mark_read("alice", cid, ids[1]) == ids[1]
    assert store.last_event_id() == events + 1, "a move is one read event"
    store.mark_read("alice", cid, ids[0])  # backwards: nothing written
    assert store.last_event_id() == events + 1
    assert store.unread_count("alice", cid) == 1
    store.mark_read("alice", cid)
    assert store.unread_count("alice", cid) == 0


def test_a_read_mark_on_postgresql_is_one_statement_and_locks_only_when_it_moves(seeded: World) -> None:
    store, cid = seeded.store, seeded.acme_case_chat
    if store.backend != "postgresql":
        pytest.skip("SQLite writes a read mark in its BEGIN IMMEDIATE transaction (no round trips to save)")
    ids = [Service(store, "tom").post(cid, f"r{i}").id for i in range(2)]
    store.mark_read("alice", cid, ids[0])  # warm the conversation-kind cache
    events = store.last_event_id()
    with counting(store) as sent:
        store.mark_read("alice", cid, ids[1])
    statements = [s for s in sent if s != "COMMIT"]
    assert len(statements) == 1 and "pg_advisory_xact_lock" in statements[0] and "pg_notify" in statements[0]
    new_events = store.changes(after=events)
    assert [(e.kind, e.payload, e.conversation_id) for e in new_events] == [("read", {"login": "alice"}, cid)]
    with store.reading() as conn:  # private to alice, as ``append_event`` writes it
        audience = conn.execute(text("SELECT audience_login FROM events WHERE id = :i"), {"i": new_events[0].id})
        assert audience.scalar() == "alice"
    # Backwards moves nothing, so it does not wait for the id-order lock that another writer holds.
    holder = psycopg.connect(store.url.replace("+psycopg", ""), autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", (EVENT_LOCK_KEY,))
        backwards = threading.Thread(target=store.mark_read, args=("alice", cid, ids[0]))
        backwards.start()
        backwards.join(timeout=20)
        assert not backwards.is_alive(), "a read mark that does not move waited for the id-order lock"
    finally:
        holder.close()
    assert store.last_event_id() == new_events[0].id
    assert store.unread_count("alice", cid) == 0


def test_a_page_of_messages_and_the_inbox_are_one_statement_each(seeded: World) -> None:
    store, cid = seeded.store, seeded.acme_direct  # a direct chat: no case to look up
    with counting(store) as sent:
        page = store.latest_messages(cid, limit=50)
    statements = [s for s in sent if s != "COMMIT"]
    assert len(statements) == 1 and not statements[0].startswith("BEGIN"), "one statement, no transaction around it"
    assert page and all(m.conversation_id == cid for m in page)
    with counting(store) as sent:
        rows = store.inbox("adam", kind="direct")
    assert [r.conversation.id for r in rows] == [cid]
    assert len([s for s in sent if not s.startswith(("BEGIN", "COMMIT"))]) == 1, sent
    # Its LIMITs are in the SQL text, not bound: PostgreSQL's generic plan of a prepared statement with a bound
    # LIMIT cost 2.5x as much (store_bench's inbox on 300k messages).
    (inbox_sql,) = [s for s in sent if not s.startswith(("BEGIN", "COMMIT"))]
    limits = sorted(part.split()[0].rstrip(")") for part in inbox_sql.split("LIMIT ")[1:])
    assert limits == ["100", "50"], limits


def test_the_inbox_pages_and_counts_as_before(seeded: World) -> None:
    store, w = seeded.store, seeded
    tom = Service(store, "tom")
    for i in range(3):
        tom.post(w.acme_case_chat, f"news {i}")
    first = store.inbox("alice", limit=1)
    assert [s.conversation.id for s in first] == [w.acme_case_chat]
    assert first[0].unread == 3 + 1  # tom's first message in the seeded chat, plus three
    assert first[0].last_author_name == store.get_user("tom").display_name
    assert first[0].case is not None and first[0].case.id == w.acme_case.id
    rest = store.inbox("alice", limit=10, before=(first[0].last_activity_at, first[0].conversation.id))
    assert w.acme_case_chat not in {s.conversation.id for s in rest} and w.acme_direct in {
        s.conversation.id for s in rest
    }


def test_the_id_order_lock_is_taken_again_in_a_new_transaction(store: Store) -> None:
    """The "already locked" mark belongs to one transaction: a pooled connection's next one locks again."""
    if store.backend != "postgresql":
        pytest.skip("the id-order lock is PostgreSQL's (SQLite writers are serialised by BEGIN IMMEDIATE)")
    for _ in range(2):
        with store.atomic() as conn:
            store.lock_id_order(conn)
            held = conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
            ).scalar_one()
            assert held == 1
