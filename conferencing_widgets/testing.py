"""What the tests and the benchmarks share: the one Chromium launch and the one condition wait.

Not used by the product. Playwright is a dev dependency, so it is imported by the callers, not here.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("CW_TEST_CHROMIUM", "/usr/bin/chromium"))
"""Debian's Chromium (Playwright cannot download browsers on these machines)."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Nothing leaves the machine: other hosts do not resolve. (Blocking with Playwright's request routing instead
    # made every request pass through this process, and then Voila pages at times could not send to their kernel
    # until the websocket reconnected.)
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]


def launch_chromium(browser_type: Any, *, extra_args: Sequence[str] = (), **options: Any) -> Any:
    """``browser_type.launch`` (``playwright.chromium``) headless with ``CHROMIUM_ARGS`` plus ``extra_args``."""
    options.setdefault("headless", True)
    return browser_type.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args], **options)


def wait_until(predicate: Callable[[], object], timeout: float, what: str, *, interval: float = 0.05) -> float:
    """Poll ``predicate`` until it is true; the seconds it took. ``AssertionError`` naming ``what`` on timeout."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - started


PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
"""The local PostgreSQL server's maintenance database (trust auth on these machines)."""


@contextlib.contextmanager
def throwaway_pg_database(admin_url: str = PG_ADMIN_URL, *, prefix: str = "cw_test") -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty database, dropped (with any sessions left) at the end.

    ``psycopg.Error`` when the server cannot be reached: callers say why they skip.
    """
    import psycopg

    admin = admin_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
