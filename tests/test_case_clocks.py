"""Response clocks and whose turn, as pure functions with a frozen clock: pauses, business hours, reopen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conferencing_widgets.cases.clocks import Level, Post, Side, case_clocks
from conferencing_widgets.core.config import Settings, load_settings
from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.model import CaseStatus, StatusChange
from conferencing_widgets.core.worktime import Targets, parse_business_hours

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
M = timedelta(minutes=1)
H = timedelta(hours=1)
URGENT = Targets(first=1 * H, next=4 * H)
S = CaseStatus


def customer(at: datetime) -> Post:
    return Post(at=at, vendor=False)


def vendor(at: datetime) -> Post:
    return Post(at=at, vendor=True)


def changes(*steps: tuple[datetime, CaseStatus, CaseStatus]) -> list[StatusChange]:
    return [
        StatusChange(id=i, case_id=1, from_status=a, to_status=b, by="tom", at=at)
        for i, (at, a, b) in enumerate(steps, start=1)
    ]


def test_first_response_is_the_time_to_the_first_vendor_answer() -> None:
    posts = [customer(T0), customer(T0 + 5 * M), vendor(T0 + 30 * M)]
    clocks = case_clocks(status=S.OPEN, posts=posts, changes=[], now=T0 + 2 * H, targets=URGENT, created_at=T0)
    assert clocks.first is not None and clocks.first.elapsed == 30 * M
    assert not clocks.first.open and clocks.first.met is True and clocks.next is None
    assert clocks.alert is Level.OK and clocks.turn is Side.VENDOR and clocks.turn_since == T0


def test_a_running_clock_turns_near_then_over_its_target() -> None:
    posts = [customer(T0)]
    near = case_clocks(status=S.OPEN, posts=posts, changes=[], now=T0 + 50 * M, targets=URGENT)
    assert near.first is not None and near.first.running and near.first.elapsed == 50 * M
    assert near.alert is Level.NEAR and not near.overdue
    over = case_clocks(status=S.OPEN, posts=posts, changes=[], now=T0 + 61 * M, targets=URGENT)
    assert over.alert is Level.OVER and over.overdue
    untargeted = case_clocks(status=S.OPEN, posts=posts, changes=[], now=T0 + 30 * H)
    assert untargeted.alert is Level.OK and untargeted.first is not None and untargeted.first.target is None


def test_clocks_pause_while_waiting_on_the_customer() -> None:
    # The customer writes; after 15 min staff set "waiting on customer" (asking through the status); the
    # customer answers an hour later (the reply flips the case back), the vendor 30 min after that.
    history = changes(
        (T0 + 15 * M, S.OPEN, S.WAITING_ON_CUSTOMER),
        (T0 + 75 * M, S.WAITING_ON_CUSTOMER, S.WAITING_ON_VENDOR),
    )
    posts = [customer(T0), customer(T0 + 75 * M), vendor(T0 + 105 * M)]
    paused = case_clocks(
        status=S.WAITING_ON_CUSTOMER, posts=posts[:1], changes=history[:1], now=T0 + 60 * M, targets=URGENT
    )
    assert paused.first is not None and paused.first.open and not paused.first.running
    assert paused.first.elapsed == 15 * M  # 45 min of waiting on the customer do not count
    assert paused.turn is Side.CUSTOMER and paused.turn_since == T0 + 15 * M
    done = case_clocks(status=S.WAITING_ON_VENDOR, posts=posts, changes=history, now=T0 + 3 * H, targets=URGENT)
    assert done.first is not None and done.first.elapsed == 45 * M and done.first.met is True
    assert done.next is None  # the customer's second message was in the same wait
    assert done.turn is Side.VENDOR and done.turn_since == T0 + 75 * M


def test_next_response_starts_at_a_customer_message_after_an_answer() -> None:
    posts = [customer(T0), vendor(T0 + 10 * M), customer(T0 + 2 * H), customer(T0 + 3 * H)]
    clocks = case_clocks(status=S.OPEN, posts=posts, changes=[], now=T0 + 7 * H, targets=URGENT)
    assert clocks.first is not None and clocks.first.elapsed == 10 * M
    assert clocks.next is not None and clocks.next.open and clocks.next.elapsed == 5 * H
    assert clocks.next.level is Level.OVER and clocks.overdue
    assert clocks.turn is Side.VENDOR and clocks.turn_since == T0 + 2 * H  # since the customer began to wait
    answered = case_clocks(
        status=S.OPEN, posts=[*posts, vendor(T0 + 5 * H)], changes=[], now=T0 + 7 * H, targets=URGENT
    )
    assert answered.next is not None and answered.next.elapsed == 3 * H and answered.next.met is True
    assert not answered.overdue  # an answered clock never lights the tile


def test_business_hours_count_only_working_time() -> None:
    hours = parse_business_hours("mon-fri 08:00-17:00", "Europe/Warsaw")
    friday = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 16:00 in Warsaw: one working hour left
    monday = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)  # 10:00 in Warsaw: two working hours in
    posts = [customer(friday), vendor(monday)]
    clocks = case_clocks(status=S.OPEN, posts=posts, changes=[], now=monday, targets=URGENT, hours=hours)
    assert clocks.first is not None and clocks.first.elapsed == 3 * H and clocks.first.met is False
    weekend = case_clocks(
        status=S.OPEN, posts=posts[:1], changes=[], now=friday + timedelta(days=2), targets=URGENT, hours=hours
    )
    assert weekend.first is not None and weekend.first.elapsed == 1 * H  # Saturday and Sunday do not count
    wall = case_clocks(status=S.OPEN, posts=posts, changes=[], now=monday, targets=URGENT)
    assert wall.first is not None and wall.first.elapsed == monday - friday


def test_resolving_drops_the_open_wait_and_reopening_starts_one() -> None:
    resolved_at, reopened_at = T0 + 2 * H, T0 + 26 * H
    posts = [customer(T0), vendor(T0 + 20 * M), customer(T0 + 1 * H)]  # "thanks, works now"
    history = changes((resolved_at, S.OPEN, S.RESOLVED), (reopened_at, S.RESOLVED, S.WAITING_ON_VENDOR))
    resolved = case_clocks(status=S.RESOLVED, posts=posts, changes=history[:1], now=T0 + 20 * H, targets=URGENT)
    assert resolved.next is None and resolved.alert is Level.OK and resolved.turn is None
    assert [w.answered for w in resolved.waits] == [True, False] and resolved.waits[1].end == resolved_at
    reopened = case_clocks(
        status=S.WAITING_ON_VENDOR, posts=posts, changes=history, now=reopened_at + 5 * H, targets=URGENT
    )
    assert reopened.next is not None and reopened.next.open and reopened.next.elapsed == 5 * H
    assert reopened.overdue and reopened.turn is Side.VENDOR and reopened.turn_since == reopened_at
    # The first response stays what it was; the resolved day counted nowhere.
    assert reopened.first is not None and reopened.first.elapsed == 20 * M


def test_a_reopen_before_any_answer_is_still_the_first_response() -> None:
    history = changes((T0 + 1 * H, S.OPEN, S.CLOSED), (T0 + 5 * H, S.CLOSED, S.OPEN))
    posts = [customer(T0), vendor(T0 + 6 * H)]
    clocks = case_clocks(status=S.OPEN, posts=posts, changes=history, now=T0 + 8 * H, targets=URGENT)
    assert clocks.first is not None and clocks.first.elapsed == 1 * H and clocks.next is None


def test_no_customer_message_means_no_clock() -> None:
    clocks = case_clocks(status=S.OPEN, posts=[vendor(T0)], changes=[], now=T0 + 9 * H, targets=URGENT)
    assert clocks.first is None and clocks.next is None and clocks.alert is Level.OK


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("response_targets", "urgent=1h", "PRIORITY=FIRST/NEXT"),
        ("response_targets", "asap=1h/2h", "PRIORITY=FIRST/NEXT"),
        ("response_targets", "urgent=0h/2h", "duration"),
        ("response_targets", "urgent=soon/2h", "duration"),
        ("business_hours", "weekdays 8-17", "mon-fri 08:00-17:00"),
        ("business_hours", "mon-fri 17:00-08:00", "ends before it starts"),
        ("business_hours", "mon-fri 08:00-25:00", "impossible time"),
        ("business_timezone", "Mars/Olympus", "time zone"),
        ("business_timezone", "../../etc/passwd", "time zone"),
    ],
)
def test_malformed_clock_settings_are_refused_when_read(name: str, value: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        load_settings(env={f"CONFERENCING_{name.upper()}": value})


def test_clock_settings_parse() -> None:
    settings = load_settings(
        env={
            "CONFERENCING_RESPONSE_TARGETS": "urgent=30m/2h, low=2d/5d",
            "CONFERENCING_BUSINESS_HOURS": "mon-fri 08:00-17:00, sat 09:00-12:00",
            "CONFERENCING_BUSINESS_TIMEZONE": "Europe/Warsaw",
        }
    )
    assert settings.targets() == {
        "urgent": Targets(first=30 * M, next=2 * H),
        "low": Targets(first=timedelta(days=2), next=timedelta(days=5)),
    }
    assert len(settings.hours().windows) == 2
    assert Settings().targets()["urgent"] == URGENT and Settings().hours().always
