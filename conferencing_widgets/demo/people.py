"""The demo's companies, people and service cases (created or updated in place; never duplicated)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from conferencing_widgets.core.model import CasePriority, Role
from conferencing_widgets.store import Store

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


@dataclass(frozen=True, kw_only=True)
class DemoCase:
    """One demo service case; its status comes from the backdated changes in its chat's script."""

    number: str
    title: str
    group: str
    model: str
    serial: str
    technicians: tuple[str, ...]
    priority: CasePriority
    age: timedelta
    """How long before the first seeding the case was opened."""


CASES = [
    DemoCase(
        number="SR-2026-00042",
        title="Spindle vibration above 6000 rpm",
        group="acme",
        model="VMC-850",
        serial="VMC850-1187",
        technicians=("tom.tech",),
        priority=CasePriority.HIGH,
        age=timedelta(days=14, hours=10),
    ),
    DemoCase(
        number="SR-2026-00057",
        title="Tool changer stalls at pocket 14",
        group="acme",
        model="HMC-500",
        serial="HMC500-0332",
        technicians=("tina.tech",),
        priority=CasePriority.NORMAL,
        age=timedelta(days=5, hours=3),
    ),
    DemoCase(
        number="SR-2026-00061",
        title="Coolant pump pressure drop",
        group="borg",
        model="VMC-1000",
        serial="VMC1000-2044",
        technicians=("tom.tech",),
        priority=CasePriority.URGENT,
        age=timedelta(days=2, hours=4),
    ),
    DemoCase(
        number="SR-2026-00070",
        title="Axis Y backlash after crash",
        group="cobalt",
        model="5AX-650",
        serial="5AX650-0091",
        technicians=("tina.tech",),
        priority=CasePriority.HIGH,
        age=timedelta(days=9, hours=2),
    ),
    DemoCase(
        number="SR-2026-00078",
        title="Door interlock fault",
        group="borg",
        model="VMC-1000",
        serial="VMC1000-2051",
        technicians=("tom.tech",),
        priority=CasePriority.NORMAL,
        age=timedelta(days=11, hours=5),
    ),
]


def seed_people(store: Store, now: datetime) -> None:
    """Create the vendor, the customers, their users and the cases that are missing.

    What exists is left alone: re-seeding writes nothing (no feed events either) and never undoes what people did
    since (a renamed group, a disabled user, a case's new status or priority).
    """
    groups = {g.id for g in store.groups()}
    if VENDOR[0] not in groups:
        store.add_group(id=VENDOR[0], name=VENDOR[1], is_vendor=True)
    for gid, name in CUSTOMERS:
        if gid not in groups:
            store.add_group(id=gid, name=name)
    users = {u.login for u in store.users()}
    for login, name, gid, role in USERS:
        if login not in users:
            store.add_user(login=login, display_name=name, group_id=gid, role=role)
    cases = {c.number for c in store.cases()}
    for c in CASES:
        if c.number not in cases:
            store.add_case(
                number=c.number,
                title=c.title,
                group_id=c.group,
                machine_model=c.model,
                machine_serial=c.serial,
                technicians=c.technicians,
                priority=c.priority,
                at=now - c.age,
            )
