"""Browser-test helpers: a Voilà server per test module or pooled, recorded pages, and waits on the DOM.

Test modules import these by name (``from .support import VoilaServer, wait_for_text``); ``conftest.py`` holds only
the fixtures.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import psutil
import pytest

from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.identity import dashboard_url, parse_duration
from conferencing_widgets.core.model import ConversationKind
from conferencing_widgets.store import Store, relay_client
from conferencing_widgets.store.wakers import ENV_NO_RELAY
from conferencing_widgets.voila.serve import free_port, relay_command, stop_voila, voila_command, wait_until_serving

IN_CI = os.environ.get("CI", "").lower() == "true"


REPO_ROOT = Path(__file__).resolve().parents[2]


REPO_DASHBOARDS = REPO_ROOT / "dashboards"


MAX_POOLED = 2
# The demo's first case (Alice's company, ACME; Tom is its technician).
DEMO_CASE = "SR-2026-00042"
# The secret of the shared fixtures' servers (conftest ``server``); modules signing tokens themselves import it.
BROWSER_SECRET = "browser-test-secret"


"""Idle pooled Voilà servers kept alive (each is ~80 MB plus ~60 MB per preheated kernel)."""


SERVER_START_TIMEOUT = 90.0


LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


# -- helpers ------------------------------------------------------------------------------------


def is_external(url: str) -> bool:
    """Whether a request would leave the machine."""
    if url.startswith(("data:", "blob:", "about:")):
        return False
    return (urlsplit(url).hostname or "") not in LOCAL_HOSTS


def record_external_requests(context: Any, record: list[str]) -> None:
    """Append to ``record`` the URL of every request of ``context`` to another host (which ``CHROMIUM_ARGS`` makes
    fail: such hosts do not resolve)."""
    context.on("request", lambda req: record.append(req.url) if is_external(req.url) else None)


def wait_for_text(locator: Any, text: str, timeout_ms: float = 15_000) -> Any:
    """Wait until one element matched by ``locator`` is visible and contains ``text``; return that element.

    Raises ``AssertionError`` naming what the locator showed instead.
    """
    from playwright.sync_api import Error as PlaywrightError

    target = locator.filter(has_text=text).first
    try:
        target.wait_for(state="visible", timeout=timeout_ms)
    except PlaywrightError as exc:
        try:
            seen = locator.all_inner_texts()
        except PlaywrightError:
            seen = ["<locator not readable>"]
        waited = f"{timeout_ms / 1000:.1f} s"
        raise AssertionError(f"{text!r} did not appear within {waited}; the locator showed {seen!r}") from exc
    return target


def _kernel_processes(pid: int) -> list[psutil.Process]:
    """Live kernel processes below ``pid``."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if "ipykernel_launcher" in " ".join(child.cmdline()):
                found.append(child)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            continue
    return found


# -- Voilà servers ------------------------------------------------------------------------------


