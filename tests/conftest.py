"""Shared fixtures: a store on each backend, and a small seeded world usable by every test file.

- ``sqlite_store``: a fresh SQLite store in ``tmp_path``.
- ``pg_store``: a fresh (truncated) store in a throwaway PostgreSQL database ``cw_test_<random>``, created once per
  test session and dropped ``WITH (FORCE)`` at the end. Skips (saying why) when the server is unreachable, except
  under ``CI=true``, where it fails.
- ``store``: parametrized over both backends (the PostgreSQL half carries the ``postgres`` marker).
- ``seed`` / ``seeded``: ``seed(store)`` builds a :class:`World` (vendor + two customer companies, users of every
  role, cases with assigned technicians, a few conversations with messages); ``seeded`` is ``seed(store)``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from conferencing_widgets import ConversationKind, Role, Service, ServiceCase, Settings, Store
from conferencing_widgets.store import schema

PG_HOST = os.environ.get("CW_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CW_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("CW_TEST_PG_USER", "postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
XSS_PAYLOAD_FILE = Path(__file__).with_name("xss_payloads.txt")
_XSS_ESCAPE = re.compile(r"\\(\\|n|t|r|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})")
_XSS_SIMPLE = {"\\": "\\", "n": "\n", "t": "\t", "r": "\r"}


def decode_xss_line(line: str) -> str:
    """Decode the catalogue's escapes (``\\n``, ``\\xHH``, ``\\uHHHH``...) left to right."""

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        return _XSS_SIMPLE[code] if code in _XSS_SIMPLE else chr(int(code[1:], 16))

    return _XSS_ESCAPE.sub(one, line)


def load_xss_payloads() -> list[str]:
    """The XSS catalogue (format in its header): one payload a line, ``#`` comments and blanks skipped."""
    lines = XSS_PAYLOAD_FILE.read_text(encoding="utf-8").splitlines()
    return [decode_xss_line(line) for line in lines if line.strip() and not line.startswith("#")]


# -- PostgreSQL ---------------------------------------------------------------------------------


def pg_admin_conninfo(dbname: str = "postgres") -> str:
    """libpq conninfo for the test server (trust auth, user postgres)."""
    return f"host={PG_HOST} port={PG_PORT} user={PG_USER} dbname={dbname} connect_timeout=3"


