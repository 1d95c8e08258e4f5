"""PostgreSQL pooled connections are pinged only after a pause (``engine.ping_if_idle``), never on every call."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from conferencing_widgets.store.engine import normalise_url, ping_if_idle

pytestmark = pytest.mark.postgres


def _kill_pooled_backends(url: str, application_name: str) -> int:
    """Terminate the server side of the pool's connections (as a PostgreSQL restart would)."""
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", (application_name,)
        ).fetchall()
    return len(rows)


def _engine(url: str, name: str, idle: float) -> object:
    engine = create_engine(normalise_url(url), connect_args={"application_name": name}, pool_size=1)
    ping_if_idle(engine, idle)
    return engine


def test_a_connection_idle_past_the_limit_is_pinged_and_replaced_unnoticed(pg_url: str) -> None:
    engine = _engine(pg_url, "cw_ping_idle", idle=0.0)  # every checkout counts as after a pause
    with engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(text("SELECT 1")).scalar() == 1
    with engine.connect() as conn:  # type: ignore[attr-defined]  # pinged, and left outside a transaction
        assert conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("SELECT 2")).scalar() == 2
    assert _kill_pooled_backends(pg_url, "cw_ping_idle") == 1
    with engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.execute(text("SELECT 3")).scalar() == 3
    engine.dispose()  # type: ignore[attr-defined]


def test_a_hot_connection_is_not_pinged_and_a_dead_one_fails_once(pg_url: str) -> None:
    engine = _engine(pg_url, "cw_ping_hot", idle=3600.0)
    with engine.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text("SELECT 1"))
    assert _kill_pooled_backends(pg_url, "cw_ping_hot") == 1
    # Not pinged (a ping would have replaced it unnoticed, as above): the call itself meets the dead connection.
    with pytest.raises(DBAPIError) as failed, engine.connect() as conn:  # type: ignore[attr-defined]
        conn.execute(text("SELECT 1"))
    assert failed.value.connection_invalidated
    with engine.connect() as conn:  # type: ignore[attr-defined]  # the pool was dropped: a fresh connection
        assert conn.execute(text("SELECT 3")).scalar() == 3
    engine.dispose()  # type: ignore[attr-defined]
