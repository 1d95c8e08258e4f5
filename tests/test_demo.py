"""The demo seed: rich (two weeks of a case chat, files, a board, a call, every status), backdated and idempotent."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conferencing_widgets.cases.clocks import Side
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.model import CaseStatus, MessageKind
from conferencing_widgets.demo import DemoLogins, seed_demo
from conferencing_widgets.demo.media import manual_pdf, spindle_log
from conferencing_widgets.session import Session
from conferencing_widgets.store import Store, utcnow
from conferencing_widgets.store import schema as s

TABLES = (
    s.users,
    s.service_cases,
    s.conversations,
    s.messages,
    s.message_reactions,
    s.attachments,
    s.whiteboards,
    s.strokes,
    s.calls,
    s.case_status_history,
    s.case_signoffs,
    s.events,
)


def counts(store: Store) -> dict[str, int]:
    with store.reading() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in TABLES}


@pytest.fixture()
def demo(store: Store, tmp_path: Path) -> tuple[Store, Settings]:
    settings = Settings(data_dir=tmp_path)
    assert seed_demo(store, settings) == DemoLogins()
    return store, settings


def spindle_chat(session: Session) -> int:
    rows = session.chat.history(limit=50)
    return next(c.conversation.id for c in rows if c.conversation.title == "Spindle vibration")


def test_seeding_twice_creates_nothing_new(demo: tuple[Store, Settings]) -> None:
    store, settings = demo
    before = counts(store)
    seed_demo(store, settings)
    assert counts(store) == before
    assert before["messages"] > 200 and before["calls"] == 1
    assert before["attachments"] == 5  # photo, manual, log, and the sealed record with its manifest
    assert before["case_signoffs"] == 2


def test_the_spindle_chat_spans_two_weeks_with_replies_reactions_files_board_and_call(
    demo: tuple[Store, Settings],
) -> None:
    store, _settings = demo
    tom = Session(_settings, store, "tom.tech")
    cid = spindle_chat(tom)
    msgs = tom.chat.messages(cid, limit=1000)
    assert 190 <= len(msgs) <= 230
    span = msgs[-1].created_at - msgs[0].created_at
    assert timedelta(days=13) < span < timedelta(days=15)
    assert [m.created_at for m in msgs] == sorted(m.created_at for m in msgs)  # ids follow time
    assert all(m.created_at <= utcnow() for m in msgs)
    assert sum(m.reply_to_id is not None for m in msgs) >= 10
    reactions = tom.chat.reactions(cid, [m.id for m in msgs])
    assert sum(len(v) for v in reactions.values()) >= 20
    assert sum(len(v) for v in tom.chat.mentions_of(msgs).values()) >= 2  # stored, so badges and filters work
    kinds = {m.kind for m in msgs}
    assert {MessageKind.FILE, MessageKind.WHITEBOARD, MessageKind.CALL, MessageKind.SYSTEM} <= kinds
    files = {a.name: a for a in tom.files.attachments(cid)}
    assert set(files) == {"VMC-850 work area.jpg", "spindle-log-VMC850-1187.csv", "VMC-850 spindle service manual.pdf"}
    assert tom.files.read(files["VMC-850 spindle service manual.pdf"].id)[1].startswith(b"%PDF-1.4")
    (board,) = tom.boards.boards(cid)
    assert board.background_attachment_id == files["VMC-850 work area.jpg"].id
    assert len(tom.boards.strokes(board.id)) >= 8
    assert tom.boards.png(board.id)  # the photo and the strokes render
    (call,) = tom.files.media(cid).calls
    with store.reading() as conn:
        joined = conn.execute(select(s.call_participants).where(s.call_participants.c.call_id == call.id)).all()
    assert {p.login for p in joined} == {"tom.tech", "alice", "adam"}
    assert all(call.started_at <= p.joined_at < p.left_at == call.ended_at for p in joined)
    assert call.ended_at is not None and timedelta(minutes=30) <= call.ended_at - call.started_at <= timedelta(hours=1)


def test_one_case_in_each_status_with_real_clocks_and_one_overdue(demo: tuple[Store, Settings]) -> None:
    store, settings = demo
    tom = Session(settings, store, "tom.tech")
    cases = store.cases()
    assert {c.status for c in cases} == set(CaseStatus)
    views = tom.cases.views(cases)
    overdue = [v.case.number for v in views.values() if v.clocks.overdue]
    assert overdue == ["SR-2026-00061"]
    for v in views.values():
        if v.clocks.turn is not None:  # "waiting on … · 0 min" was the old seed's tell
            assert v.clocks.turn_since is not None and utcnow() - v.clocks.turn_since > timedelta(minutes=30)
    spindle = store.get_case_by_number("SR-2026-00042")
    assert spindle.status is CaseStatus.WAITING_ON_VENDOR and views[spindle.id].clocks.turn is Side.VENDOR
    assert utcnow() - spindle.created_at > timedelta(days=14)


def test_one_case_waits_for_sign_off_and_one_is_signed_and_sealed(demo: tuple[Store, Settings]) -> None:
    store, settings = demo
    axis, door = (store.get_case_by_number(n) for n in ("SR-2026-00070", "SR-2026-00078"))
    assert axis.status is CaseStatus.RESOLVED and door.status is CaseStatus.CLOSED
    celina, bruno = Session(settings, store, "celina"), Session(settings, store, "bruno")
    axis_chat = next(c.id for c in store.conversations_of_case(axis.id))
    assert celina.signoff.may_sign(axis_chat) and celina.signoff.pending(axis_chat) is not None
    [sealed] = bruno.signoff.signoffs(door.id)
    assert sealed.signed and sealed.signer_name == "Bruno Weiss" and sealed.signed_at is not None
    assert utcnow() - sealed.signed_at > timedelta(days=2)  # backdated like the rest of the timeline
    # The manifest's hashes hold for the stored record.
    assert sealed.manifest_attachment_id is not None and sealed.bundle_attachment_id is not None
    manifest = json.loads(bruno.files.read(sealed.manifest_attachment_id)[1])
    html = bruno.files.read(sealed.bundle_attachment_id)[1]
    assert manifest["bundle"]["sha256"] == hashlib.sha256(html).hexdigest()
    assert manifest["signer_name"] == "Bruno Weiss" and manifest["case"]["number"] == "SR-2026-00078"


def test_the_spindle_chat_has_an_internal_note_only_staff_see(demo: tuple[Store, Settings]) -> None:
    store, settings = demo
    tom, alice = Session(settings, store, "tom.tech"), Session(settings, store, "alice")
    cid = spindle_chat(tom)
    notes = [m for m in tom.chat.messages(cid, limit=500) if m.kind is MessageKind.NOTE]
    assert len(notes) == 1 and notes[0].author == "tom.tech"
    assert not any(m.kind is MessageKind.NOTE for m in alice.chat.messages(cid, limit=500))


def test_without_a_blob_store_the_chats_are_seeded_without_files(store: Store) -> None:
    seed_demo(store)
    assert counts(store)["attachments"] == 0 and counts(store)["messages"] > 150


def test_generated_media_are_deterministic() -> None:
    assert manual_pdf() == manual_pdf()
    csv, data = spindle_log()
    assert csv == spindle_log()[0] and data.shape == (600, 5)
    assert csv.splitlines()[0] == b"timestamp,speed_rpm,load_pct,vibration_mm_s,bearing_temp_c"
