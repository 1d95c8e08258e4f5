"""Realistic demo data, seeded idempotently: the vendor, three customers, cases and conversations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from conferencing_widgets.core.model import ConversationKind, NewMessage, Role
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.store import Store, utcnow

VENDOR = ("machtool", "MachTool Service GmbH")
CUSTOMERS = [
    ("acme", "ACME Precision Parts"),
    ("borg", "Borg Fahrzeugteile AG"),
    ("cobalt", "Cobalt Aerospace Sp. z o.o."),
]
USERS = [
    ("tom.tech", "Tom Becker", "machtool", Role.TECHNICIAN),
    ("tina.tech", "Tina Nowak", "machtool", Role.TECHNICIAN),
    ("erik.eng", "Erik Lindqvist", "machtool", Role.ENGINEER),
    ("ada.admin", "Ada Admin", "machtool", Role.ADMIN),
    ("alice", "Alice Moreau", "acme", Role.CUSTOMER),
    ("adam", "Adam Fischer", "acme", Role.CUSTOMER),
    ("bella", "Bella Kovac", "borg", Role.CUSTOMER),
    ("bruno", "Bruno Weiss", "borg", Role.CUSTOMER),
    ("celina", "Celina Wójcik", "cobalt", Role.CUSTOMER),
]
CASES = [
    ("SR-2026-00042", "Spindle vibration above 6000 rpm", "acme", "VMC-850", "VMC850-1187", ["tom.tech"]),
    ("SR-2026-00057", "Tool changer stalls at pocket 14", "acme", "HMC-500", "HMC500-0332", ["tina.tech"]),
    ("SR-2026-00061", "Coolant pump pressure drop", "borg", "VMC-1000", "VMC1000-2044", ["tom.tech"]),
    ("SR-2026-00070", "Axis Y backlash after crash", "cobalt", "5AX-650", "5AX650-0091", ["tina.tech"]),
]
CONVERSATIONS = [
    (
        ConversationKind.SERVICE_CASE,
        "Spindle vibration",
        "SR-2026-00042",
        "alice",
        ["adam"],
        [
            ("alice", "Hello, the spindle vibrates strongly above **6000 rpm** since Monday."),
            ("tom.tech", "Thanks Alice. Can you send the vibration log from the HMI (*Diagnostics → Spindle*)?"),
            ("alice", "Sure, uploading it this afternoon."),
            ("tom.tech", "Please also check the tool holder balance. See the [manual](https://example.com/manual)."),
        ],
    ),
    (
        ConversationKind.SERVICE_CASE,
        "Tool changer pocket 14",
        "SR-2026-00057",
        "adam",
        [],
        [("adam", "The changer stalls at pocket 14 every third cycle."), ("tina.tech", "On my way Thursday.")],
    ),
    (
        ConversationKind.SERVICE_CASE,
        "Coolant pressure",
        "SR-2026-00061",
        "bella",
        ["bruno"],
        [("bella", "Coolant pressure drops to 2 bar after 20 minutes."), ("tom.tech", "Is the filter clean?")],
    ),
    (
        ConversationKind.DIRECT,
        "ACME maintenance team",
        None,
        "alice",
        ["adam"],
        [("alice", "Adam, can you take the call with MachTool tomorrow?"), ("adam", "Yes, 10:00 works.")],
    ),
    (
        ConversationKind.DIRECT,
        "Field service planning",
        None,
        "tom.tech",
        ["tina.tech", "erik.eng"],
        [("tom.tech", "Who covers Borg next week?"), ("tina.tech", "I can.")],
    ),
]


@dataclass(frozen=True, kw_only=True)
class DemoLogins:
    """Logins the demo prints links for."""

    customer: str = "alice"
    technician: str = "tom.tech"
    engineer: str = "erik.eng"


def seed_demo(store: Store) -> DemoLogins:
    """Create the demo data unless it is there already (idempotent; keeps anything users added)."""
    store.create_schema()
    store.add_group(id=VENDOR[0], name=VENDOR[1], is_vendor=True)
    for gid, name in CUSTOMERS:
        store.add_group(id=gid, name=name)
    for login, name, gid, role in USERS:
        store.add_user(login=login, display_name=name, group_id=gid, role=role)
    for number, title, gid, model, serial, techs in CASES:
        store.add_case(
            number=number, title=title, group_id=gid, machine_model=model, machine_serial=serial, technicians=techs
        )
    existing = {c.conversation.title for c in store.inbox(ReadScope(login="ada.admin", all_case_chats=True), limit=500)}
    existing |= {c.conversation.title for c in store.inbox("tom.tech", limit=500)}
    existing |= {c.conversation.title for c in store.inbox("alice", limit=500)}
    now = utcnow()
    for k, (kind, title, case_number, creator, others, msgs) in enumerate(CONVERSATIONS):
        if title in existing:
            continue
        case = store.get_case_by_number(case_number) if case_number else None
        members = list(others) + (list(case.technicians) if case else [])
        # Spread the history over the past week, so metrics and plots have real response times to show.
        at = now - timedelta(days=len(CONVERSATIONS) + 1 - k, hours=k)
        conv = store.create_conversation(
            kind=kind, title=title, created_by=creator, members=members, case_id=case.id if case else None, at=at
        )
        for i, (author, body) in enumerate(msgs):
            at += timedelta(minutes=(17 + 29 * k + 41 * i) if i else 5)
            store.post_message(
                NewMessage(conversation_id=conv.id, body=body, client_id=f"demo-{conv.id}-{i}"), author=author, at=at
            )
    return DemoLogins()