@dataclass(eq=False)
class VoilaServer:
    """A running Voilà process, started like ``conferencing serve``."""

    base_url: str
    """``http://127.0.0.1:<port>`` (no trailing slash)."""
    port: int
    settings: Settings
    """The settings the kernels see (through ``CONFERENCING_*`` variables)."""
    dashboards_dir: Path
    proc: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False)
    started_in: float = 0.0
    """Seconds from spawn to the health check answering."""
    relay_proc: subprocess.Popen[bytes] | None = None
    """This server's feed relay, started as ``conferencing serve`` starts it (None: ``CONFERENCING_FEED_NO_RELAY=1``
    in ``extra_env``, the per-kernel fallback of a server whose relay did not come up)."""

    @property
    def relay_socket(self) -> Path | None:
        return Path(self.settings.relay_socket) if self.relay_proc is not None else None

    def relay_stats(self) -> dict[str, int]:
        """The relay's counters (``clients``: page kernels following through it now)."""
        assert self.relay_socket is not None, "this server runs without a feed relay"
        return relay_client.relay_stats(self.relay_socket)

    @property
    def secret(self) -> str:
        return self.settings.secret

    def url(self, notebook: str, **params: str | int) -> str:
        """Unsigned URL of a notebook, e.g. ``url("conferencing.ipynb", token="bad")``."""
        query = f"?{urlencode({k: str(v) for k, v in params.items()})}" if params else ""
        return f"{self.base_url}/voila/render/{notebook}{query}"

    def link(
        self,
        login: str,
        notebook: str = "conferencing.ipynb",
        ttl: timedelta | str = timedelta(hours=1),
        **params: str | int,
    ) -> str:
        """A signed dashboard link for ``login`` (``identity.dashboard_url``), ``ttl`` like ``"30m"`` or a timedelta."""
        lifetime = parse_duration(ttl) if isinstance(ttl, str) else ttl
        return dashboard_url(self.base_url, login, self.secret, lifetime, notebook=notebook, **params)

    def log(self, tail: int | None = None) -> str:
        """Server (and kernel stderr) output so far; the last ``tail`` lines only if given."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"<no log: {exc}>"
        return "\n".join(text.splitlines()[-tail:]) if tail else text

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kernel_pids(self) -> list[int]:
        """Pids of the kernel processes this server runs now (preheated ones included)."""
        return sorted(p.pid for p in _kernel_processes(self.proc.pid))

    def kernel_pid(self, kernel_id: str) -> int | None:
        """Pid of the kernel process with this id (its connection file is ``kernel-<id>.json``), if it runs."""
        for proc in _kernel_processes(self.proc.pid):
            try:
                if f"kernel-{kernel_id}.json" in " ".join(proc.cmdline()):
                    return proc.pid
            except psutil.NoSuchProcess:
                continue
        return None

    def wait_for_kernel_count(self, count: int, timeout: float = 30.0) -> list[int]:
        """Wait until exactly ``count`` kernel processes run; their pids. ``AssertionError`` on timeout."""
        deadline = time.monotonic() + timeout
        pids = self.kernel_pids()
        while len(pids) != count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} kernel process(es), found {pids}\n{self.log(tail=40)}")
            time.sleep(0.2)
            pids = self.kernel_pids()
        return pids

    def kernel_status(self, kernel_id: str) -> int:
        """HTTP status of ``GET /api/kernels/<id>``: 200 while the kernel exists, 404 once it is shut down."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/api/kernels/{kernel_id}", timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop Voilà (SIGTERM: it shuts its kernels down) and check that none of its processes survive."""
        try:
            tracked = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            tracked = []
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _, alive = psutil.wait_procs(tracked, timeout=10)
        survivors = []
        for proc in alive:
            try:
                survivors.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
                proc.kill()
            except psutil.NoSuchProcess:
                continue
        if self.relay_proc is not None:
            stop_voila(self.relay_proc, grace=5.0)  # after Voilà, as ``serve_dashboards`` stops it
        if survivors:
            raise AssertionError(f"processes outlived Voilà at {self.base_url}: {survivors}\n{self.log(tail=40)}")


def _start_server(
    settings: Settings,
    dashboards_dir: Path,
    extra_env: Mapping[str, str],
    log_dir: Path,
    extra_args: Sequence[str] = (),
) -> VoilaServer:
    """Spawn the server's feed relay and Voilà on a free port, as ``conferencing serve`` does, and wait for both; a
    few retries if another process grabbed the port first.

    Each server gets a relay socket of its own (the ``relay_socket`` setting, in its log folder), so pooled and
    private servers on one data folder never share, or stop, each other's relay.
    """
    last_error: Exception | None = None
    for _attempt in range(3):
        port = free_port()
        relayed = extra_env.get(ENV_NO_RELAY) != "1" and relay_command(settings) is not None
        if relayed:
            settings = dataclasses.replace(settings, relay_socket=str(log_dir / f"relay-{port}.sock"))
        argv, env = voila_command(settings, port=port, dashboards_dir=dashboards_dir, extra_args=extra_args)
        env.update(extra_env)
        log_path = log_dir / f"voila-{port}.log"
        relay_proc = _start_relay(settings, extra_env, log_dir / f"relay-{port}.log") if relayed else None
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        server = VoilaServer(
            base_url=f"http://127.0.0.1:{port}",
            port=port,
            settings=settings,
            dashboards_dir=dashboards_dir,
            proc=proc,
            log_path=log_path,
            env=env,
            relay_proc=relay_proc,
        )
        try:
            server.started_in = wait_until_serving(server.base_url, timeout=SERVER_START_TIMEOUT, proc=proc)
            return server
        except Exception as exc:  # noqa: BLE001 - retried, then reported with the log
            last_error = exc
            server.stop()
            if "already in use" not in server.log() and "could not be started" not in server.log():
                break
    raise AssertionError(f"Voilà did not start: {last_error}\n{server.log(tail=60)}")


def _start_relay(settings: Settings, extra_env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """The feed relay of one server: ``serve.relay_command`` (what ``serve.start_relay`` runs), logging to a file."""
    command = relay_command(settings)
    assert command is not None, "an in-memory store has no relay"
    argv, env = command
    env.update(extra_env)
    path = Path(settings.relay_socket)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while not relay_client.probe(path, timeout=0.2):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_voila(proc, grace=2.0)
            raise AssertionError(f"the feed relay did not come up at {path}:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.05)
    return proc


ServerKey = tuple[str, str, str, str, tuple[tuple[str, str], ...], tuple[str, ...]]


class VoilaPool:
    """Session-wide Voilà servers, keyed by (store, secret, data dir, dashboards, extra env, extra args)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.servers: OrderedDict[ServerKey, VoilaServer] = OrderedDict()

    def get(
        self,
        settings: Settings,
        dashboards_dir: Path,
        extra_env: Mapping[str, str],
        *,
        in_use: set[VoilaServer],
        extra_args: Sequence[str] = (),
    ) -> VoilaServer:
        key: ServerKey = (
            settings.store,
            settings.secret,
            str(settings.data_dir),
            str(dashboards_dir),
            tuple(sorted(extra_env.items())),
            tuple(extra_args),
        )
        server = self.servers.get(key)
        if server is not None and not server.alive:
            del self.servers[key]
            server = None
        if server is not None:
            self.servers.move_to_end(key)
            return server
        self._evict(keep=in_use)
        server = _start_server(settings, dashboards_dir, extra_env, self.log_dir, extra_args)
        self.servers[key] = server
        return server

    def _evict(self, keep: set[VoilaServer]) -> None:
        idle = [k for k, s in self.servers.items() if s not in keep]
        while len(self.servers) >= MAX_POOLED and idle:
            self.servers.pop(idle.pop(0)).stop()

    def close(self) -> None:
        errors = []
        while self.servers:
            _, server = self.servers.popitem(last=False)
            try:
                server.stop()
            except AssertionError as exc:
                errors.append(str(exc))
        if errors:
            raise AssertionError("\n".join(errors))


