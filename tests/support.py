"""What the tests share besides fixtures: the seeded world, snapshots, PostgreSQL helpers, the XSS catalogue.

Test modules import these by name (``from support import World, seed_world``); ``conftest.py`` holds only the
fixtures, built from them.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from conferencing_widgets import ConversationKind, Role, Service, ServiceCase, Settings, StorageError, Store, testing
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
    with testing.throwaway_pg_database(f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres", prefix=prefix) as url:
        yield url


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


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


USER_TEXT_LEAKS = re.compile(
    r"127\.0\.0\.1|localhost|port \d|5432|/|\\|\.db\b|SELECT|INSERT|psycopg|sqlite|sqlalchemy|"
    r"[A-Z][a-z]+Error\b|Errno|Traceback",
    re.IGNORECASE,
)
"""What a user must never read in an error: hosts, ports, paths, SQL, driver or exception names."""


def assert_user_safe(text: str) -> None:
    """``text`` (shown to a user) names no infrastructure."""
    assert text, "an error should be shown"
    found = USER_TEXT_LEAKS.search(text)
    assert found is None, f"infrastructure detail {found.group(0)!r} shown to the user: {text!r}"


@contextlib.contextmanager
def raises_storage_error(detail: str, *, says: str = "") -> Iterator[None]:
    """A ``StorageError`` whose logged detail matches ``detail``, whose text for users contains ``says`` and names
    no infrastructure."""
    with pytest.raises(StorageError) as info:
        yield
    assert re.search(detail, str(info.value.detail)), f"{detail!r} not in the logged detail {info.value.detail!r}"
    assert says in str(info.value), f"{says!r} not in {str(info.value)!r}"
    assert_user_safe(str(info.value))


# -- the feed relay -----------------------------------------------------------------------------


class RelayProcess:
    """A feed relay (``python -m conferencing_widgets.store.relay``) in its own process, restartable (it keeps its
    socket path). Pages find it through ``CONFERENCING_RELAY_SOCKET``, which the fixtures that start it set."""

    def __init__(self, url: str, path: Path) -> None:
        self.url, self.path = url, path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from conferencing_widgets.store import relay

        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        module = "conferencing_widgets.store.relay"
        argv = [sys.executable, "-m", module, "--socket", str(self.path), "--store", self.url]
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            testing.wait_until(lambda: relay.probe(self.path, timeout=0.2), 60, "the relay answers on its socket")
            testing.wait_until(lambda: self.stats().get("connects", 0) >= 1, 60, "the relay follows the store")
        except AssertionError:
            self.kill()  # never leave a relay behind a failed start
            raise

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stats(self) -> dict[str, int]:
        from conferencing_widgets.store import relay

        try:
            return relay.relay_stats(self.path)
        except OSError:
            return {}  # not answering yet (a loaded machine); callers wait on a condition
