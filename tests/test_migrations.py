"""The migrations build exactly ``schema.metadata``, on both backends, in one go or step by step.

Two checks, because each sees what the other does not: Alembic's ``compare_metadata`` (tables, columns with
types, nullability and server defaults, indexes, unique constraints, foreign keys) against ``schema.metadata``,
and a full reflection of the migrated database against one made by ``metadata.create_all`` (which also sees
autoincrement sequences and the exact names the backend gave unnamed constraints).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from support import throwaway_pg_database

from conferencing_widgets.store import schema, search_schema
from conferencing_widgets.store.migrations import HERE, alembic_config, upgrade

HEAD = ScriptDirectory(str(HERE)).get_current_head()
REVISIONS = [s.revision for s in reversed(list(ScriptDirectory(str(HERE)).walk_revisions()))]


NewUrl = Callable[[str], str]


@pytest.fixture()
def new_url(backend: str, tmp_path: Path) -> Iterator[NewUrl]:
    """``new_url(name)``: the URL of a fresh, empty database on this test's backend (dropped at the end)."""
    with contextlib.ExitStack() as stack:

        def make(name: str) -> str:
            if backend == "sqlite":
                return f"sqlite:///{tmp_path / f'{name}.db'}"
            return stack.enter_context(throwaway_pg_database(prefix=f"cw_mig_{name}"))

        yield make


