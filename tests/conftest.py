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

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from support import (
    BACKENDS,
    World,
    seed_world,
    throwaway_pg_database,
)

from conferencing_widgets import Store
from conferencing_widgets.store import schema


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


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``; tests using it run once per backend."""
    return str(request.param)


@pytest.fixture()
def store(backend: str, request: pytest.FixtureRequest) -> Store:
    """An empty store, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_store" if backend == "sqlite" else "pg_store")


# -- "nothing written" --------------------------------------------------------------------------


@pytest.fixture()
def seed() -> Callable[[Store], World]:
    """``seed(store) -> World`` for tests that pick their own store (e.g. ``seed(sqlite_store)``)."""
    return seed_world


@pytest.fixture()
def seeded(store: Store) -> World:
    """The seeded world, once per backend."""
    return seed_world(store)
