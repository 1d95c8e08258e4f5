"""Bad input gets a typed error and stores nothing (both backends)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support import World

from conferencing_widgets import (
    ConferencingError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    Service,
    Settings,
)

DEFAULT_LIMIT = Settings().max_message_chars


def refused(world: World, error: type[ConferencingError], action: Callable[[], Any], match: str | None = None) -> None:
    """``action`` raises exactly ``error`` and leaves every table and the event feed unchanged."""
    before = world.snapshot()
    with pytest.raises(ConferencingError, match=match) as info:
        action()
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value).__name__}: {info.value}"
    assert world.snapshot() == before


def test_default_message_limit_is_20000() -> None:
    assert DEFAULT_LIMIT == 20_000


def test_empty_or_whitespace_message(seeded: World) -> None:
    alice = seeded.service("alice")
    for body in ("", " ", "   \t ", "\n\n", "\r\n \r\n", "\x00", " \x00\n"):
        refused(seeded, InvalidInput, lambda body=body: alice.post(seeded.acme_direct, body), match="empty")


def test_message_over_the_limit(seeded: World) -> None:
    alice = seeded.service("alice")
    refused(seeded, LimitExceeded, lambda: alice.post(seeded.acme_direct, "x" * (DEFAULT_LIMIT + 1)), "20,000")
    assert issubclass(LimitExceeded, InvalidInput)  # callers catching InvalidInput also get it
    msg = alice.post(seeded.acme_direct, "y" * DEFAULT_LIMIT)  # exactly at the limit is fine
    assert len(seeded.store.get_message(msg.id).body) == DEFAULT_LIMIT
    small = seeded.service("alice", max_message_chars=10)
    refused(seeded, LimitExceeded, lambda: small.post(seeded.acme_direct, "z" * 11), "limit is 10")


def test_unknown_user(seeded: World) -> None:
    refused(seeded, NotFound, lambda: Service(seeded.store, "nobody"))
    alice = seeded.service("alice")
    refused(seeded, NotFound, lambda: alice.create_conversation(kind="direct", title="t", members=["adam", "nobody"]))
    refused(seeded, NotFound, lambda: alice.add_members(seeded.acme_direct, ["nobody"]), match="nobody")


def test_unknown_conversation(seeded: World) -> None:
    alice = seeded.service("alice")
    for bad in (987654, -1, "abc"):
        refused(seeded, NotFound, lambda bad=bad: alice.post(bad, "hello"))
        refused(seeded, NotFound, lambda bad=bad: alice.mark_read(bad))
        refused(seeded, NotFound, lambda bad=bad: alice.messages(bad))
    refused(seeded, NotFound, lambda: alice.add_members(987654, ["amy"]))


def test_unknown_case(seeded: World) -> None:
    tom = seeded.service("tom")
    refused(seeded, NotFound, lambda: tom.create_conversation(kind="service_case", title="t", case_id=987654))
    refused(seeded, NotFound, lambda: tom.case("SR-1001"))  # a number is not an id


def test_case_chat_for_another_companys_case(seeded: World) -> None:
    alice = seeded.service("alice")
    refused(
        seeded,
        NotFound,
        lambda: alice.create_conversation(kind="service_case", title="t", case_id=seeded.borg_case.id),
    )


def test_member_from_the_wrong_group(seeded: World) -> None:
    alice, tom = seeded.service("alice"), seeded.service("tom")
    refused(
        seeded,
        PermissionDenied,
        lambda: alice.create_conversation(kind="direct", title="t", members=["adam", "bella"]),
        match="own company",
    )
    refused(seeded, PermissionDenied, lambda: tom.add_members(seeded.vendor_direct, ["alice"]), match="vendor")
    refused(
        seeded,
        PermissionDenied,
        lambda: alice.create_conversation(kind="service_case", title="t", members=["tom"], case_id=seeded.acme_case.id),
    )


def test_malformed_conversation_requests(seeded: World) -> None:
    alice = seeded.service("alice")
    cases: list[Callable[[], Any]] = [
        lambda: alice.create_conversation(kind="group", title="t"),
        lambda: alice.create_conversation(kind="direct", title="   "),
        lambda: alice.create_conversation(kind="direct", title="t" * 201),
        lambda: alice.create_conversation(kind="direct", title="t", case_id=seeded.acme_case.id),
        lambda: alice.create_conversation(kind="service_case", title="t"),
    ]
    for action in cases:
        refused(seeded, InvalidInput, action)
    few = seeded.service("alice", max_members=2)
    refused(seeded, LimitExceeded, lambda: few.create_conversation(kind="direct", title="t", members=["adam", "amy"]))


def test_bad_client_ids(seeded: World) -> None:
    alice = seeded.service("alice")
    for bad in ("", "x" * 65, "tab\there"):
        refused(seeded, InvalidInput, lambda bad=bad: alice.post(seeded.acme_direct, "hi", client_id=bad))


def test_same_client_id_twice_yields_one_message(seeded: World) -> None:
    alice = seeded.service("alice")
    first = alice.post(seeded.acme_direct, "Sent once", client_id="retry-1")
    before = seeded.snapshot()
    again = seeded.service("alice").post(seeded.acme_direct, "Sent once", client_id="retry-1")  # e.g. a new page
    assert again == first and seeded.snapshot() == before
    assert [m.body for m in alice.messages(seeded.acme_direct)].count("Sent once") == 1
    # Reusing the id in another conversation is refused instead of answering with the other chat's message.
    refused(seeded, InvalidInput, lambda: alice.post(seeded.acme_case_chat, "Other", client_id="retry-1"))


def test_posting_rate_limit(seeded: World) -> None:
    # The limit counts the user's messages of the last minute in the store, seeding's one included.
    alice = seeded.service("alice", posts_per_minute=3)
    for i in range(2):
        alice.post(seeded.acme_direct, f"quick {i}")
    refused(seeded, LimitExceeded, lambda: alice.post(seeded.acme_direct, "one too many"), match="too fast")