def diff_with_metadata(engine: Engine) -> list[Any]:
    """Alembic's autogenerate diff of the database against ``schema.metadata`` (empty: the same schema)."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        # The version table belongs to Alembic, not to the schema.
        return [d for d in compare_metadata(ctx, schema.metadata) if not _outside_metadata(d)]


def _outside_metadata(diff: Any) -> bool:
    """Alembic's own table, and the full-text index (FTS5 tables; a generated column and its GIN index) that
    ``store/search_schema.py`` creates with raw DDL beside the metadata."""
    text = repr(diff)
    return "alembic_version" in text or any(
        name in text for name in (search_schema.FTS_TABLE, search_schema.PG_INDEX, search_schema.PG_COLUMN)
    )


def reflect(engine: Engine) -> dict[str, Any]:
    """Everything the inspector says about each table, in a comparable form."""
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(set(insp.get_table_names()) - {"alembic_version"}):
        out[table] = {
            "columns": {
                c["name"]: (str(c["type"]), c["nullable"], c.get("default"), c.get("autoincrement"))
                for c in insp.get_columns(table)
            },
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted(
                (ix["name"], tuple(ix["column_names"]), bool(ix["unique"])) for ix in insp.get_indexes(table)
            ),
            "unique": sorted((u["name"] or "", tuple(u["column_names"])) for u in insp.get_unique_constraints(table)),
            "fks": sorted(
                (
                    fk["name"] or "",
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                )
                for fk in insp.get_foreign_keys(table)
            ),
        }
    return out


def created_by_metadata(url: str) -> Engine:
    """A database as the old revision 0001 made it (``metadata.create_all``), stamped at head."""
    engine = create_engine(url)
    schema.metadata.create_all(engine)
    command.stamp(alembic_config(engine), "head")
    return engine


def version(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())


def test_revisions_are_a_straight_line() -> None:
    assert REVISIONS[0] == "0001" and REVISIONS[-1] == HEAD and len(REVISIONS) == len(set(REVISIONS))


def test_upgrade_to_head_builds_exactly_the_schema(new_url: NewUrl) -> None:
    migrated = create_engine(new_url("migrated"))
    reference = created_by_metadata(new_url("created"))
    try:
        upgrade(migrated)
        assert version(migrated) == HEAD
        assert diff_with_metadata(migrated) == []
        assert reflect(migrated) == reflect(reference)
    finally:
        migrated.dispose()
        reference.dispose()


def test_step_by_step_upgrade_reaches_the_same_schema(new_url: NewUrl) -> None:
    engine = create_engine(new_url("steps"))
    try:
        for rev in REVISIONS:
            upgrade(engine, rev)
            assert version(engine) == rev
        assert diff_with_metadata(engine) == []
    finally:
        engine.dispose()


def test_revision_0001_is_frozen_not_the_current_schema(new_url: NewUrl) -> None:
    engine = create_engine(new_url("first"))
    try:
        upgrade(engine, "0001")
        insp = inspect(engine)
        assert not insp.has_table("call_signals") and not insp.has_table("whiteboard_actions")
        assert "revision" not in {c["name"] for c in insp.get_columns("whiteboards")}
        # PostgreSQL also lists the index behind uq_messages_client_id: look at ours only.
        indexes = {ix["name"]: ix["column_names"] for ix in insp.get_indexes("messages")}
        assert indexes["ix_messages_conversation"] == ["conversation_id", "id"]
        assert "ix_messages_author_created" not in indexes
    finally:
        engine.dispose()


def test_a_database_made_by_the_old_revision_0001_matches(new_url: NewUrl) -> None:
    """Existing deployments were built by ``create_all`` and stamped at head: nothing left to do, same schema."""
    old = created_by_metadata(new_url("old"))
    try:
        upgrade(old)  # a no-op at head
        assert version(old) == HEAD
        assert diff_with_metadata(old) == []
    finally:
        old.dispose()


def test_downgrade_to_base_and_up_again(new_url: NewUrl) -> None:
    engine = create_engine(new_url("down"))
    try:
        upgrade(engine)
        command.downgrade(alembic_config(engine), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert diff_with_metadata(engine) == []
    finally:
        engine.dispose()


def test_0006_gives_existing_private_events_their_audience(new_url: NewUrl) -> None:
    """Read marks and account events written before 0006 become private to ``payload.login``."""
    import sqlalchemy as sa

    engine = create_engine(new_url("audience"))
    old_events = sa.table(
        "events",
        sa.column("kind", sa.String),
        sa.column("conversation_id", schema.Id),
        sa.column("created_at", schema.events.c.created_at.type),
        sa.column("payload", sa.JSON),
    )
    now = datetime.now(UTC)
    try:
        upgrade(engine, "0005")
        with engine.begin() as conn:
            conn.execute(
                sa.insert(old_events),
                [
                    {"kind": "read", "conversation_id": 1, "created_at": now, "payload": {"login": "alice"}},
                    {"kind": "user", "conversation_id": None, "created_at": now, "payload": {"login": "bob"}},
                    {"kind": "message", "conversation_id": 1, "created_at": now, "payload": {}},
                ],
            )
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT kind, audience_login FROM events ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("read", "alice"), ("user", "bob"), ("message", None)]
    finally:
        engine.dispose()


def test_0010_renames_old_case_statuses_and_adds_the_priority(new_url: NewUrl) -> None:
    """Old status names are renamed (in_progress -> waiting_on_vendor, ...), and back on downgrade."""
    import sqlalchemy as sa

    engine = create_engine(new_url("workflow"))
    cases = sa.table(
        "service_cases",
        sa.column("number", sa.String),
        sa.column("title", sa.String),
        sa.column("group_id", sa.String),
        sa.column("status", sa.String),
        sa.column("machine_model", sa.String),
        sa.column("machine_serial", sa.String),
        sa.column("created_at", schema.service_cases.c.created_at.type),
    )
    now = datetime.now(UTC)
    blank = {"machine_model": "", "machine_serial": ""}
    try:
        upgrade(engine, "0006")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO groups (id, name, is_vendor) VALUES ('acme', 'ACME', false)"))
            conn.execute(
                sa.insert(cases),
                [
                    {"number": n, "title": "t", "group_id": "acme", "status": st, "created_at": now, **blank}
                    for n, st in (("SR-1", "in_progress"), ("SR-2", "waiting_for_customer"), ("SR-3", "resolved"))
                ],
            )
        upgrade(engine)
        query = text("SELECT status, priority FROM service_cases ORDER BY number")
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(query)]
        assert rows == [("waiting_on_vendor", "normal"), ("waiting_on_customer", "normal"), ("resolved", "normal")]
        command.downgrade(alembic_config(engine), "0006")
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(text("SELECT status FROM service_cases ORDER BY number"))]
        assert rows == [("in_progress",), ("waiting_for_customer",), ("resolved",)]
    finally:
        engine.dispose()
