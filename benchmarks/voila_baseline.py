"""Time from navigation to a selector being visible, for Voilà pages in headless Chromium.

The baseline is a one-button ipywidgets notebook served exactly like the dashboards (``serve.voila_command``, the
repository's ``voila.json``), once as ``button.ipynb`` (a cold kernel per visit) and once as
``conferencing.ipynb`` (preheated by ``voila.json``). A dashboard benchmark imports the helpers::

    from voila_baseline import launched_chromium, running_voila, time_to_visible, measure

    with running_voila(dashboards_dir, settings=settings) as served, launched_chromium() as browser:
        times = measure(browser, served.url("conferencing.ipynb", token=...), ".cw-app", runs=5, served=served)

Each visit uses a fresh browser context (empty cache, like a first visit) and closes its page like a user closing
the tab, so the page's kernel is shut down before the next run.

Usage: .venv/bin/python benchmarks/voila_baseline.py [--runs 5] [--mode cold|preheated|both]
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import nbformat
import psutil

from conferencing_widgets.core.config import Settings
from conferencing_widgets.testing import launch_chromium
from conferencing_widgets.voila.serve import free_port, stop_voila, voila_command, wait_until_serving

BUTTON_SELECTOR = ".baseline-button"
BUTTON_SOURCE = """\
import ipywidgets as w
from voila.utils import get_query_string

get_query_string()  # what a dashboard does first; in a preheated kernel it waits for the visitor
button = w.Button(description="Ping")
button.add_class("baseline-button")
display(button)
"""
POOL_FILLED = "Kernel pool of {name} is filled"


def write_notebook(folder: Path, name: str, source: str = BUTTON_SOURCE) -> Path:
    """A one-cell Python notebook ``folder/name``."""
    folder.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    path = folder / name
    nbformat.write(notebook, path)
    return path


@dataclass
class ServedVoila:
    """A Voilà process started by :func:`running_voila`."""

    base_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    started_in: float

    def url(self, notebook: str, **params: str) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self.base_url}/voila/render/{notebook}{query}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def pool_fills(self, notebook: str) -> int:
        """How often Voilà has reported the preheated pool of ``notebook`` full."""
        return self.log().count(POOL_FILLED.format(name=notebook))

    def wait_for_pool(self, notebook: str, fills: int, timeout: float = 120.0) -> None:
        """Wait until the pool of ``notebook`` has been filled ``fills`` times (so the next visit is warm)."""
        deadline = time.monotonic() + timeout
        while self.pool_fills(notebook) < fills:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the kernel pool of {notebook} was not refilled within {timeout} s")
            time.sleep(0.1)


@contextlib.contextmanager
def running_voila(
    dashboards_dir: Path,
    *,
    settings: Settings | None = None,
    extra_env: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
) -> Iterator[ServedVoila]:
    """Serve ``dashboards_dir`` like ``conferencing serve`` on a free port; stop it and its kernels afterwards."""
    with contextlib.ExitStack() as stack:
        if settings is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cw-bench-")))
            settings = Settings(data_dir=data_dir, secret=secrets.token_urlsafe(16))
        logs = log_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cw-bench-log-")))
        port = free_port()
        argv, env = voila_command(settings, port=port, dashboards_dir=dashboards_dir)
        env.update(extra_env or {})
        log_path = logs / f"voila-{port}.log"
        started = time.monotonic()
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        children: list[psutil.Process] = []
        try:
            wait_until_serving(f"http://127.0.0.1:{port}", proc=proc, timeout=120)
            yield ServedVoila(f"http://127.0.0.1:{port}", proc, log_path, time.monotonic() - started)
        finally:
            with contextlib.suppress(psutil.NoSuchProcess):
                children = psutil.Process(proc.pid).children(recursive=True)
            stop_voila(proc)
            _, alive = psutil.wait_procs(children, timeout=10)
            for leftover in alive:  # never leave a kernel behind, even if Voilà failed to stop it
                with contextlib.suppress(psutil.NoSuchProcess):
                    leftover.kill()


@contextlib.contextmanager
def launched_chromium(headless: bool = True) -> Iterator[Any]:
    """Headless Chromium (a Playwright ``Browser``) with the project's flags."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright.chromium, headless=headless)
        try:
            yield browser
        finally:
            browser.close()


def _keep_local(route: Any) -> None:
    """Serve no request from the internet: Voilà's FontAwesome CDN CSS gets an empty stylesheet, the rest aborts."""
    host = urlsplit(route.request.url).hostname or ""
    if host in ("127.0.0.1", "localhost"):
        route.fallback()
    elif route.request.resource_type == "stylesheet":
        route.fulfill(status=200, content_type="text/css", body="")
    else:
        route.abort("blockedbyclient")


def time_to_visible(browser: Any, url: str, selector: str, *, timeout_s: float = 120.0) -> float:
    """Seconds from starting navigation to ``url`` until ``selector`` is visible, in a fresh context."""
    context = browser.new_context()
    context.route("**/*", _keep_local)
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
        page.locator(selector).first.wait_for(state="visible", timeout=timeout_s * 1000)
        elapsed = time.perf_counter() - started
        page.close(run_before_unload=True)  # like closing the tab: Voilà shuts the page's kernel down
        with contextlib.suppress(Exception):
            page.wait_for_event("close", timeout=5000)
        return elapsed
    finally:
        context.close()


def measure(
    browser: Any, url: str, selector: str, *, runs: int = 5, served: ServedVoila | None = None, pooled: str = ""
) -> list[float]:
    """``runs`` time-to-visible samples. With ``pooled`` (a preheated notebook name) and ``served``, each run
    waits until Voilà has refilled that notebook's pool, so every visit gets a warm kernel."""
    warm = served is not None and bool(pooled)
    samples = []
    for _ in range(runs):
        fills = served.pool_fills(pooled) if served is not None and warm else 0
        if served is not None and warm:
            served.wait_for_pool(pooled, max(fills, 1))
        samples.append(time_to_visible(browser, url, selector))
        if served is not None and warm:
            served.wait_for_pool(pooled, max(fills, 1) + 1)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="visits per mode (default 5)")
    parser.add_argument("--mode", choices=["cold", "preheated", "both"], default="both")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cw-baseline-") as tmp:
        folder = Path(tmp) / "dashboards"
        write_notebook(folder, "button.ipynb")
        write_notebook(folder, "conferencing.ipynb")  # the name voila.json preheats
        with running_voila(folder) as served, launched_chromium() as browser:
            print(f"Voila answered after {served.started_in:.2f} s")
            modes = ["cold", "preheated"] if args.mode == "both" else [args.mode]
            for mode in modes:
                name = "button.ipynb" if mode == "cold" else "conferencing.ipynb"
                pooled = name if mode == "preheated" else ""
                samples = measure(
                    browser, served.url(name), BUTTON_SELECTOR, runs=args.runs, served=served, pooled=pooled
                )
                print(
                    f"{mode:>9} ({name}): median {statistics.median(samples):.2f} s over {len(samples)} runs "
                    f"(min {min(samples):.2f}, max {max(samples):.2f})"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