VoilaFactory = Callable[..., VoilaServer]


@dataclass
class RecordedPage:
    """A Playwright ``Page`` plus what happened on it. Unknown attributes go to the page (``p.locator(...)``)."""

    page: Any
    context: Any
    console: list[tuple[str, str]] = field(default_factory=list)
    """Every console message as ``(type, text)``."""
    page_errors: list[str] = field(default_factory=list)
    """Uncaught exceptions in the page."""
    dialogs: list[tuple[str, str]] = field(default_factory=list)
    """``(type, message)`` of every alert/confirm/prompt/beforeunload dialog (answered per ``dialogs=``)."""
    requests: list[tuple[str, str]] = field(default_factory=list)
    """``(method, url)`` of every request, including popups of the same context."""
    failed_requests: list[tuple[str, str]] = field(default_factory=list)
    """``(url, failure text)`` of requests that failed (blocked external ones included)."""
    external_requests: list[str] = field(default_factory=list)
    """URLs of requests to other hosts (they fail: other hosts do not resolve)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)

    @property
    def console_errors(self) -> list[str]:
        """Text of console messages of type ``error``."""
        return [text for kind, text in self.console if kind == "error"]

    def errors(self) -> list[str]:
        """Console errors and uncaught page errors together; the failures of requests to other hosts (blocked on
        purpose, and listed in ``external_requests``) are left out."""
        console = [e for e in self.console_errors if "net::ERR_NAME_NOT_RESOLVED" not in e]
        return [*console, *self.page_errors]

    def assert_no_errors(self, *ignore: str) -> None:
        """Fail if the page logged an error or threw, except errors containing one of ``ignore``."""
        found = [e for e in self.errors() if not any(part in e for part in ignore)]
        assert not found, f"page errors: {found}"

    def kernel_id(self) -> str:
        """The id of this page's kernel, from Voilà's page config."""
        raw = self.page.locator("#jupyter-config-data").text_content(timeout=10_000)
        return str(json.loads(raw or "{}")["kernelId"])

    def close(self, run_before_unload: bool = True, timeout: float = 5.0) -> None:
        """Close like a user closing the tab: ``beforeunload``/``unload`` run, so Voilà's page sends its kernel
        shutdown request; waits (up to ``timeout`` s) until the page is really closed."""
        if self.page.is_closed():
            return
        from playwright.sync_api import Error as PlaywrightError

        self.page.close(run_before_unload=run_before_unload)
        if run_before_unload and not self.page.is_closed():
            try:
                self.page.wait_for_event("close", timeout=timeout * 1000)
            except PlaywrightError:
                pass  # a page that refuses to close is closed with its context at teardown


def _install_recorders(record: RecordedPage, page: Any) -> None:
    page.on("console", lambda msg: record.console.append((msg.type, msg.text)))
    page.on("pageerror", lambda exc: record.page_errors.append(str(exc)))


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def _failed(request: pytest.FixtureRequest) -> bool:
    reports = request.node.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


def case_chat(
    store: Store, title: str, *, creator: str = "alice", members: Sequence[str] = ("tom.tech",), case: str = DEMO_CASE
) -> int:
    """A new service-case chat of the demo case ``case`` (Alice's company by default) with ``members``; its id."""
    found = store.get_case_by_number(case)
    return store.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title=title, created_by=creator, members=list(members), case_id=found.id
    ).id


PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
"""A one-pixel PNG, base64."""
PASTE_PNG = """([name, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type: "image/png" }));
  const box = document.querySelector(".cw-composer textarea");
  box.focus();
  box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
}"""
"""``page.evaluate(PASTE_PNG, [name, PNG_1PX])`` pastes a PNG named ``name`` into the composer."""
