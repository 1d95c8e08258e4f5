"""The call service on SQLite and PostgreSQL: life cycle, who may do what, signalling, no leaks, the migration."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import inspect, select, text
from support import World

from conferencing_widgets import InvalidInput, LimitExceeded, NotFound, PermissionDenied, Store
from conferencing_widgets.calls import store as call_store
from conferencing_widgets.calls.service import CALL_MESSAGE, CallService
from conferencing_widgets.calls.store import CALL_EVENT, SIGNAL_EVENT
from conferencing_widgets.core import policy
from conferencing_widgets.core.identity import param_from_query, read_token
from conferencing_widgets.core.model import MessageKind
from conferencing_widgets.store import schema
from conferencing_widgets.store.migrations import upgrade

SECRET = "test-secret"
JITSI = {"secret": SECRET, "jitsi_url": "http://127.0.0.1:9/meet"}
BUILTIN = {"secret": SECRET, "video_provider": "builtin"}
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}


def calls(world: World, login: str, **settings: object) -> CallService:
    return CallService(world.service(login, **(settings or JITSI)))


def test_start_stores_call_message_and_starter(seeded: World) -> None:
    alice = calls(seeded, "alice")
    info = alice.start(seeded.acme_case_chat)
    call = info.call
    assert info.started and info.provider == "jitsi"
    assert call.started_by == "alice" and call.live and call.participants == ("alice",)
    assert call.room == ""  # the service never hands the room out with the record
    stored = call_store.get_call(seeded.store, call.id)
    assert urlsplit(info.url).path == f"/meet/{stored.room}"
    last = seeded.store.latest_messages(seeded.acme_case_chat, limit=1)[0]
    assert (last.kind, last.ref_id, last.author, last.body) == (MessageKind.CALL, call.id, "alice", CALL_MESSAGE)
    # A second press while the call is live joins it instead of opening another room.
    again = calls(seeded, "tom").start(seeded.acme_case_chat)
    assert not again.started and again.call.id == call.id
    assert again.call.participants == ("alice", "tom")
    assert len(calls(seeded, "adam").calls(seeded.acme_case_chat)) == 1


def test_leave_and_end_record_duration_and_participants(seeded: World) -> None:
    alice, tom, adam = (calls(seeded, x) for x in ("alice", "tom", "adam"))
    call = alice.start(seeded.acme_case_chat).call
    tom.join(call.id)
    adam.join(call.id)
    assert alice.leave(call.id).live  # two remain: the call goes on
    assert tom.present(call.id) == ["tom", "adam"]
    ended = tom.leave(call.id)  # one would be left alone: the call ends
    assert not ended.live and ended.duration is not None and ended.duration.total_seconds() >= 0
    assert ended.participants == ("alice", "tom", "adam")
    assert tom.present(call.id) == []
    assert tom.leave(call.id).ended_at == ended.ended_at  # leaving an ended call changes nothing
    with pytest.raises(InvalidInput, match="ended"):
        adam.join(call.id)
    # Starting again opens a new call.
    assert alice.start(seeded.acme_case_chat).call.id != call.id


def test_end_is_for_starter_or_participants(seeded: World) -> None:
    call = calls(seeded, "alice").start(seeded.acme_case_chat).call
    before = seeded.snapshot()
    with pytest.raises(PermissionDenied, match="took part"):
        calls(seeded, "adam").end(call.id)  # a member who never joined
    assert seeded.snapshot() == before and call_store.get_call(seeded.store, call.id).live
    ended = calls(seeded, "alice").end(call.id)
    assert ended.ended_at is not None


def test_may_end_may_leave_and_call_message_id_for_the_ui(seeded: World) -> None:
    alice, tom, adam, erik = (calls(seeded, x) for x in ("alice", "tom", "adam", "erik"))
    call = alice.start(seeded.acme_case_chat).call
    mid = seeded.store.latest_messages(seeded.acme_case_chat, limit=1)[0].id
    # The same rule as end(): the starter or someone who took part, and only members.
    assert alice.may_end(call) and not adam.may_end(call) and not erik.may_end(call)
    assert policy.can_end_call(seeded.service("alice").user, call)
    assert alice.may_leave(call) and not adam.may_leave(call) and not erik.may_leave(call)
    tom.join(call.id)
    joined = tom.call(call.id)
    assert tom.may_end(joined) and tom.may_leave(joined) and tom.may_leave(joined, present=["tom"])
    # Readers refresh the call's row too; other companies cannot probe it.
    assert alice.call_message_id(call.id) == erik.call_message_id(call.id) == mid
    with pytest.raises(NotFound):
        calls(seeded, "bella").call_message_id(call.id)
    ended = alice.end(call.id)
    assert not alice.may_leave(ended, present=["alice"])


@pytest.mark.parametrize(
    ("login", "error"),
    [("bella", NotFound), ("erik", PermissionDenied), ("ada", PermissionDenied)],
)
def test_only_members_start_or_join(seeded: World, login: str, error: type[Exception]) -> None:
    call = calls(seeded, "alice").start(seeded.acme_case_chat).call
    before = seeded.snapshot()
    with pytest.raises(error):
        calls(seeded, login).start(seeded.acme_case_chat)
    with pytest.raises(error):
        calls(seeded, login).join(call.id)
    with pytest.raises(error):
        calls(seeded, login).leave(call.id)
    with pytest.raises(error):
        calls(seeded, login).end(call.id)
    assert seeded.snapshot() == before


def test_readers_see_calls_without_room_or_token(seeded: World) -> None:
    seeded.store.create_schema()
    info = calls(seeded, "alice", secret=SECRET, jitsi_app_id="cw", jitsi_app_secret="k" * 32).start(
        seeded.acme_case_chat
    )
    room = call_store.get_call(seeded.store, info.call.id).room
    token = dict(p.split("=", 1) for p in urlsplit(info.url).query.split("&"))["jwt"]
    erik = calls(seeded, "erik")  # engineer: reads every case chat, is no member of this one
    listed = erik.calls(seeded.acme_case_chat)
    assert [c.id for c in listed] == [info.call.id] and listed[0].room == ""
    assert erik.call(info.call.id).room == "" and erik.live_call(seeded.acme_case_chat).room == ""  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        calls(seeded, "bella").calls(seeded.acme_case_chat)
    dumped = json.dumps([e.payload for e in seeded.store.changes(after=0, limit=10_000)])
    assert room not in dumped and token not in dumped


def test_builtin_start_links_the_call_page_and_needs_a_secret(seeded: World) -> None:
    before = seeded.snapshot()
    with pytest.raises(InvalidInput, match="CONFERENCING_SECRET"):
        calls(seeded, "alice", video_provider="builtin").start(seeded.acme_case_chat)
    with pytest.raises(InvalidInput, match="STUN/TURN"):
        calls(seeded, "alice", video_provider="builtin", secret=SECRET, ice_servers="http://x").start(
            seeded.acme_case_chat
        )
    with pytest.raises(InvalidInput, match="Unknown video provider"):
        calls(seeded, "alice", video_provider="skype", secret=SECRET).start(seeded.acme_case_chat)
    assert seeded.snapshot() == before  # refused before anything was written
    info = calls(seeded, "alice", **BUILTIN).start(seeded.acme_case_chat)
    assert info.call.participants == ()  # the page records whoever presses Join
    parts = urlsplit(info.url)
    assert parts.path == "/voila/render/call.ipynb"
    assert param_from_query(parts.query, "call") == str(info.call.id)
    assert read_token(param_from_query(parts.query, "token"), SECRET) == "alice"
    page_path = calls(seeded, "tom", **BUILTIN).join(info.call.id, base_url="").url
    assert page_path.startswith("/voila/render/call.ipynb?")
    assert call_store.get_call(seeded.store, info.call.id).participants == ()


def _signal_rows(store: Store) -> int:
    with store.reading() as conn:
        return len(conn.execute(select(schema.call_signals)).all())


def test_signalling_between_participants_only(seeded: World) -> None:
    alice, tom, adam = (calls(seeded, x, **BUILTIN) for x in ("alice", "tom", "adam"))
    call = alice.start(seeded.acme_case_chat).call
    assert alice.enter(call.id).others == []
    joined = tom.enter(call.id)
    assert joined.others == ["alice"]
    sid = tom.send_signal(call.id, session="tom-page-1", to="alice", kind="offer", data=OFFER)
    got = alice.signals(call.id, session="alice-page-1")
    assert [(s.id, s.from_login, s.from_session, s.kind, s.data) for s in got] == [
        (sid, "tom", "tom-page-1", "offer", OFFER)
    ]
    answer = alice.send_signal(
        call.id, session="alice-page-1", to="tom", to_session="tom-page-1", kind="answer", data={"sdp": "a"}
    )
    assert [s.id for s in tom.signals(call.id, session="tom-page-1")] == [answer]
    assert tom.signals(call.id, session="tom-page-2") == []  # another page of Tom's gets nothing addressed elsewhere
    assert alice.signals(call.id, session="alice-page-1", after_id=sid) == []

    before = seeded.snapshot()
    with pytest.raises(PermissionDenied, match="Join the call first"):
        adam.send_signal(call.id, session="adam-page-1", to="alice", kind="offer", data=OFFER)  # member, not in call
    with pytest.raises(InvalidInput, match="not in this call"):
        tom.send_signal(call.id, session="tom-page-1", to="adam", kind="offer", data=OFFER)
    with pytest.raises(InvalidInput, match="kind"):
        tom.send_signal(call.id, session="tom-page-1", to="alice", kind="script", data={})
    with pytest.raises(InvalidInput, match="session"):
        tom.send_signal(call.id, session="x", to="alice", kind="offer", data=OFFER)
    with pytest.raises(LimitExceeded):
        tom.send_signal(call.id, session="tom-page-1", to="alice", kind="offer", data={"sdp": "x" * 40_000})
    with pytest.raises(InvalidInput, match="another participant"):
        tom.send_signal(call.id, session="tom-page-1", to="tom", kind="offer", data=OFFER)
    with pytest.raises(PermissionDenied):
        calls(seeded, "erik", **BUILTIN).send_signal(call.id, session="erik-page-1", to="tom", kind="offer", data={})
    with pytest.raises(NotFound):
        calls(seeded, "bella", **BUILTIN).signals(call.id, session="bella-page-1")
    assert seeded.snapshot() == before

    events = [e for e in seeded.store.changes(after=0, limit=10_000) if e.kind == SIGNAL_EVENT]
    assert [e.payload for e in events] == [{"call": call.id, "to": "alice"}, {"call": call.id, "to": "tom"}]
    assert all(e.conversation_id == seeded.acme_case_chat for e in events)

    tom.leave(call.id)  # Alice would be alone: the call ends and its signalling is deleted
    assert _signal_rows(seeded.store) == 0
    with pytest.raises(InvalidInput, match="ended"):
        alice.send_signal(call.id, session="alice-page-1", to="tom", kind="candidate", data={})


def test_join_cursor_skips_signals_of_an_earlier_visit(seeded: World) -> None:
    alice, tom, adam = (calls(seeded, x, **BUILTIN) for x in ("alice", "tom", "adam"))
    call = alice.start(seeded.acme_case_chat).call
    alice.enter(call.id)
    tom.enter(call.id)
    adam.enter(call.id)
    old = tom.send_signal(call.id, session="tom-page-1", to="alice", kind="offer", data=OFFER)
    alice.leave(call.id)  # Tom and Adam stay, so the call goes on
    again = alice.enter(call.id)  # Alice reloads her page
    assert again.cursor >= old and sorted(again.others) == ["adam", "tom"]
    assert alice.signals(call.id, session="alice-page-2", after_id=again.cursor) == []


def test_call_events_name_action_and_message(seeded: World) -> None:
    start = seeded.store.last_event_id()
    alice, tom = calls(seeded, "alice"), calls(seeded, "tom")
    info = alice.start(seeded.acme_case_chat)
    tom.join(info.call.id)
    tom.leave(info.call.id)
    mid = seeded.store.latest_messages(seeded.acme_case_chat, limit=1)[0].id
    got = [
        (e.payload["action"], e.payload["login"], e.payload["message_id"], e.ref_id)
        for e in seeded.store.changes(after=start)
        if e.kind == CALL_EVENT
    ]
    assert got == [
        ("start", "alice", mid, info.call.id),
        ("join", "tom", mid, info.call.id),
        ("end", "tom", mid, info.call.id),
    ]


def test_migration_0002_upgrades_a_database_made_before_it(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    store.create_schema()
    with store.engine.begin() as conn:  # make it look like a release before revision 0002
        conn.execute(text("DROP TABLE call_signals"))
        conn.execute(text("ALTER TABLE call_participants DROP COLUMN left_at"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert not inspect(store.engine).has_table("call_signals")
    upgrade(store.engine, "0002")
    insp = inspect(store.engine)
    assert insp.has_table("call_signals")
    assert "left_at" in {c["name"] for c in insp.get_columns("call_participants")}
    assert "ix_call_signals_to" in {i["name"] for i in insp.get_indexes("call_signals")}
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0002"
    store.close()


def _enter_at_once(pages: dict[str, CallService], call_id: int) -> dict[str, list[str]]:
    barrier = threading.Barrier(len(pages))
    seen: dict[str, list[str]] = {}

    def enter(who: str) -> None:
        barrier.wait()
        seen[who] = pages[who].enter(call_id).others

    threads = [threading.Thread(target=enter, args=(who,)) for who in pages]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return seen


def test_concurrent_joins_leave_exactly_one_offerer(seeded: World) -> None:
    # Of two pages joining at the same moment exactly one must see the other (and send the offer); if neither
    # did, they would wait for each other forever. Joins are serialised on the call row.
    pages = {"alice": calls(seeded, "alice", **BUILTIN), "tom": calls(seeded, "tom", **BUILTIN)}
    for _ in range(4):
        call = pages["alice"].start(seeded.acme_case_chat).call
        seen = _enter_at_once(pages, call.id)
        assert sorted(seen.values()) in ([[], ["alice"]], [[], ["tom"]]), seen
        pages["alice"].end(call.id)
