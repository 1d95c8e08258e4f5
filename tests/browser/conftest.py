"""Real-browser test harness: headless Chromium (Playwright, sync API) against live Voilà servers.

Every browser test uses these fixtures; mark such tests ``@pytest.mark.browser``.

``chromium`` (session)
    A Playwright ``Browser`` launched from ``/usr/bin/chromium`` with the project's flags, headless. Skips when
    Chromium is missing, except under ``CI=true``, where it fails.

``voila_server`` (function-scoped factory over a session-wide pool)
    ``voila_server(*, store_url, secret, data_dir, extra_env=None, dashboards_dir=None, reuse=True, extra_args=())
    -> VoilaServer`` starts ``python -m voila`` exactly as ``conferencing serve`` does (``serve.voila_command``: the
    repository's ``voila.json``, settings passed as ``CONFERENCING_*`` variables) on a free port of 127.0.0.1 and
    returns once ``/voila/static/voila.js`` answers. ``dashboards_dir`` defaults to the repository's ``dashboards/``.
    ``extra_args`` are Voilà command-line options appended after ``voila.json`` (they override it), e.g.
    ``["--MappingKernelManager.cull_idle_timeout=10"]``.
    With ``reuse=True`` servers are pooled for the whole session, keyed by all arguments, so tests that share a
    store share a server (starting one costs seconds); at most ``MAX_POOLED`` idle servers stay alive, the least
    recently used are stopped. ``reuse=False`` gives a private server stopped at the end of the test. Stopping
    verifies (psutil) that Voilà and every kernel process it started are gone; leftovers fail the test.
    A test that shares a server must not assume it is the only visitor: use your own users / conversations.

``page`` (function-scoped factory)
    ``page(url=None, *, wait_for=None, timeout_ms=60_000, dialogs="dismiss", **context_options) -> RecordedPage``
    opens a fresh browser context and page (own cookies and storage), records
    console messages, uncaught page errors, dialogs and requests, and optionally navigates to ``url`` and waits for
    the CSS selector ``wait_for`` to be visible. Requests to hosts other than 127.0.0.1/localhost never leave the
    machine (Chromium starts with such hosts unresolvable, so Voilà's FontAwesome stylesheet from cdn.jsdelivr.net
    simply fails); they are listed in ``external_requests``. At the end of the test every page is closed like a
    user closing the tab (``RecordedPage.close()``: unload handlers run, Voilà shuts the kernel down), then its
    context. Playwright's ``context.close()`` alone skips unload and leaves the page's kernel running until culled.

``world`` (module) and ``server`` (function)
    ``world`` is ``(store, data_dir)``: a demo store (``seed_demo``) of the test module's own, on SQLite; a module
    that sets ``BOTH_BACKENDS = True`` runs once on SQLite and once on a throwaway PostgreSQL database.
    ``server`` is the pooled Voilà server of that store. A module with a world of its own defines both fixtures.

Helpers (import with ``from .support import wait_for_text, VoilaServer, RecordedPage``; ``wait_for_text`` is
also a fixture): ``wait_for_text(locator, text, timeout_ms=15_000)``.

When a test fails, the tail of each server's log and each page's console errors are printed in its report.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pytest
from support import throwaway_pg_database  # tests/support.py (tests/ is on sys.path)

from conferencing_widgets.core.config import Settings
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.store import Store
from conferencing_widgets.testing import CHROMIUM, launch_chromium

from .support import (
    _REPORTS,
    BROWSER_SECRET,
    IN_CI,
    REPO_DASHBOARDS,
    RecordedPage,
    VoilaFactory,
    VoilaPool,
    VoilaServer,
    _failed,
    _install_recorders,
    _start_server,
    record_external_requests,
    wait_for_text,
)


@pytest.fixture(scope="session")
def _voila_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaPool]:
    pool = VoilaPool(tmp_path_factory.mktemp("voila-logs"))
    yield pool
    pool.close()


@pytest.fixture()
def voila_server(
    _voila_pool: VoilaPool, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[VoilaFactory]:
    """Factory: ``voila_server(*, store_url, secret, data_dir, extra_env=None, dashboards_dir=None, reuse=True,
    extra_args=())``."""
    used: set[VoilaServer] = set()
    private: list[VoilaServer] = []

    def start(
        *,
        store_url: str,
        secret: str,
        data_dir: Path | str,
        extra_env: Mapping[str, str] | None = None,
        dashboards_dir: Path | str | None = None,
        reuse: bool = True,
        extra_args: Sequence[str] = (),
    ) -> VoilaServer:
        settings = Settings(data_dir=Path(data_dir).resolve(), store=store_url, secret=secret)
        folder = Path(dashboards_dir).resolve() if dashboards_dir is not None else REPO_DASHBOARDS
        env = dict(extra_env or {})
        if reuse:
            server = _voila_pool.get(settings, folder, env, in_use=used, extra_args=extra_args)
        else:
            server = _start_server(settings, folder, env, tmp_path_factory.mktemp("voila-private"), extra_args)
            private.append(server)
        used.add(server)
        return server

    yield start
    if _failed(request):
        for server in used:
            print(f"\n--- Voilà log tail ({server.base_url}, {server.dashboards_dir}) ---\n{server.log(tail=80)}")
    for server in private:
        server.stop()


# -- the demo store most modules test against ------------------------------------------------------

# The PostgreSQL runs are slow-marked: `make test` keeps the SQLite ones, CI (`make test-slow`) runs both.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.slow])]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Modules asking for both backends get ``world`` parametrised here; a module's own ``world`` is left alone.
    module = metafunc.module
    if "world" in metafunc.fixturenames and getattr(module, "BOTH_BACKENDS", False) and not hasattr(module, "world"):
        metafunc.parametrize("world", BACKENDS, indirect=True, scope="module")


@pytest.fixture(scope="module")
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    """A demo store of this module's own (so its server serves this module's visitors only), dropped afterwards."""
    backend = getattr(request, "param", "sqlite")
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    data_dir = tmp_path_factory.mktemp(f"{name}-{backend}")
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{data_dir / 'store.db'}"
        else:
            url = stack.enter_context(throwaway_pg_database(f"cw_test_{name}"[:40]))
        store = Store(url)
        stack.callback(store.close)
        seed_demo(store)
        yield store, data_dir


@pytest.fixture()
def server(world: tuple[Store, Path], voila_server: VoilaFactory) -> VoilaServer:
    """The (pooled) Voilà server of this module's demo store."""
    store, data_dir = world
    return voila_server(store_url=store.url, secret=BROWSER_SECRET, data_dir=data_dir)


