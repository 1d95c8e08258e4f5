"""Reproduction of the Voilà "first kernel messages stall" (issue 12): many page openings, each timed.

A tiny widget notebook (``benchmarks/voila_stall/stall.ipynb``: a button and a label, optionally a background task
that updates the label like the app's live follower) is served exactly like the dashboards (``serve.voila_command``,
the repository's ``voila.json``) under the name ``conferencing.ipynb``, which ``voila.json`` preheats. Each
iteration opens ``--pages`` pages at once in fresh Chromium contexts and times, per page:

- *render*: navigation start to the button being visible (the widget models came over the kernel websocket);
- *click*: the first button click until the kernel's answer is in the label (a full round trip over the socket).

A page that needs more than ``--stall`` seconds for either counts as stalled. Before the fix, about one page in a
few dozen waited for the 30-s reconnect that ``ws_ping_timeout: 30000`` forced on every socket (and without that
setting, for 90 s or forever). The Voilà log is scanned for ``ping timeout`` and ``Nudge`` lines.

Usage: PYTHONPATH=. .venv/bin/python benchmarks/voila_stall_repro.py [--iterations 20] [--pages 4] [--live]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from voila_baseline import running_voila  # noqa: E402

from conferencing_widgets.testing import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = Path(__file__).resolve().parent / "voila_stall" / "stall.ipynb"
SERVED_AS = "conferencing.ipynb"
"""The name ``voila.json`` preheats (one pooled kernel)."""


@dataclass(frozen=True)
class Target:
    """What a page shows once its widgets rendered, what to click, and what the kernel's answer looks like."""

    ready: str
    click: str
    answer: str
    answer_text: str = ""


TINY = Target(ready=".stall-button", click=".stall-button", answer=".stall-answer", answer_text="pong 1")
DASHBOARD = Target(ready=".cw-app .cw-history .cw-tile", click=".cw-history .cw-tile", answer=".cw-stream .cw-message")


async def open_and_time(browser: Any, url: str, target: Target, timeout_s: float) -> tuple[float, float]:
    """(render, click) seconds for one fresh page; ``inf`` for a step that did not finish within ``timeout_s``."""
    context = await browser.new_context()
    await context.route("**/*", _keep_local_async)
    page = await context.new_page()
    render = click = float("inf")
    try:
        started = time.perf_counter()
        await page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        with contextlib.suppress(Exception):
            await page.locator(target.ready).first.wait_for(state="visible", timeout=timeout_s * 1000)
            render = time.perf_counter() - started
            clicked = time.perf_counter()
            await page.locator(target.click).first.click()
            await page.locator(target.answer, has_text=target.answer_text).first.wait_for(timeout=timeout_s * 1000)
            click = time.perf_counter() - clicked
        await page.close(run_before_unload=True)  # like closing the tab: Voilà shuts the page's kernel down
        with contextlib.suppress(Exception):
            await page.wait_for_event("close", timeout=5000)
    finally:
        await context.close()
    return render, click


async def _keep_local_async(route: Any) -> None:
    """``voila_baseline._keep_local`` for the async API: nothing leaves the machine."""
    host = urlsplit(route.request.url).hostname or ""
    if host in ("127.0.0.1", "localhost"):
        await route.fallback()
    elif route.request.resource_type == "stylesheet":
        await route.fulfill(status=200, content_type="text/css", body="")
    else:
        await route.abort("blockedbyclient")


async def run_bursts(
    url: str, target: Target, iterations: int, pages: int, stall: float, timeout_s: float
) -> list[tuple[float, float]]:
    """``iterations`` bursts of ``pages`` pages opened at once; (render, click) per page."""
    from playwright.async_api import async_playwright

    results: list[tuple[float, float]] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for i in range(iterations):
                burst = await asyncio.gather(*(open_and_time(browser, url, target, timeout_s) for _ in range(pages)))
                results.extend(burst)
                slow = sum(1 for r, c in burst if max(r, c) > stall)
                worst = max(max(r, c) for r, c in burst)
                print(f"burst {i + 1}/{iterations}: {slow} stalled, slowest step {worst:.2f} s", flush=True)
        finally:
            await browser.close()
    return results


READY_AT = """(selector) => {
  const seen = () => document.querySelector(selector) && (window.__readyAt = performance.now());
  if (!seen()) new MutationObserver((_, obs) => seen() && obs.disconnect())
    .observe(document, {childList: true, subtree: true});
}"""


