"""The ``conferencing`` command: through click's CliRunner, plus real runs of the installed script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner, Result
from support import snapshot

from conferencing_widgets import InvalidLink, Store
from conferencing_widgets.cli import main
from conferencing_widgets.core.identity import read_token

SECRET = "cli-test-secret"
SCRIPT = Path(sys.executable).with_name("conferencing")
DEMO_LOGINS = {"tom.tech", "tina.tech", "erik.eng", "ada.admin", "alice", "adam", "bella", "bruno", "celina"}


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean settings environment: only the data folder and the secret are set."""
    for key in list(os.environ):
        if key.startswith("CONFERENCING_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CONFERENCING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CONFERENCING_SECRET", SECRET)
    return tmp_path / "data"


@pytest.fixture()
def demo_store(data_dir: Path) -> Iterator[Store]:
    run("demo", "--no-serve")
    store = Store(f"sqlite:///{data_dir / 'conferencing.db'}")
    yield store
    store.close()


def run(*args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def assert_clean_error(result: Result, *needles: str) -> None:
    """Exit code 1 and exactly one line ``Error: ...`` on stderr, no traceback."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0]


def records(store: Store) -> dict[str, int]:
    """Row counts without the events table."""
    counts = snapshot(store)
    return {k: v for k, v in counts.items() if k not in ("events", "last_event_id")}


def test_every_command_has_help_with_an_example() -> None:
    for command in main.commands:
        result = run(command, "-h")
        assert "Example:" in result.output, command


def test_init_creates_and_upgrades_the_store(data_dir: Path) -> None:
    result = run("init")
    assert result.output.startswith("Store ready: sqlite:///") and (data_dir / "conferencing.db").exists()
    run("init")  # again: nothing to do, no error
    store = Store(f"sqlite:///{data_dir / 'conferencing.db'}")
    assert set(records(store).values()) == {0}
    store.close()


def test_demo_no_serve_is_idempotent(demo_store: Store) -> None:
    first = records(demo_store)
    assert first["users"] == len(DEMO_LOGINS) and first["messages"] > 200 and first["conversations"] == 7
    result = run("demo", "--no-serve")
    assert records(demo_store) == first
    links = [line.split()[-1] for line in result.output.splitlines() if "token=" in line]
    assert len(links) == 3
    logins = {read_token(parse_qs(urlsplit(u).query)["token"][0], SECRET) for u in links}
    assert logins == {"alice", "tom.tech", "erik.eng"}


def test_users_json(demo_store: Store) -> None:
    rows = json.loads(run("users", "--json").output)
    assert {r["login"] for r in rows} == DEMO_LOGINS
    alice = next(r for r in rows if r["login"] == "alice")
    assert alice == {
        "login": "alice",
        "display_name": "Alice Moreau",
        "group": "acme",
        "role": "customer",
        "disabled": False,
    }
    table = run("users").output
    assert "Alice Moreau" in table and len(table.strip().splitlines()) == len(DEMO_LOGINS)


def test_link_prints_a_url_with_a_valid_token(demo_store: Store) -> None:
    url = run("link", "alice", "--base-url", "https://service.example.com/", "--expires", "30m").output.strip()
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "service.example.com",
        "/voila/render/conferencing.ipynb",
    )
    token = parse_qs(parts.query)["token"][0]
    assert read_token(token, SECRET) == "alice"
    with pytest.raises(InvalidLink, match="expired"):
        read_token(token, SECRET, now=time.time() + 31 * 60)


def test_link_without_secret_uses_one_kept_in_the_data_folder(
    demo_store: Store, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONFERENCING_SECRET")
    url = run("link", "bella").output.strip()
    kept = (data_dir / "secret.key").read_text(encoding="utf-8").strip()
    assert len(kept) >= 32 and oct((data_dir / "secret.key").stat().st_mode)[-3:] == "600"
    assert read_token(parse_qs(urlsplit(url).query)["token"][0], kept) == "bella"
    assert run("link", "bella").output.strip() != "" and (data_dir / "secret.key").read_text().strip() == kept


def test_link_errors_are_one_clean_line(demo_store: Store) -> None:
    assert_clean_error(run("link", "nobody", ok=False), "nobody")
    demo_store.set_user_disabled("bruno", True)
    assert_clean_error(run("link", "bruno", ok=False), "disabled")
    assert_clean_error(run("link", "alice", "--expires", "soon", ok=False), "duration")


PEOPLE_YAML = """\
groups:
  - {id: vendor, name: Vendor Service, is_vendor: true}
  - {id: zeta, name: Zeta Tools}
users:
  - {login: vic, display_name: Vic Vendor, group: vendor, role: technician}
  - {login: zoe, display_name: Zoe Zeta, group: zeta, role: customer}
cases:
  - {number: SR-9, title: Broken axis, group: zeta, technicians: [vic]}
"""


def test_load_yaml_and_json(data_dir: Path, tmp_path: Path) -> None:
    run("init")
    (tmp_path / "people.yaml").write_text(PEOPLE_YAML, encoding="utf-8")
    assert run("load", str(tmp_path / "people.yaml")).output.strip() == "2 groups, 2 users, 1 cases loaded."
    more = {"users": [{"login": "zack", "display_name": "Zack Zeta", "group": "zeta", "role": "customer"}]}
    (tmp_path / "more.json").write_text(json.dumps(more), encoding="utf-8")
    assert run("load", str(tmp_path / "more.json")).output.strip() == "0 groups, 1 users, 0 cases loaded."
    store = Store(f"sqlite:///{data_dir / 'conferencing.db'}")
    try:
        assert {u.login for u in store.users(group_id="zeta")} == {"zoe", "zack"}
        assert store.get_case_by_number("SR-9").technicians == ("vic",)
        assert store.vendor_group() is not None
        # Loading the same file again updates in place.
        before = records(store)
        run("load", str(tmp_path / "people.yaml"))
        assert records(store) == before
    finally:
        store.close()


BAD_FILES = {
    "broken.yaml": ("groups: [unclosed\n", "Cannot read"),
    "list.yaml": ("- just a list\n", "expected a mapping"),
    "section.yaml": ("people: []\n", "unknown section"),
    "notalist.yaml": ("groups: 5\n", "must be a list"),
    "missing.yaml": ("users:\n  - {login: x}\n", "missing display_name, group, role"),
    "role.yaml": ("users:\n  - {login: x, display_name: X, group: vendor, role: boss}\n", "role must be one of"),
    # The first entries are fine; the last one fails, and the whole file is rolled back.
    "partial.yaml": (
        "groups:\n  - {id: newco, name: New Co}\n"
        "users:\n  - {login: nu, display_name: N U, group: nowhere, role: customer}\n",
        "No group 'nowhere'",
    ),
    "techs.yaml": ("cases:\n  - {number: SR-10, title: T, group: zeta, technicians: vic}\n", "must be a list"),
    "bad.json": ('{"groups": [{"id": "g", "name": ', "Cannot read"),
}


def test_bad_files_give_a_clean_error_and_write_nothing(data_dir: Path, tmp_path: Path) -> None:
    run("init")
    (tmp_path / "people.yaml").write_text(PEOPLE_YAML, encoding="utf-8")
    run("load", str(tmp_path / "people.yaml"))
    store = Store(f"sqlite:///{data_dir / 'conferencing.db'}")
    try:
        for name, (content, message) in BAD_FILES.items():
            (tmp_path / name).write_text(content, encoding="utf-8")
            before = snapshot(store)
            assert_clean_error(run("load", str(tmp_path / name), ok=False), message)
            assert snapshot(store) == before, name
        assert run("load", str(tmp_path / "absent.yaml"), ok=False).exit_code == 2  # click's own usage error
    finally:
        store.close()


@pytest.mark.postgres
def test_demo_on_postgresql_is_idempotent(pg_store: Store, data_dir: Path) -> None:
    run("init", "--store", pg_store.url)
    run("demo", "--no-serve", "--store", pg_store.url)
    first = records(pg_store)
    run("demo", "--no-serve", "--store", pg_store.url)
    assert records(pg_store) == first and first["users"] == len(DEMO_LOGINS)
    assert {r["login"] for r in json.loads(run("users", "--json", "--store", pg_store.url).output)} == DEMO_LOGINS


def test_installed_script_runs_for_real(demo_store: Store) -> None:
    assert SCRIPT.exists(), f"{SCRIPT} is missing: install the package (pip install -e .)"
    env = dict(os.environ)
    ok = subprocess.run([str(SCRIPT), "users", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert {r["login"] for r in json.loads(ok.stdout)} == DEMO_LOGINS
    bad = subprocess.run([str(SCRIPT), "link", "nobody"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == ["Error: No user 'nobody'."]


def test_link_carries_the_language(demo_store: Store) -> None:
    url = run("link", "alice", "--lang", "pl").output.strip()
    query = parse_qs(urlsplit(url).query)
    assert query["lang"] == ["pl"]
    assert read_token(query["token"][0], SECRET) == "alice"
    assert "lang" not in parse_qs(urlsplit(run("link", "alice").output.strip()).query)
    bad = run("link", "alice", "--lang", "de", ok=False)
    assert bad.exit_code != 0 and "'de' is not one of 'en', 'pl'" in bad.output


def test_lines_for_people_follow_the_shells_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conferencing_widgets.cli import main

    monkeypatch.setenv("CONFERENCING_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CONFERENCING_STORE", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "pl_PL.UTF-8")
    runner = CliRunner()
    polish = runner.invoke(main, ["demo", "--no-serve"])
    assert polish.exit_code == 0, polish.output
    assert polish.output.startswith("Dane demonstracyjne zapisane: sqlite:///")
    assert "  klient " in polish.output and "  technik " in polish.output and "?token=" in polish.output
    missing = runner.invoke(main, ["link", "nobody"])
    assert missing.exit_code == 1 and missing.output.startswith("Błąd: Nie ma użytkownika 'nobody'.")
    monkeypatch.setenv("LANG", "C.UTF-8")
    english = runner.invoke(main, ["demo", "--no-serve"])
    assert english.output.startswith("Demo store seeded: ") and "  customer " in english.output
