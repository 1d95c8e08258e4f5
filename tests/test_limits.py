"""Limits that protect the store, each with a clear typed error and nothing written (both backends):
message length, members per conversation, upload size, and the per-user posting rate, which is counted in the store
so that every page (kernel) and server of one user shares it.

Also whiteboard stroke size (points per stroke, label length) through the whiteboard service.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text, update
from support import World

from conferencing_widgets import LimitExceeded, Service, Store
from conferencing_widgets.files.service import FileService
from conferencing_widgets.store import schema, utcnow
from conferencing_widgets.store.blobs import BlobStore
from conferencing_widgets.store.migrations import upgrade


def refused(world: World, action: object, match: str) -> None:
    """``action()`` raises ``LimitExceeded`` saying ``match`` and writes nothing."""
    before = world.snapshot()
    with pytest.raises(LimitExceeded, match=match):
        action()  # type: ignore[operator]
    assert world.snapshot() == before


def test_message_length(seeded: World) -> None:
    short = seeded.service("alice", max_message_chars=50)
    refused(seeded, lambda: short.post(seeded.acme_direct, "x" * 51), "51 characters long; the limit is 50")
    assert len(short.post(seeded.acme_direct, "y" * 50).body) == 50


def test_members_per_conversation(seeded: World) -> None:
    two = seeded.service("alice", max_members=2)
    refused(seeded, lambda: two.create_conversation(kind="direct", title="t", members=["adam", "amy"]), "at most 2")
    alice = seeded.service("alice", max_members=3)
    conv = alice.create_conversation(kind="direct", title="Three", members=["adam", "amy", "alice"])
    assert set(conv.members) == {"alice", "adam", "amy"}  # the creator listed again is not counted twice
    # Assigned technicians join case chats automatically and count too (alice + adam + amy + tom = 4).
    refused(
        seeded,
        lambda: alice.create_conversation(
            kind="service_case", title="t", members=["adam", "amy"], case_id=seeded.acme_case.id
        ),
        "at most 3 members",
    )
    tom = seeded.service("tom", max_members=3)  # acme_case_chat: alice, adam, tom
    refused(seeded, lambda: tom.add_members(seeded.acme_case_chat, ["tina"]), "at most 3 members")
    assert tom.add_members(seeded.acme_case_chat, ["tom"]) == []  # already in: nothing to add, no limit hit


def test_upload_size(seeded: World, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    files = FileService(seeded.service("alice", max_upload_bytes=1024, blob_url=blobs.location), blobs=blobs)
    refused(seeded, lambda: files.upload_bytes(seeded.acme_direct, "big.txt", b"x" * 1025), "larger than the limit")
    assert blobs.stored_hashes() == [] and blobs.temporary_keys() == []
    assert files.upload_bytes(seeded.acme_direct, "fits.txt", b"y" * 1024).size == 1024


def test_stroke_size(seeded: World) -> None:
    from conferencing_widgets.whiteboard import service as wb

    boards = wb.WhiteboardService(seeded.service("alice"))
    board = boards.create(seeded.acme_direct, title="Sketch")
    pen = {"color": "#1f1f1f", "width": 2.0}
    limit = wb.MAX_INPUT_POINTS
    too_many = [float(v) for i in range(limit + 1) for v in (i % 500, (i * 7) % 300)]
    refused(seeded, lambda: boards.add_stroke(board.id, "pen", too_many, **pen), f"the limit is {limit:,}")
    long_label = "x" * (wb.MAX_TEXT_CHARS + 1)
    refused(seeded, lambda: boards.add_stroke(board.id, "text", [10, 10], text=long_label, **pen), "Shorten it")
    # At the input limit the stroke is accepted and stored simplified to at most MAX_STROKE_POINTS points.
    stroke = boards.add_stroke(board.id, "pen", too_many[: 2 * limit], **pen)
    assert 2 <= len(stroke.points) // 2 <= wb.MAX_STROKE_POINTS


# -- the per-user posting rate ----------------------------------------------------------------------------


def recent(store: Store, login: str) -> int:
    return store.messages_since(login, utcnow() - timedelta(minutes=1))


def test_rate_is_shared_by_two_pages_of_one_user(seeded: World) -> None:
    """Two pages of alice (two kernels: each its own Store and Service) share one limit of 4 per minute."""
    other_kernel = Store(seeded.store.url)
    try:
        page1 = seeded.service("alice", posts_per_minute=4)
        page2 = Service(other_kernel, "alice", seeded.settings.replace(posts_per_minute=4))
        already = recent(seeded.store, "alice")  # seeding posted as alice a moment ago
        assert already >= 1
        pages = [page1, page2]
        for i in range(4 - already):
            pages[i % 2].post(seeded.acme_direct, f"quick {i}")
        for page in pages:
            refused(seeded, lambda page=page: page.post(seeded.acme_direct, "one too many"), "too fast .limit 4")
        # Other people are not slowed down by alice.
        seeded.service("adam", posts_per_minute=4).post(seeded.acme_direct, "adam is fine")
        # Once a minute has passed the limit lifts: age alice's messages by 61 seconds.
        with seeded.store.atomic() as conn:
            m = schema.messages
            conn.execute(update(m).where(m.c.author == "alice").values(created_at=utcnow() - timedelta(seconds=61)))
        assert recent(seeded.store, "alice") == 0
        assert page2.post(seeded.acme_direct, "after a minute").author == "alice"
    finally:
        other_kernel.close()


def test_rate_counts_files_and_calls_too(seeded: World, tmp_path: Path) -> None:
    """Every message the user causes counts: a file share posts one."""
    blobs = BlobStore(tmp_path / "blobs")
    alice = seeded.service("alice", posts_per_minute=recent(seeded.store, "alice") + 1, blob_url=blobs.location)
    FileService(alice, blobs=blobs).upload_bytes(seeded.acme_direct, "a.txt", b"hello\n")
    refused(seeded, lambda: alice.post(seeded.acme_direct, "over"), "too fast")


def test_rate_query_uses_the_author_index(seeded: World) -> None:
    store = seeded.store
    names = {ix["name"] for ix in inspect(store.engine).get_indexes("messages")}
    assert "ix_messages_author_created" in names
    if store.backend == "sqlite":
        since = int((utcnow() - timedelta(minutes=1)).timestamp() * 1_000_000)
        with store.engine.connect() as conn:
            plan = " ".join(
                str(r[-1])
                for r in conn.execute(
                    text("EXPLAIN QUERY PLAN SELECT count(*) FROM messages WHERE author = :a AND created_at >= :t"),
                    {"a": "alice", "t": since},
                )
            )
        assert "ix_messages_author_created" in plan, plan


def test_migration_0004_adds_the_index_to_an_older_store(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(store.engine, "0003")
        with store.engine.begin() as conn:  # a store made before 0004 has no such index
            conn.execute(text("DROP INDEX IF EXISTS ix_messages_author_created"))
        assert "ix_messages_author_created" not in {ix["name"] for ix in inspect(store.engine).get_indexes("messages")}
        store.create_schema()
        assert "ix_messages_author_created" in {ix["name"] for ix in inspect(store.engine).get_indexes("messages")}
    finally:
        store.close()
