"""The access-rule matrix: every role x every action, allowed and denied, on both backends.

A denied action must raise the typed error the service promises (``NotFound`` for what the user may not even know
about, ``PermissionDenied`` for what they can see but not do) and write nothing: every table's row count and the
newest event id are compared before and after. Allowed actions are checked for their effect.

Rules (policy.py): members read; engineers and admins also read every service case chat but post only where they
are members; a direct chat stays within one group; customers add only their own group, vendor staff only vendor
people; customers open case chats only for their own company's cases; assigned technicians join automatically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from support import ACTOR_OF_ROLE, World, seed_world

from conferencing_widgets import (
    ConferencingError,
    ConversationKind,
    NotFound,
    PermissionDenied,
    Role,
    Service,
    Store,
)

C, T, E, A = Role.CUSTOMER, Role.TECHNICIAN, Role.ENGINEER, Role.ADMIN
OK = "allowed"
Outcome = Any  # OK, NotFound or PermissionDenied


def everyone(outcome: Outcome) -> dict[Role, Outcome]:
    return dict.fromkeys(Role, outcome)


# Per-role parameters: the actor's own direct chat, a same-group person not yet in it, and people of other groups.
MY_DIRECT = {C: "acme_direct", T: "vendor_direct", E: "staff_direct", A: "staff_direct"}
NEW_OWN_GROUP = {C: "amy", T: "erik", E: "tom", A: "tina"}
OWN_GROUP_PEER = {C: "adam", T: "tina", E: "tom", A: "tina"}
OTHER_SIDE = {C: "tina", T: "alice", E: "alice", A: "alice"}
OTHER_COMPANY = {C: "bella", T: "bella", E: "bella", A: "bella"}

HISTORY = {
    C: {"acme_case_chat", "acme_direct"},
    T: {"acme_case_chat", "vendor_direct"},
    E: {"acme_case_chat", "borg_case_chat", "staff_direct"},
    A: {"acme_case_chat", "borg_case_chat", "staff_direct"},
}
ADDABLE = {
    C: {"adam", "amy"},  # not dora (disabled), not bella (other company), not the vendor
    T: {"tina", "erik", "ada"},  # not victor (disabled), no customers
    E: {"tom", "tina", "ada"},
    A: {"tom", "tina", "erik"},
}


@dataclass(frozen=True)
class Action:
    name: str
    run: Callable[[World, Service, Role], None]
    """Performs the action and asserts its effect when allowed (raises the service's error when denied)."""
    expected: dict[Role, Outcome]
    writes: bool = True
    """False for reads: then even an allowed action must leave the store unchanged."""


def read(conv: str) -> Callable[[World, Service, Role], None]:
    def run(w: World, svc: Service, role: Role) -> None:
        cid = w.conversations[conv]
        assert svc.conversation(cid).id == cid
        msgs = svc.messages(cid)
        assert msgs and {m.conversation_id for m in msgs} == {cid}
        assert {u.login for u in svc.members(cid)} == set(w.store.members(cid))

    return run


def post(conv: str) -> Callable[[World, Service, Role], None]:
    def run(w: World, svc: Service, role: Role) -> None:
        cid = w.conversations[conv]
        last = w.store.last_event_id()
        msg = svc.post(cid, f"from {svc.login}")
        assert w.store.get_message(msg.id).body == f"from {svc.login}" and msg.author == svc.login
        assert [e.ref_id for e in w.store.changes(after=last) if e.kind == "message"] == [msg.id]

    return run


def create_direct(other: dict[Role, str]) -> Callable[[World, Service, Role], None]:
    def run(w: World, svc: Service, role: Role) -> None:
        conv = svc.create_conversation(kind="direct", title="New chat", members=[other[role]])
        assert conv.kind is ConversationKind.DIRECT and conv.case_id is None
        assert set(w.store.members(conv.id)) == {svc.login, other[role]}

    return run


def create_case_chat(case: str, members: dict[Role, str] | None = None) -> Callable[[World, Service, Role], None]:
    def run(w: World, svc: Service, role: Role) -> None:
        the_case = getattr(w, case)
        chosen = [members[role]] if members else []
        conv = svc.create_conversation(kind="service_case", title="About it", members=chosen, case_id=the_case.id)
        assert conv.case_id == the_case.id
        # The case's assigned technicians join automatically.
        assert set(w.store.members(conv.id)) == {svc.login, *chosen, *the_case.technicians}

    return run


def add_member(conv: str | dict[Role, str], who: dict[Role, str]) -> Callable[[World, Service, Role], None]:
    def run(w: World, svc: Service, role: Role) -> None:
        cid = w.conversations[conv if isinstance(conv, str) else conv[role]]
        assert not w.store.is_member(cid, who[role])
        assert svc.add_members(cid, [who[role]]) == [who[role]]
        assert w.store.is_member(cid, who[role])

    return run


def mark_read(conv: str) -> Callable[[World, Service, Role], None]:
    def run(w: World, svc: Service, role: Role) -> None:
        cid = w.conversations[conv]
        newest = w.store.latest_messages(cid, limit=1)[0].id
        assert svc.mark_read(cid) == newest
        assert svc.unread(cid) == 0

    return run


def join(conv: str) -> Callable[[World, Service, Role], None]:
    def run(w: World, svc: Service, role: Role) -> None:
        cid = w.conversations[conv]
        assert svc.login in svc.join_case_chat(cid).members
        assert w.store.is_member(cid, svc.login) and svc.can_post(cid)

    return run


def history(w: World, svc: Service, role: Role) -> None:
    ids = {s.conversation.id for s in svc.history()}
    assert ids == {w.conversations[n] for n in HISTORY[role]}


def people(kind: str, case: str | None = None) -> Callable[[World, Service, Role], None]:
    def run(w: World, svc: Service, role: Role) -> None:
        case_id = getattr(w, case).id if case else None
        assert {u.login for u in svc.people_i_may_add(kind, case_id)} == ADDABLE[role]

    return run


ACTIONS = [
    Action("read own company's case chat", read("acme_case_chat"), everyone(OK), writes=False),
    Action(
        "read other company's case chat",
        read("borg_case_chat"),
        {C: NotFound, T: NotFound, E: OK, A: OK},
        writes=False,
    ),
    Action("read ACME direct chat", read("acme_direct"), {C: OK, T: NotFound, E: NotFound, A: NotFound}, writes=False),
    Action(
        "read technicians' direct chat",
        read("vendor_direct"),
        {C: NotFound, T: OK, E: NotFound, A: NotFound},
        writes=False,
    ),
    Action("read staff direct chat", read("staff_direct"), {C: NotFound, T: NotFound, E: OK, A: OK}, writes=False),
    Action("post in ACME case chat", post("acme_case_chat"), {C: OK, T: OK, E: PermissionDenied, A: PermissionDenied}),
    Action("post in Borg case chat", post("borg_case_chat"), {C: NotFound, T: NotFound, E: OK, A: PermissionDenied}),
    Action("post in ACME direct chat", post("acme_direct"), {C: OK, T: NotFound, E: NotFound, A: NotFound}),
    Action("post in technicians' direct chat", post("vendor_direct"), {C: NotFound, T: OK, E: NotFound, A: NotFound}),
    Action("post in staff direct chat", post("staff_direct"), {C: NotFound, T: NotFound, E: OK, A: OK}),
    Action("create direct chat with own group", create_direct(OWN_GROUP_PEER), everyone(OK)),
    Action("create direct chat with the other side", create_direct(OTHER_SIDE), everyone(PermissionDenied)),
    Action("create direct chat with another company", create_direct(OTHER_COMPANY), everyone(PermissionDenied)),
    Action("create case chat for ACME's case", create_case_chat("acme_case"), everyone(OK)),
    Action("create case chat for Borg's case", create_case_chat("borg_case"), {C: NotFound, T: OK, E: OK, A: OK}),
    Action("create case chat with own-group member", create_case_chat("acme_case", OWN_GROUP_PEER), everyone(OK)),
    Action(
        "create case chat with the other side", create_case_chat("acme_case", OTHER_SIDE), everyone(PermissionDenied)
    ),
    Action("add own-group member to own direct chat", add_member(MY_DIRECT, NEW_OWN_GROUP), everyone(OK)),
    Action("add other-side member to own direct chat", add_member(MY_DIRECT, OTHER_SIDE), everyone(PermissionDenied)),
    Action(
        "add other-company member to own direct chat",
        add_member(MY_DIRECT, OTHER_COMPANY),
        everyone(PermissionDenied),
    ),
    Action(
        "add own-side member to ACME case chat",
        add_member("acme_case_chat", {C: "amy", T: "tina", E: "tina", A: "tina"}),
        {C: OK, T: OK, E: PermissionDenied, A: PermissionDenied},  # engineers/admins only read it
    ),
    Action(
        "add other-side member to ACME case chat",
        add_member("acme_case_chat", {C: "tina", T: "amy", E: "amy", A: "amy"}),
        {C: PermissionDenied, T: PermissionDenied, E: PermissionDenied, A: PermissionDenied},
    ),
    Action(
        "add vendor member to Borg case chat",
        add_member("borg_case_chat", {C: "amy", T: "ada", E: "tom", A: "tom"}),
        {C: NotFound, T: NotFound, E: OK, A: PermissionDenied},
    ),
    # Engineers and admins join a case chat they only read, to answer in it; members are already in.
    Action("join ACME case chat", join("acme_case_chat"), everyone(OK)),
    Action("join Borg case chat", join("borg_case_chat"), {C: NotFound, T: NotFound, E: OK, A: OK}),
    Action("join ACME direct chat", join("acme_direct"), {C: OK, T: NotFound, E: NotFound, A: NotFound}),
    Action(
        "join technicians' direct chat", join("vendor_direct"), {C: NotFound, T: OK, E: NotFound, A: NotFound}
    ),
    Action("mark ACME case chat read", mark_read("acme_case_chat"), everyone(OK)),
    Action("mark ACME direct chat read", mark_read("acme_direct"), {C: OK, T: NotFound, E: NotFound, A: NotFound}),
    Action("mark Borg case chat read", mark_read("borg_case_chat"), {C: NotFound, T: NotFound, E: OK, A: OK}),
    Action("list history", history, everyone(OK), writes=False),
    Action("people I may add (direct)", people("direct"), everyone(OK), writes=False),
    Action("people I may add (ACME case)", people("service_case", "acme_case"), everyone(OK), writes=False),
    Action(
        "people I may add (Borg case)",
        people("service_case", "borg_case"),
        {C: NotFound, T: OK, E: OK, A: OK},
        writes=False,
    ),
]


def check(world: World, role: Role, action: Action) -> str | None:
    """None when the action behaved as the matrix says, else what went wrong."""
    expected = action.expected[role]
    svc = world.service(ACTOR_OF_ROLE[role])  # fresh: no cached read rights from earlier rows
    before = world.snapshot()
    try:
        action.run(world, svc, role)
    except ConferencingError as exc:
        if expected is OK:
            return f"expected allowed, got {type(exc).__name__}: {exc}"
        if type(exc) is not expected:
            return f"expected {expected.__name__}, got {type(exc).__name__}: {exc}"
        if world.snapshot() != before:
            return f"denied ({type(exc).__name__}) but wrote: {before} -> {world.snapshot()}"
        return None
    except AssertionError as exc:
        return f"allowed, but the effect is wrong: {exc}"
    if expected is not OK:
        return f"expected {expected.__name__}, but it was allowed"
    if not action.writes and world.snapshot() != before:
        return "a read wrote to the store"
    return None


def test_matrix_covers_every_role() -> None:
    assert all(set(a.expected) == set(Role) for a in ACTIONS)
    assert set(ACTOR_OF_ROLE) == set(Role)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_access_matrix(store: Store, role: Role) -> None:
    world = seed_world(store)
    # Rows share one world: reads first (they describe the seeded state), then writes, whose parameters are chosen
    # so that no row depends on another's effect.
    rows = sorted(ACTIONS, key=lambda a: a.writes)
    failures = {a.name: problem for a in rows if (problem := check(world, role, a)) is not None}
    assert not failures, "\n".join(f"{role.value} / {name}: {why}" for name, why in failures.items())


def test_disabled_users_cannot_act(store: Store) -> None:
    world = seed_world(store)
    before = world.snapshot()
    for login in ("dora", "victor"):
        with pytest.raises(PermissionDenied, match="disabled"):
            world.service(login)
    # Disabled accounts can be neither added nor offered.
    with pytest.raises(PermissionDenied):
        world.service("alice").add_members(world.acme_direct, ["dora"])
    with pytest.raises(PermissionDenied):
        world.service("tom").create_conversation(kind="direct", title="x", members=["victor"])
    assert world.snapshot() == before


def test_feed_events_are_filtered_by_read_rights(store: Store) -> None:
    world = seed_world(store)
    events = store.changes(after=0)
    by_conv = {n: [e for e in events if e.conversation_id == cid] for n, cid in world.conversations.items()}
    for role, login in ACTOR_OF_ROLE.items():
        svc = world.service(login)
        visible = svc.visible(events)
        for name, conv_events in by_conv.items():
            readable = name in HISTORY[role]
            assert conv_events and all((e in visible) == readable for e in conv_events), (role, name)
        # Read marks are private; vendor-wide record changes only reach vendor staff.
        assert all(e.payload.get("login") == login for e in visible if e.kind == "read")
        assert any(e.kind == "case" for e in visible) == (role is not Role.CUSTOMER)


def test_case_conversations_follow_read_rights(store: Store) -> None:
    world = seed_world(store)
    expected = {
        "alice": {world.acme_case.id: {world.acme_case_chat}, world.borg_case.id: NotFound},
        "tom": {world.acme_case.id: {world.acme_case_chat}, world.borg_case.id: set()},
        "erik": {world.acme_case.id: {world.acme_case_chat}, world.borg_case.id: {world.borg_case_chat}},
    }
    for login, per_case in expected.items():
        svc = world.service(login)
        for case_id, want in per_case.items():
            if want is NotFound:
                with pytest.raises(NotFound):
                    svc.case_conversations(case_id)
            else:
                assert {c.id for c in svc.case_conversations(case_id)} == want, (login, case_id)
