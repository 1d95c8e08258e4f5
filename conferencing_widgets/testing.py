"""What the tests and the benchmarks share: the one Chromium launch and the one condition wait.

Not used by the product. Playwright is a dev dependency, so it is imported by the callers, not here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
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
