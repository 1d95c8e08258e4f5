"""When the store goes away under an open app, users read a plain sentence, never infrastructure details.

Issue 18, papercut 1: a technician's page showed "The store is not available: connection failed: connection to
server at "127.0.0.1", port 5432 failed: ...". The text shown must hold no host, port, path, SQL or exception
class; the text stays in the composer, the details go to the log under the reference shown, and once the store
is back the same send posts exactly once.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from support import assert_user_safe, pg_admin_conninfo, seed_world, throwaway_pg_database

from conferencing_widgets import Service, Settings, Store
from conferencing_widgets.ui import ConferencingApp


@contextlib.contextmanager
def pg_down(url: str) -> Iterator[None]:
    """The database refuses connections (as while PostgreSQL restarts) until the block ends."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(pg_admin_conninfo(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    try:
        yield
    finally:
        with psycopg.connect(pg_admin_conninfo(), autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


@contextlib.contextmanager
def sqlite_down(store: Store, path: Path) -> Iterator[None]:
    """The database file's folder is gone (an unmounted volume) until the block ends."""
    store.engine.dispose()
    hidden = path.parent.with_name(path.parent.name + "-away")
    path.parent.rename(hidden)
    try:
        yield
    finally:
        hidden.rename(path.parent)


def check_send_while_down(
    store: Store, down: contextlib.AbstractContextManager[None], caplog: pytest.LogCaptureFixture
) -> None:
    world = seed_world(store)
    app = ConferencingApp(Service(store, "tom", Settings()), live=False)
    app.open_conversation(world.acme_case_chat)
    composer = app.messages.composer
    composer.value = "The new spindle bearing ships today."
    before = store.message_count(world.acme_case_chat)
    with caplog.at_level(logging.WARNING, logger="conferencing_widgets.errors"), down:
        assert composer.send_text(client_id="retry-1") is False
    shown = composer.error
    assert_user_safe(shown)
    assert "not sent" in shown and composer.value == "The new spindle bearing ships today."
    ref = re.search(r"ref ([0-9a-f]+)", shown)
    assert ref is not None, shown
    assert any(ref.group(1) in r.getMessage() for r in caplog.records), "the details are logged under the ref"
    # Back again: the retry (same client id, as the browser resends) posts once.
    assert composer.send_text(client_id="retry-1") is True
    assert composer.send_text("The new spindle bearing ships today.", client_id="retry-1") is True
    assert store.message_count(world.acme_case_chat) == before + 1
    app.close()


@pytest.mark.postgres
def test_postgres_down_under_an_open_app(caplog: pytest.LogCaptureFixture) -> None:
    with throwaway_pg_database("cw_down") as url:
        store = Store(url)
        try:
            check_send_while_down(store, pg_down(url), caplog)
        finally:
            store.close()


def test_sqlite_down_under_an_open_app(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "data" / "cw.db"
    path.parent.mkdir()
    store = Store(f"sqlite:///{path}")
    try:
        check_send_while_down(store, sqlite_down(store, path), caplog)
    finally:
        store.close()