# -- Chromium and pages -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Chromium (a Playwright ``Browser``) for the whole session."""
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM} (install Debian's chromium or set CW_TEST_CHROMIUM)"
        if IN_CI:
            pytest.fail(f"{reason}; CI=true: browser tests must run", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright.chromium)
        yield browser
        browser.close()


FAILURE_SHOTS = Path(__file__).resolve().parents[2] / "build" / "browser-failures"
"""Where a failed test's pages are photographed (the CI log names the files)."""


def _report_failed_page(record: RecordedPage, name: str) -> None:
    """What a page and its popups showed when its test failed: errors, the last console lines (of all of them),
    widget counts and a screenshot of each window."""
    print(f"\n--- page {record.page.url}: errors {record.errors()} dialogs {record.dialogs}")
    for kind, text in record.console[-15:]:
        print(f"    console {kind}: {text[:300]}")
    try:
        windows = list(record.context.pages)
    except Exception:  # noqa: BLE001 - a closed context: only the first page is known
        windows = [record.page]
    for index, window in enumerate(windows):
        try:
            counts = window.evaluate(
                """() => Object.fromEntries(['.jupyter-widgets', '.cw-whiteboard-canvas', '.cw-wb-count', '.cw-app',
                    '.jp-OutputArea-output', '.voila-spinner, #loading']
                    .map(s => [s, document.querySelectorAll(s).length]))"""
            )
            print(f"    window {index} {window.url}: elements {counts}")
            nudges = window.evaluate(
                "() => [...document.querySelectorAll('.cw-wb-nudge')].map(e => ({...e.dataset}))"
            )
            if nudges:  # a whiteboard page: how far its ready nudges went (assets/ready_nudge.js)
                print(f"    ready nudges {nudges}")
            FAILURE_SHOTS.mkdir(parents=True, exist_ok=True)
            shot = FAILURE_SHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}-{index}.png"
            window.screenshot(path=str(shot), timeout=10_000)
            print(f"    screenshot {shot}")
        except Exception as exc:  # a closed or crashed window: the lines above are all there is
            print(f"    window {index}: no state ({exc})")


@pytest.fixture()
def page(chromium: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., RecordedPage]]:
    """Factory: ``page(url=None, *, wait_for=None, timeout_ms=60_000, dialogs="dismiss", **context_options)
    -> RecordedPage``."""
    opened: list[RecordedPage] = []

    def open_page(
        url: str | None = None,
        *,
        wait_for: str | None = None,
        timeout_ms: float = 60_000,
        dialogs: Literal["dismiss", "accept"] = "dismiss",
        **context_options: Any,
    ) -> RecordedPage:
        context = chromium.new_context(**context_options)
        context.set_default_timeout(timeout_ms)
        pg = context.new_page()
        record = RecordedPage(page=pg, context=context)
        opened.append(record)
        _install_recorders(record, pg)
        # Popups of the same context (new windows opened by the dashboard) are recorded too.
        context.on("page", lambda popup: _install_recorders(record, popup) if popup is not pg else None)
        context.on("request", lambda req: record.requests.append((req.method, req.url)))
        context.on("requestfailed", lambda req: record.failed_requests.append((req.url, req.failure or "")))

        def on_dialog(dialog: Any) -> None:
            record.dialogs.append((dialog.type, dialog.message))
            # A dismissed beforeunload would keep the page open; leaving is what closing/navigating means.
            if dialogs == "accept" or dialog.type == "beforeunload":
                dialog.accept()
            else:
                dialog.dismiss()

        context.on("dialog", on_dialog)
        record_external_requests(context, record.external_requests)
        if url is not None:
            pg.goto(url)
            if wait_for is not None:
                pg.locator(wait_for).first.wait_for(state="visible")
        return record

    yield open_page
    if _failed(request):
        for index, record in enumerate(opened):
            _report_failed_page(record, f"{request.node.name}-{index}")
    for record in opened:
        try:
            # Close pages first, as a user would, so their kernels are shut down instead of waiting for culling.
            for pg in record.context.pages:
                RecordedPage(page=pg, context=record.context).close()
            record.context.close()
        except Exception:  # noqa: BLE001 - the browser may already be gone; nothing left to clean
            pass


@pytest.fixture(name="wait_for_text")
def _wait_for_text_fixture() -> Callable[..., Any]:
    """The ``wait_for_text`` helper, for tests that prefer a fixture to an import."""
    return wait_for_text


# -- failure reporting --------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report