def routed_gap(url: str, target: Target, gap: float, *, route: bool) -> float:
    """Seconds from navigation to ``target.ready`` measured in the page, when the test thread spends ``gap`` s
    outside Playwright right after ``goto`` (as a test does while it polls a server or posts from a store).

    With ``route`` every request goes through a Playwright route handler (what the browser tests did before
    commit 85a82b2). The sync API runs handlers only while its thread is inside a Playwright call, so the page's
    own requests wait out the gap; without routing they do not.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            if route:
                context.route("**/*", lambda r: r.continue_())
            page = context.new_page()
            page.add_init_script(f"({READY_AT})({target.ready!r})")
            page.goto(url, wait_until="commit")
            time.sleep(gap)  # the test thread is busy elsewhere: no Playwright call
            page.locator(target.ready).first.wait_for(state="visible", timeout=120_000)
            ready = page.evaluate("() => window.__readyAt") / 1000
            page.close(run_before_unload=True)
            return float(ready)
        finally:
            browser.close()


def _pct(values: list[float], q: float) -> float:
    finite = sorted(v for v in values if v != float("inf"))
    if not finite:
        return float("inf")
    return finite[min(len(finite) - 1, int(q * len(finite)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20, help="bursts of pages (default 20)")
    parser.add_argument("--pages", type=int, default=4, help="pages opened at once per burst (default 4)")
    parser.add_argument("--live", action="store_true", help="the notebook updates its label every 100 ms")
    parser.add_argument("--stall", type=float, default=5.0, help="seconds above which a page counts as stalled")
    parser.add_argument("--timeout", type=float, default=40.0, help="seconds to wait per step before giving up")
    parser.add_argument("--dashboard", action="store_true", help="open the real dashboard (demo data) instead")
    parser.add_argument(
        "--route-gap",
        type=float,
        default=0.0,
        help="instead of bursts: time one page with and without Playwright routing while the sync API's thread "
        "is away for this many seconds (the stall of the old browser harness)",
    )
    args = parser.parse_args(argv)
    env = {"STALL_LIVE": "1" if args.live else "0"}
    with tempfile.TemporaryDirectory(prefix="cw-stall-") as tmp:
        settings = None
        if args.dashboard:
            from conferencing_widgets import Settings, Store
            from conferencing_widgets.demo import seed_demo

            folder = REPO / "dashboards"
            settings = Settings(data_dir=Path(tmp), store=f"sqlite:///{tmp}/store.db", secret=secrets.token_hex(16))
            with contextlib.closing(Store(settings.store_url)) as store:
                seed_demo(store)
        else:
            folder = Path(tmp) / "dashboards"
            folder.mkdir()
            shutil.copy(NOTEBOOK, folder / SERVED_AS)
        with running_voila(folder, settings=settings, extra_env=env) as served:
            if settings is not None:
                from conferencing_widgets.core.identity import dashboard_url

                url = dashboard_url(served.base_url, "alice", settings.secret, timedelta(hours=2))
            else:
                url = served.url(SERVED_AS)
            target = DASHBOARD if args.dashboard else TINY
            if args.route_gap > 0:
                for route in (False, True, False, True):
                    ready = routed_gap(url, target, args.route_gap, route=route)
                    name = "every request routed" if route else "no routing          "
                    print(f"{name}: widgets after {ready:.2f} s (thread away {args.route_gap:.0f} s)", flush=True)
                return 0
            results = asyncio.run(run_bursts(url, target, args.iterations, args.pages, args.stall, args.timeout))
            log = served.log()
    renders = [r for r, _ in results]
    clicks = [c for _, c in results]
    stalled = sum(1 for r, c in results if max(r, c) > args.stall)
    print(f"pages {len(renders)}, stalled (> {args.stall:.0f} s) {stalled}, load average {os.getloadavg()[0]:.1f}")
    for name, values in (("render", renders), ("first click", clicks)):
        finite = [v for v in values if v != float("inf")]
        print(
            f"{name:12s} p50 {statistics.median(finite) if finite else float('inf'):.2f} s  "
            f"p95 {_pct(values, 0.95):.2f} s  max {max(values):.2f} s  never {len(values) - len(finite)}"
        )
    print(
        f"Voilà log: {log.count('ping timeout')} ping timeouts, {log.count('Nudge: attempt')} nudge warnings, "
        f"{log.count('the nudge consumed')} IOPub messages the nudge consumed and kernel_ws delivered"
    )
    return 1 if stalled else 0


if __name__ == "__main__":
    raise SystemExit(main())