def pg_unreachable_reason() -> str | None:
    """None when the PostgreSQL test server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(pg_admin_conninfo(), autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        detail = " ".join(str(exc).split())  # libpq messages span lines
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} (user {PG_USER}) is not reachable: {detail}"
    return None


def require_postgres() -> None:
    """Skip when PostgreSQL is unreachable; fail instead under CI=true."""
    reason = pg_unreachable_reason()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(f"{reason}; start it (see .ci/run) to run the PostgreSQL tests")


@contextlib.contextmanager
def throwaway_pg_database(prefix: str = "cw_test") -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped (with any sessions left) at the end."""
    require_postgres()
    import psycopg

    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(pg_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(pg_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a throwaway database created for this test session, schema included; dropped at the end."""
    with throwaway_pg_database() as url:
        store = Store(url)
        try:
            store.create_schema()
        finally:
            store.close()
        yield url


def _truncate_all(url: str) -> None:
    store = Store(url)
    try:
        tables = ", ".join(f'"{t.name}"' for t in schema.metadata.sorted_tables)
        with store.engine.begin() as conn:
            # A connection leaked by an earlier test would block TRUNCATE: fail fast instead of hanging.
            conn.execute(text("SET LOCAL lock_timeout = '5s'"))
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        store.close()


@pytest.fixture()
def pg_store(pg_url: str) -> Iterator[Store]:
    """An empty PostgreSQL store (tables truncated, schema from ``Store.create_schema``)."""
    _truncate_all(pg_url)
    store = Store(pg_url)
    store.create_schema()
    yield store
    store.close()


# -- SQLite -------------------------------------------------------------------------------------


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    """URL of a SQLite file in this test's temporary folder."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture()
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    """An empty SQLite store (WAL) in ``tmp_path``."""
    store = Store(sqlite_url)
    store.create_schema()
    yield store
    store.close()


# -- both ---------------------------------------------------------------------------------------

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``; tests using it run once per backend."""
    return str(request.param)


@pytest.fixture()
def store(backend: str, request: pytest.FixtureRequest) -> Store:
    """An empty store, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_store" if backend == "sqlite" else "pg_store")


# -- "nothing written" --------------------------------------------------------------------------


def snapshot(store: Store) -> dict[str, int]:
    """Row counts of every table plus the newest event id: equal before and after means nothing was written."""
    with store.reading() as conn:
        counts = {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in schema.metadata.sorted_tables
        }
    counts["last_event_id"] = store.last_event_id()
    return counts


# -- the seeded world ---------------------------------------------------------------------------

VENDOR, ACME, BORG = "vendor", "acme", "borg"

PEOPLE: list[tuple[str, str, str, Role, bool]] = [
    # login, display name, group, role, disabled
    ("alice", "Alice Moreau", ACME, Role.CUSTOMER, False),
    ("adam", "Adam Fischer", ACME, Role.CUSTOMER, False),
    ("amy", "Amy Zhou", ACME, Role.CUSTOMER, False),
    ("dora", "Dora Disabled", ACME, Role.CUSTOMER, True),
    ("bella", "Bella Kovac", BORG, Role.CUSTOMER, False),
    ("tom", "Tom Becker", VENDOR, Role.TECHNICIAN, False),
    ("tina", "Tina Nowak", VENDOR, Role.TECHNICIAN, False),
    ("victor", "Victor Gone", VENDOR, Role.TECHNICIAN, True),
    ("erik", "Erik Lindqvist", VENDOR, Role.ENGINEER, False),
    ("ada", "Ada Admin", VENDOR, Role.ADMIN, False),
]

ACTOR_OF_ROLE = {Role.CUSTOMER: "alice", Role.TECHNICIAN: "tom", Role.ENGINEER: "erik", Role.ADMIN: "ada"}
"""The user each access-matrix row acts as."""


@dataclass
class World:
    """What :func:`seed_world` built. Membership at a glance:

    - ``acme_case_chat`` (case chat, ACME's case, assigned tom): alice, adam, tom
    - ``borg_case_chat`` (case chat, Borg's case, assigned tina): bella, tina, erik
    - ``acme_direct``: alice, adam; ``vendor_direct``: tom, tina; ``staff_direct``: ada, erik
    """

    store: Store
    acme_case: ServiceCase
    borg_case: ServiceCase
    acme_case_chat: int
    borg_case_chat: int
    acme_direct: int
    vendor_direct: int
    staff_direct: int
    settings: Settings = field(default_factory=Settings)

    def service(self, login: str, **settings: Any) -> Service:
        """The service for ``login`` (settings overridable per call)."""
        return Service(self.store, login, self.settings.replace(**settings) if settings else self.settings)

    def snapshot(self) -> dict[str, int]:
        """See :func:`snapshot`."""
        return snapshot(self.store)

    @property
    def conversations(self) -> dict[str, int]:
        """Conversation ids by the attribute names above."""
        names = ("acme_case_chat", "borg_case_chat", "acme_direct", "vendor_direct", "staff_direct")
        return {n: getattr(self, n) for n in names}


def seed_world(store: Store) -> World:
    """Build the small world on an empty store, through the service layer (auto-join included)."""
    store.create_schema()
    store.add_group(id=VENDOR, name="MachTool Service", is_vendor=True)
    store.add_group(id=ACME, name="ACME Precision")
    store.add_group(id=BORG, name="Borg Fahrzeugteile")
    for login, name, group, role, disabled in PEOPLE:
        store.add_user(login=login, display_name=name, group_id=group, role=role, disabled=disabled)
    acme_case = store.add_case(
        number="SR-1001", title="Spindle vibration", group_id=ACME, machine_model="VMC-850", technicians=["tom"]
    )
    borg_case = store.add_case(number="SR-2001", title="Coolant pressure", group_id=BORG, technicians=["tina"])

    def svc(login: str) -> Service:
        return Service(store, login)

    alice, bella, tom, tina, ada = svc("alice"), svc("bella"), svc("tom"), svc("tina"), svc("ada")
    acme_case_chat = alice.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title="Spindle", members=["adam"], case_id=acme_case.id
    ).id
    alice.post(acme_case_chat, "The spindle vibrates above 6000 rpm.")
    tom.post(acme_case_chat, "Please send the vibration log.")
    borg_case_chat = bella.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title="Coolant", members=[], case_id=borg_case.id
    ).id
    bella.post(borg_case_chat, "Pressure drops after 20 minutes.")
    tina.add_members(borg_case_chat, ["erik"])
    acme_direct = alice.create_conversation(kind=ConversationKind.DIRECT, title="ACME team", members=["adam"]).id
    svc("adam").post(acme_direct, "Call with MachTool at 10:00?")
    vendor_direct = tom.create_conversation(kind=ConversationKind.DIRECT, title="Field service", members=["tina"]).id
    tina.post(vendor_direct, "I cover Borg next week.")
    staff_direct = ada.create_conversation(kind=ConversationKind.DIRECT, title="Staff", members=["erik"]).id
    svc("erik").post(staff_direct, "Quarterly review on Friday.")
    return World(
        store=store,
        acme_case=acme_case,
        borg_case=borg_case,
        acme_case_chat=acme_case_chat,
        borg_case_chat=borg_case_chat,
        acme_direct=acme_direct,
        vendor_direct=vendor_direct,
        staff_direct=staff_direct,
    )


@pytest.fixture()
def seed() -> Callable[[Store], World]:
    """``seed(store) -> World`` for tests that pick their own store (e.g. ``seed(sqlite_store)``)."""
    return seed_world


@pytest.fixture()
def seeded(store: Store) -> World:
    """The seeded world, once per backend."""
    return seed_world(store)
