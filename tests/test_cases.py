"""Case status from the chat: rights, notices and events, the customer's reply flip, filters, and the clocks on
screen against ``export.metrics`` (the same definitions, checked with a frozen clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from support import World, load_xss_payloads, snapshot

from conferencing_widgets.cases import store as case_store
from conferencing_widgets.cases.clocks import Level, Side
from conferencing_widgets.cases.service import CaseService
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.errors import InvalidInput, NotFound, PermissionDenied
from conferencing_widgets.core.model import CasePriority, CaseStatus, ConversationKind, MessageKind, NewMessage
from conferencing_widgets.export import api as export
from conferencing_widgets.session import Session
from conferencing_widgets.store import Store

S = CaseStatus
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
M = timedelta(minutes=1)
H = timedelta(hours=1)


def cases_of(world: World, login: str) -> CaseService:
    return Session.of_service(world.service(login)).cases


def test_staff_set_the_status_with_a_notice_and_events_both_sides_see(seeded: World) -> None:
    store = seeded.store
    alice_feed, bella_feed = Service(store, "alice"), Service(store, "bella")
    after = store.last_event_id()
    case = cases_of(seeded, "tom").set_status(seeded.acme_case.id, "waiting_on_customer")
    assert case.status is S.WAITING_ON_CUSTOMER and store.get_case(case.id).status is S.WAITING_ON_CUSTOMER
    notice = store.latest_messages(seeded.acme_case_chat, limit=1)[0]
    assert notice.kind is MessageKind.SYSTEM and notice.author == "tom"
    assert notice.body == "Tom Becker set the case to “waiting on customer”."
    [change] = case_store.status_history(store, [case.id])[case.id]
    assert (change.from_status, change.to_status, change.by, change.automatic) == (
        S.OPEN,
        S.WAITING_ON_CUSTOMER,
        "tom",
        False,
    )
    assert notice.ref_id == change.id
    events = store.changes(after=after)
    assert [(e.kind, e.conversation_id) for e in events] == [
        ("message", seeded.acme_case_chat),
        ("case", seeded.acme_case_chat),
        ("case", None),
    ]
    # The customer's page sees the notice and the chat's case event, never the staff directory event.
    assert sorted(e.kind for e in alice_feed.visible(events)) == ["case", "message"]
    assert bella_feed.visible(events) == []  # another company's customer: nothing
    assert {e.kind for e in Service(store, "erik").visible(events)} == {"case", "message"}


def test_a_status_change_by_a_customer_is_refused_and_writes_nothing(seeded: World) -> None:
    before = snapshot(seeded.store)
    alice = cases_of(seeded, "alice")
    for status in S:
        if status is S.OPEN:
            continue
        with pytest.raises(PermissionDenied, match="Only the vendor's staff"):
            alice.set_status(seeded.acme_case.id, status)
    with pytest.raises(NotFound):
        alice.set_status(seeded.borg_case.id, "resolved")  # not even visible to her
    with pytest.raises(PermissionDenied):
        cases_of(seeded, "alice").set_priority(seeded.acme_case.id, "urgent")
    assert alice.allowed_statuses(seeded.acme_case.id) == []
    assert snapshot(seeded.store) == before


@pytest.mark.parametrize("bad", ["", "in progress", "<script>", "x" * 10_000, None, 7, "../open"])
def test_bad_statuses_get_a_clear_error(seeded: World, bad: object) -> None:
    before = snapshot(seeded.store)
    tom = cases_of(seeded, "tom")
    with pytest.raises(InvalidInput, match="Unknown case status"):
        tom.set_status(seeded.acme_case.id, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="already open"):
        tom.set_status(seeded.acme_case.id, "open")
    with pytest.raises(NotFound):
        tom.set_status(2**80, "resolved")
    with pytest.raises(InvalidInput, match="Unknown priority"):
        tom.set_priority(seeded.acme_case.id, "asap")
    with pytest.raises(InvalidInput, match="Unknown case filter"):
        tom.history("everything")
    assert snapshot(seeded.store) == before


def test_a_customer_may_reopen_only_their_resolved_case(sqlite_store: Store, seed: Callable[[Store], World]) -> None:
    world = seed(sqlite_store)
    tom, alice, bella = cases_of(world, "tom"), cases_of(world, "alice"), cases_of(world, "bella")
    tom.set_status(world.acme_case.id, "resolved")
    assert alice.allowed_statuses(world.acme_case.id) == [S.WAITING_ON_VENDOR]
    with pytest.raises(PermissionDenied):
        alice.set_status(world.acme_case.id, "open")  # reopening goes back to the vendor, nothing else
    assert alice.set_status(world.acme_case.id, "waiting_on_vendor").status is S.WAITING_ON_VENDOR
    tom.set_status(world.acme_case.id, "closed")
    with pytest.raises(PermissionDenied):
        alice.set_status(world.acme_case.id, "waiting_on_vendor")  # closed stays closed for customers
    with pytest.raises(NotFound):
        bella.set_status(world.acme_case.id, "waiting_on_vendor")


def test_a_customer_reply_flips_waiting_on_customer_to_waiting_on_vendor(seeded: World) -> None:
    store = seeded.store
    cases_of(seeded, "tom").set_status(seeded.acme_case.id, "waiting_on_customer")
    # Staff writing does not flip it.
    Session.of_service(seeded.service("tom")).chat.post(seeded.acme_case_chat, "Any news?")
    assert store.get_case(seeded.acme_case.id).status is S.WAITING_ON_CUSTOMER
    alice = Session.of_service(seeded.service("alice"))
    reply = alice.chat.post(seeded.acme_case_chat, "Here is the log.")
    assert store.get_case(seeded.acme_case.id).status is S.WAITING_ON_VENDOR
    last = store.latest_messages(seeded.acme_case_chat, limit=2)
    assert last[0].id == reply.id and last[1].kind is MessageKind.SYSTEM
    assert last[1].body == "Alice Moreau replied: the case is now “waiting on vendor”."
    flip = case_store.status_history(store, [seeded.acme_case.id])[seeded.acme_case.id][-1]
    assert flip.automatic and flip.by == "alice" and flip.at == reply.created_at
    # A second reply does nothing more; a retry with the same client id neither.
    count = store.message_count(seeded.acme_case_chat)
    alice.chat.post(seeded.acme_case_chat, "And a photo.")
    assert store.message_count(seeded.acme_case_chat) == count + 1


def test_a_customer_sharing_a_file_hands_the_case_back_and_keeps_their_draft(seeded: World) -> None:
    store = seeded.store
    cases_of(seeded, "tom").set_status(seeded.acme_case.id, "waiting_on_customer")
    alice = Session.of_service(seeded.service("alice"))
    alice.drafts.save(seeded.acme_case_chat, "The video shows the stall at")
    shared = alice.files.upload_bytes(seeded.acme_case_chat, "stall.mp4", b"\x00\x00\x00\x18ftypmp42" + b"0" * 64)
    assert store.get_case(seeded.acme_case.id).status is S.WAITING_ON_VENDOR
    flip = case_store.status_history(store, [seeded.acme_case.id])[seeded.acme_case.id][-1]
    assert flip.automatic and flip.by == "alice"
    kinds = [m.kind for m in store.latest_messages(seeded.acme_case_chat, limit=2)]
    assert kinds == [MessageKind.FILE, MessageKind.SYSTEM]
    assert shared.uploader == "alice"
    # The half-typed text stays: only a sent text empties the box.
    assert alice.drafts.get(seeded.acme_case_chat) == "The video shows the stall at"


def test_the_flip_never_overrides_a_concurrent_staff_change(
    sqlite_store: Store, seed: Callable[[Store], World]
) -> None:
    world = seed(sqlite_store)
    store = world.store
    assert (
        case_store.set_status(
            store, world.acme_case.id, expected=S.WAITING_ON_CUSTOMER, new=S.WAITING_ON_VENDOR, by="alice", notice="x"
        )
        is None
    )  # the case is open, not waiting on the customer: nothing written
    assert case_store.status_history(store, [world.acme_case.id])[world.acme_case.id] == []


def test_history_filters_and_resolved_chats_sort_below(sqlite_store: Store, seed: Callable[[Store], World]) -> None:
    world = seed(sqlite_store)
    store = world.store
    late = store.add_case(number="SR-1002", title="Door sensor", group_id="acme", technicians=["tom"])
    alice = Session.of_service(world.service("alice"))
    late_chat = alice.chat.create_conversation(kind=ConversationKind.SERVICE_CASE, title="Door", case_id=late.id).id
    alice.chat.post(late_chat, "The door sensor fails.")
    tom = cases_of(world, "tom")
    tom.set_status(late.id, "resolved")  # most recent activity, yet listed last
    assert [r.conversation.id for r in tom.history()] == [world.acme_case_chat, late_chat]
    erik = cases_of(world, "erik")  # reads every case chat
    assert [r.conversation.id for r in erik.history()] == [world.borg_case_chat, world.acme_case_chat, late_chat]
    assert [r.conversation.id for r in erik.history(limit=2)] == [world.borg_case_chat, world.acme_case_chat]
    assert [r.conversation.id for r in tom.history("resolved")] == [late_chat]
    assert late_chat not in [r.conversation.id for r in tom.history("open")]
    tom.set_status(world.acme_case.id, "waiting_on_customer")
    assert [r.conversation.id for r in alice.cases.history("mine")] == [world.acme_case_chat]
    assert world.acme_case_chat not in [r.conversation.id for r in tom.history("mine")]
    with pytest.raises(PermissionDenied):
        alice.cases.history("overdue")


def test_overdue_filter_finds_cases_past_their_target(sqlite_store: Store, seed: Callable[[Store], World]) -> None:
    world = seed(sqlite_store)
    store = world.store
    urgent = store.add_case(
        number="SR-1003", title="Axis crash", group_id="acme", technicians=["tom"], priority="urgent", at=T0
    )
    chat = store.create_conversation(
        kind="service_case", title="Crash", created_by="alice", members=["tom"], case_id=urgent.id, at=T0
    )
    store.post_message(NewMessage(conversation_id=chat.id, body="Axis crashed!"), author="alice", at=T0)
    tom = cases_of(world, "tom")
    assert [r.conversation.id for r in tom.history("overdue")] == [chat.id]  # hours ago, target 1 h
    view = tom.view(urgent.id, now=T0 + 50 * M)
    assert view.clocks.alert is Level.NEAR and view.case.priority is CasePriority.URGENT
    # Customers see whose turn, never the vendor's clocks.
    mine = cases_of(world, "alice").view(urgent.id, now=T0 + 2 * H)
    assert mine.clocks.first is None and mine.clocks.next is None and mine.clocks.turn is Side.VENDOR
    assert not mine.my_turn and mine.vendor_name == "MachTool Service"


def build_clock_story(store: Store, world: World) -> int:
    """A case with a first response, a pause on the customer, a reopen and a running next response (backdated)."""
    case = store.add_case(
        number="SR-1009", title="Tool changer", group_id="acme", technicians=["tom"], priority="urgent", at=T0
    )
    chat = store.create_conversation(
        kind="service_case", title="Changer", created_by="alice", members=["tom"], case_id=case.id, at=T0
    ).id

    def post(login: str, minutes: int, body: str = "msg") -> None:
        store.post_message(NewMessage(conversation_id=chat, body=body), author=login, at=T0 + minutes * M)

    tom = cases_of(world, "tom")
    post("alice", 0)
    tom.set_status(case.id, "waiting_on_customer", at=T0 + 10 * M)
    post("alice", 70)
    case_store.set_status(
        store,
        case.id,
        expected=S.WAITING_ON_CUSTOMER,
        new=S.WAITING_ON_VENDOR,
        by="alice",
        notice="flip",
        automatic=True,
        at=T0 + 70 * M,
    )
    post("tom", 100)  # first response: 10 + 30 = 40 minutes counted
    tom.set_status(case.id, "resolved", at=T0 + 120 * M)
    cases_of(world, "alice").set_status(case.id, "waiting_on_vendor", at=T0 + 24 * 60 * M)  # reopened next day
    return case.id


@pytest.mark.parametrize("hours", ["", "mon-fri 08:00-17:00"])
def test_the_clocks_on_screen_and_in_the_export_agree(seeded: World, hours: str) -> None:
    store = seeded.store
    case_id = build_clock_story(store, seeded)
    settings = Settings(business_hours=hours, business_timezone="UTC")
    now = T0 + 24 * 60 * M + 3 * H
    tom = Session.of_service(Service(store, "tom", settings)).cases
    row = export.metrics(store, settings=settings, now=now).cases.set_index("case_id").loc[case_id]
    view = tom.view(case_id, now=now)
    first, nxt = view.clocks.first, view.clocks.next
    assert first is not None and nxt is not None
    assert row["time_to_first_response"] == pd.Timedelta(first.elapsed) == pd.Timedelta(minutes=40)
    assert bool(row["first_response_met"]) is first.met is True
    assert row["time_to_next_response"] == pd.Timedelta(nxt.elapsed)
    assert pd.isna(row["next_response_met"]) and nxt.open
    assert row["clock_alert"] == view.clocks.alert.value
    assert row["turn"] == "vendor" and row["turn_since"] == pd.Timestamp(view.clocks.turn_since)
    assert str(row["priority"]) == "urgent"
    if hours:  # reopened Tuesday 09:00 UTC, read at 12:00: 3 working hours either way
        assert nxt.elapsed == 3 * H and view.clocks.alert is Level.NEAR
    else:
        assert nxt.elapsed == 3 * H
    # Every other case of the seeded world agrees too.
    all_rows = export.metrics(store, settings=settings, now=now).cases.set_index("case_id")
    for other in (seeded.acme_case.id, seeded.borg_case.id):
        shown = tom.view(other, now=now).clocks
        exported = all_rows.loc[other]
        if shown.first is None or shown.first.open:
            assert pd.isna(exported["time_to_first_response"])
        else:
            assert exported["time_to_first_response"] == pd.Timedelta(shown.first.elapsed)
        assert exported["clock_alert"] == shown.alert.value


def test_hostile_names_in_notices_stay_text(sqlite_store: Store, seed: Callable[[Store], World]) -> None:
    from conferencing_widgets.ui.rows import body_html

    world = seed(sqlite_store)
    store = world.store
    for i, payload in enumerate(load_xss_payloads()):
        store.add_user(login=f"x{i}", display_name=payload[:200] or "x", group_id="vendor", role="technician")
        staff = cases_of(world, f"x{i}")
        target = S.RESOLVED if store.get_case(world.acme_case.id).status is not S.RESOLVED else S.OPEN
        staff.set_status(world.acme_case.id, target)
        notice = store.latest_messages(world.acme_case_chat, limit=1)[0]
        html = body_html(notice, {})
        assert "<" not in html.removeprefix('<em class="cw-muted">').removesuffix("</em>")


def test_seeding_the_demo_again_keeps_status_changes(sqlite_store: Store) -> None:
    from conferencing_widgets.demo import seed_demo

    seed_demo(sqlite_store)
    case = sqlite_store.get_case_by_number("SR-2026-00042")
    Session(None, sqlite_store, "tom.tech").cases.set_status(case.id, "waiting_on_customer")
    seed_demo(sqlite_store)
    assert sqlite_store.get_case(case.id).status is S.WAITING_ON_CUSTOMER
