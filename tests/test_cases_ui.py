"""The case workflow's widgets without a browser: status control and chip, tile chips, filters, live updates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from support import World, load_xss_payloads

from conferencing_widgets.core.model import CaseStatus, NewMessage
from conferencing_widgets.store import Store
from conferencing_widgets.ui import ConferencingApp


def app(world: World, login: str) -> ConferencingApp:
    return ConferencingApp(world.service(login), live=False)


def feed(app_: ConferencingApp, after: int) -> None:
    """Hand the app every event after ``after``, as its live follower would."""
    app_.apply_events(app_.service.store.changes(after=after))


def test_staff_pick_a_status_and_the_customer_page_follows(sqlite_store: Store, seed: Callable[[Store], World]) -> None:
    world = seed(sqlite_store)
    tom, alice = app(world, "tom"), app(world, "alice")
    tom.open_conversation(world.acme_case_chat)
    alice.open_conversation(world.acme_case_chat)
    assert tom.cases.control.children[0] is tom.cases.select  # staff: a select
    assert alice.cases.control.children[0] is alice.cases.chip  # customer: a read-only chip
    assert "open" in alice.cases.chip.value and "cw-status-open" in alice.cases.chip.value
    after = sqlite_store.last_event_id()
    tom.cases.select.value = "waiting_on_customer"  # as if picked in the browser
    assert sqlite_store.get_case(world.acme_case.id).status is CaseStatus.WAITING_ON_CUSTOMER
    assert tom.messages.stream.window[-1]["kind"] == "system"
    feed(alice, after)
    assert "waiting on customer" in alice.cases.chip.value
    assert alice.cases.turn.value.startswith("waiting on you")
    assert "Tom Becker set the case to" in alice.messages.stream.window[-1]["html"]
    tile = next(t for t in alice.history.cases.tiles if t["id"] == world.acme_case_chat)
    assert tile["status"] == "waiting_on_customer" and tile["turn_mine"] is True
    assert "waiting on customer" in alice.details.case_status.value
    assert "First response" not in alice.details.case_status.value  # clocks are for staff
    assert "First response" in tom.details.case_status.value


def test_a_customer_reply_flips_the_case_on_both_pages(sqlite_store: Store, seed: Callable[[Store], World]) -> None:
    world = seed(sqlite_store)
    tom, alice = app(world, "tom"), app(world, "alice")
    tom.open_conversation(world.acme_case_chat)
    alice.open_conversation(world.acme_case_chat)
    tom.cases.set_status("waiting_on_customer")
    after = sqlite_store.last_event_id()
    assert alice.messages.send("Log attached.")
    assert sqlite_store.get_case(world.acme_case.id).status is CaseStatus.WAITING_ON_VENDOR
    assert alice.cases.turn.value.startswith("waiting on MachTool Service")
    feed(tom, after)
    assert tom.cases.select.value == "waiting_on_vendor" and tom.cases.turn.value.startswith("waiting on you")
    assert "the case is now “waiting on vendor”" in tom.messages.stream.window[-1]["html"]


def test_a_refused_change_shows_an_error_and_keeps_the_status(
    sqlite_store: Store, seed: Callable[[Store], World]
) -> None:
    world = seed(sqlite_store)
    alice = app(world, "alice")
    alice.open_conversation(world.acme_case_chat)
    assert not alice.cases.set_status("closed")
    assert "Only the vendor&#x27;s staff" in alice.messages.error.value  # escaped text
    assert sqlite_store.get_case(world.acme_case.id).status is CaseStatus.OPEN


def test_filters_order_and_the_overdue_highlight(sqlite_store: Store, seed: Callable[[Store], World]) -> None:
    world = seed(sqlite_store)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    late = sqlite_store.add_case(
        number="SR-1005", title="Hydraulics", group_id="acme", technicians=["tom"], priority="urgent", at=long_ago
    )
    chat = sqlite_store.create_conversation(
        kind="service_case", title="Hydraulics", created_by="alice", members=["tom"], case_id=late.id, at=long_ago
    )
    sqlite_store.post_message(NewMessage(conversation_id=chat.id, body="Leak!"), author="alice", at=long_ago)
    tom = app(world, "tom")
    tile = next(t for t in tom.history.cases.tiles if t["id"] == chat.id)
    assert tile["alert"] == "over" and tile["clock_label"].startswith("first response")
    tom.cases.set_filter("overdue")
    assert [t["id"] for t in tom.history.cases.tiles] == [chat.id]
    tom.cases.set_filter("all")
    tom.open_conversation(chat.id)
    tom.cases.set_status("resolved")
    assert [t["id"] for t in tom.history.cases.tiles][-1] == chat.id  # resolved: listed last
    tom.cases.set_filter("resolved")
    assert [t["id"] for t in tom.history.cases.tiles] == [chat.id]
    alice = app(world, "alice")
    assert [v for _label, v in alice.cases.filter.options] == ["all", "open", "mine", "resolved"]


def test_hostile_names_reach_tiles_and_details_as_text(sqlite_store: Store, seed: Callable[[Store], World]) -> None:
    world = seed(sqlite_store)
    payload = next(p for p in load_xss_payloads() if "<" in p)
    sqlite_store.add_group(id="vendor", name=payload[:200], is_vendor=True)
    sqlite_store.add_group(id="acme", name=payload[:200])
    alice = app(world, "alice")
    alice.open_conversation(world.acme_case_chat)
    tile = next(t for t in alice.history.cases.tiles if t["id"] == world.acme_case_chat)
    assert payload[:200] in tile["turn_label"]  # plain text: history.js sets it with textContent
    for html in (alice.details.case_status.value, alice.cases.turn.value, alice.cases.chip.value):
        assert payload[:200] not in html and "<script" not in html.lower() and "onerror=" not in html.lower()
