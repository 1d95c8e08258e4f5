"""Serve the dashboards with Voilà, configured by the repository's ``voila.json``.

``voila_command`` builds the argv and environment of the Voilà process; ``serve_dashboards`` runs it in the
foreground (``conferencing serve`` / ``conferencing demo``). The browser-test harness uses ``voila_command`` too,
so tests run the same server, with the same config, as users do.

What ``voila.json`` sets, and why (JSON cannot carry comments, so they live here):

- ``VoilaConfiguration.preheat_kernel`` with ``VoilaKernelManager.kernel_pools_config``: one preheated kernel
  each for ``conferencing.ipynb``, ``whiteboard.ipynb`` and ``call.ipynb`` (keys are paths relative to the
  served folder; Voilà looks the rendered notebook up by exactly that string). ``"default": {"pool_size": 0}``
  keeps every other notebook cold: in directory mode Voilà would otherwise preheat *and execute* every notebook
  under the root. Preheat cannot be combined with ``prelaunch_hook`` or ``progressive_rendering`` (Voilà refuses
  to start), so do not add either.
- ``Voila.tornado_settings.websocket_max_message_size`` = 16 MiB, as a JSON number: the CLI's
  ``key=value`` form stores a string and breaks tornado. Frames above the limit are silently dropped.
- ``Voila.tornado_settings.disable_check_xsrf`` = true. TRADE-OFF: without it the page's ``beforeunload``
  shutdown beacon (``POST /voila/api/shutdown/<kernel>``) is refused with ``403 '_xsrf' argument missing``
  (upstream voila issue 1458) and every closed or reloaded page leaks a ~60 MB kernel until culled. Disabling it
  removes tornado's cross-site request forgery check for this server's POST endpoints, which are Voilà's own
  kernel endpoints: a foreign web page could shut down or interrupt a kernel whose id it knows (ids are random
  UUIDs that are never shown to other users). No cookie-authorised endpoint changes our data: every write goes
  through the kernel, which checks the signed link, or through the upload endpoint, which takes a bearer token in
  a header that a cross-site page cannot send. We accept that; culling is the second line of defence.
- ``MappingKernelManager.cull_idle_timeout`` 600 s / ``cull_interval`` 60 s, ``cull_connected`` false: an open
  page is never culled. Kernels of pages that vanished without the beacon (crash, lost network) are shut down by
  ``voila.kernel_pool.PoolKernelManager`` once they have had no websocket connection for ``abandon_timeout``
  (``PoolKernelManager.abandon_timeout``, default: ``cull_idle_timeout``), however busy their conversations are:
  the idle rule alone never fired for them, because live widget updates count as activity.
- ``Voila.tornado_settings.ws_ping_interval`` 10000 ms (jupyter_server's websocket ping; its timeout defaults to
  3 intervals): a page whose network vanished without closing the connection is disconnected within ~30-40 s, and
  then counts as abandoned. Do NOT set ``ws_ping_timeout`` to the interval or less: jupyter_server checks the
  pong age *before* sending each ping, so every socket is then closed at its first ping (measured: each page
  reconnected every 30 s with the old ``ws_ping_timeout: 30000``, which had hidden a test-harness stall).
- ``Voila.ip`` 127.0.0.1 and ``open_browser`` false: put a reverse proxy in front for remote users.
- ``Voila.kernel_websocket_connection_class`` = ``voila.kernel_ws.NoDelayKernelWebsocketConnection``:
  jupyter_server's class with ``TCP_NODELAY`` set. Tornado leaves Nagle on, which added ~40 ms to every widget
  round trip that follows another one (measured 48 ms -> 3 ms) and capped chunked uploads.
- ``Voila.identity_provider_class`` = ``voila.upload_handler.UploadIdentityProvider``: jupyter_server's default
  identity provider plus the resumable upload endpoint's routes (``/conferencing/upload/``). Standalone Voilà
  loads no server extensions; the identity provider's handlers are the one set it mounts from configuration.

Feed relay: ``serve_dashboards`` starts ``python -m conferencing_widgets.store.relay`` beside
Voilà, with the same ``CONFERENCING_*`` variables as the kernels, so both derive the same socket
(``relay_socket`` or ``data_dir/feed-relay.sock``). Every page kernel of this server then shares the relay's one
``LISTEN`` connection instead of opening its own. If it is missing or dies, kernels fall back / retry and catch up
by id. A relay already answering on that socket (a second server on the same data folder) is reused. On
PostgreSQL it holds the server's one ``LISTEN`` connection; on SQLite its one inotify instance watches every page's
doorbells (Linux allows 128 instances per user by default, fewer than the pages of a busy server).

FontAwesome: Voilà 0.5's ``lab`` template links FontAwesome 5 CSS from cdn.jsdelivr.net, which is unreachable
offline. There is no setting to change that link (only a custom template could drop it). Voilà's own front-end
bundle already ships FontAwesome 5.15.4's CSS and fonts under ``/voila/static/``, so icons may still render, but
the dashboards do not rely on icons at all: every control carries a text label.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from types import FrameType

from conferencing_widgets.core.config import ENV_PREFIX, Settings
from conferencing_widgets.core.errors import ConferencingError, InvalidInput

CONFIG_NAME = "voila.json"
HEALTH_PATH = "/voila/static/voila.js"
"""A static file every page loads: a cheap readiness probe (a GET of a notebook URL would start a kernel)."""
# Settings.base_url's default follows the served port; an explicitly configured public URL is kept.
_DEFAULT_BASE_URL = Settings().base_url


def voila_config_dir() -> Path:
    """The folder holding ``voila.json``: inside the package (installed wheel) or the repository root (checkout)."""
    package_dir = Path(__file__).resolve().parent.parent
    for folder in (package_dir, package_dir.parent):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise ConferencingError(
        f"{CONFIG_NAME} not found next to the package or at the repository root ({package_dir.parent}). "
        "Reinstall conferencing_widgets or restore the file from the repository."
    )


def default_dashboards_dir() -> Path:
    """``./dashboards`` of the current folder; a clear error if it is missing."""
    folder = Path("dashboards")
    if not folder.is_dir():
        raise InvalidInput(
            f"No dashboards folder at {folder.resolve()}. Run from the repository root or pass --dashboards DIR."
        )
    return folder.resolve()


def _absolute_store_url(url: str) -> str:
    """A SQLite URL with a relative file path made absolute: kernels run in the dashboards folder, not here."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidInput(f"Not a store URL: {url!r}. Use sqlite:///PATH or postgresql+psycopg://...") from exc
    database = parsed.database
    if (
        parsed.get_backend_name() == "sqlite"
        and database
        and database != ":memory:"
        and not database.startswith("file:")
    ):
        if not os.path.isabs(database):
            return parsed.set(database=str(Path(database).resolve())).render_as_string(hide_password=False)
    return url


def settings_env(settings: Settings, *, base_url: str | None = None) -> dict[str, str]:
    """``CONFERENCING_*`` variables that reproduce ``settings`` exactly in a kernel running in any folder."""
    env: dict[str, str] = {}
    for f in fields(Settings):
        env[ENV_PREFIX + f.name.upper()] = str(getattr(settings, f.name))
    env[ENV_PREFIX + "DATA_DIR"] = str(settings.data_dir.resolve())
    env[ENV_PREFIX + "STORE"] = _absolute_store_url(settings.store_url)
    if settings.blob_url and "://" not in settings.blob_url:
        env[ENV_PREFIX + "BLOB_URL"] = str(Path(settings.blob_url).expanduser().resolve())
    if base_url is not None:
        env[ENV_PREFIX + "BASE_URL"] = base_url
    return env


def voila_command(
    settings: Settings,
    *,
    port: int,
    dashboards_dir: Path | None,
    ip: str = "127.0.0.1",
    extra_args: Sequence[str] = (),
) -> tuple[list[str], dict[str, str]]:
    """Argv and environment for a Voilà process serving ``dashboards_dir`` in directory mode on ``ip:port``.

    Pages are at ``/voila/render/<name>.ipynb?token=...``. Every setting reaches the kernels through
    ``CONFERENCING_*`` variables (any inherited ones are replaced, ``CONFERENCING_CONFIG`` is dropped because
    the variables already carry every value). ``extra_args`` are appended to the argv as given; command-line
    traitlets options override ``voila.json`` (tests use ``--MappingKernelManager.cull_idle_timeout=10`` to
    watch culling happen in seconds). Raises ``InvalidInput`` for a bad port, folder or missing secret, or an
    extra argument that is not an option (``--...``).
    """
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise InvalidInput(f"Not a TCP port: {port!r}. Use a number from 1 to 65535.")
    if not settings.secret:
        raise InvalidInput("No link secret is configured: set CONFERENCING_SECRET (dashboards check signed links).")
    folder = default_dashboards_dir() if dashboards_dir is None else Path(dashboards_dir).expanduser().resolve()
    if not folder.is_dir():
        raise InvalidInput(f"Dashboards folder {folder} does not exist or is not a folder.")
    # A bare string would be split into characters, and a positional argument would be read as a second folder.
    options = list(extra_args)
    if isinstance(extra_args, str) or not all(isinstance(a, str) and a.startswith("--") and a != "--" for a in options):
        raise InvalidInput(f"Extra Voila arguments must be a list of --options, not {extra_args!r}.")
    host = reachable_host(ip)
    base_url = f"http://{host}:{port}" if settings.base_url == _DEFAULT_BASE_URL else None

    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update(settings_env(settings, base_url=base_url))
    if host != "127.0.0.1":
        # Preheated kernels fetch their visitor's request from Voila at this address (Voila's default: 127.0.0.1).
        env["VOILA_APP_IP"] = host
    argv = [
        sys.executable,
        "-m",
        "voila",
        str(folder),
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--no-browser",
        # Fail instead of silently moving to another port: callers print and test the URL they asked for.
        "--Voila.port_retries=0",
        # Only our voila.json: not the cwd's nor ~/.jupyter's, so serving behaves the same from any folder.
        f"--Voila.config_file_paths={voila_config_dir()}",
        *options,
    ]
    return argv, env


def relay_command(settings: Settings) -> tuple[list[str], dict[str, str]] | None:
    """Argv and environment of this server's feed relay, or None for an in-memory store."""
    from sqlalchemy.engine import make_url

    url = make_url(_absolute_store_url(settings.store_url))
    if url.get_backend_name() == "sqlite" and (not url.database or url.database == ":memory:"):
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update(settings_env(settings))
    return [sys.executable, "-m", "conferencing_widgets.store.relay"], env


def start_relay(settings: Settings, *, timeout: float = 10.0) -> subprocess.Popen[bytes] | None:
    """Start the feed relay and wait until its socket answers; None when not needed or already running.

    A relay that already answers on the socket is shared (None). One that does not come up is logged, not fatal:
    kernels then LISTEN on their own connections.
    """
    from conferencing_widgets.store import relay

    command = relay_command(settings)
    if command is None:
        return None
    argv, env = command
    path = relay.relay_socket_path(socket_setting=settings.relay_socket, data_dir=settings.data_dir)
    if relay.probe(path):
        print(f"Feed relay already answers at {path}; sharing it.", flush=True)
        return None
    proc = subprocess.Popen(argv, env=env, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if relay.probe(path, timeout=0.2):
            print(f"Feed relay listening at {path}.", flush=True)
            return proc
        time.sleep(0.05)
    print(f"Feed relay did not start at {path}; each page will LISTEN on its own connection.", flush=True)
    stop_voila(proc, grace=2.0)
    return None


def free_port(ip: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``ip`` (another process may still take it before Voilà binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((ip, 0))
        return int(sock.getsockname()[1])


def wait_until_serving(base_url: str, *, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Poll ``HEALTH_PATH`` until it answers 200; the seconds it took. ``ConferencingError`` on exit or timeout."""
    started = time.monotonic()
    url = base_url.rstrip("/") + HEALTH_PATH
    while True:
        if proc is not None and proc.poll() is not None:
            raise ConferencingError(f"Voila exited with status {proc.returncode} before serving {base_url}.")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() - started > timeout:
            raise ConferencingError(f"Voila did not answer {url} within {timeout:.0f} s.")
        time.sleep(0.1)


def stop_voila(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM (Voilà stops its loop and shuts its kernels down), then SIGKILL after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def reachable_host(ip: str) -> str:
    """The address to reach a server listening on ``ip`` (all interfaces: through loopback)."""
    return "127.0.0.1" if ip in ("", "0.0.0.0", "::") else ip


def serve_dashboards(
    settings: Settings, *, port: int, dashboards_dir: Path | None = None, ip: str = "127.0.0.1"
) -> None:
    """Run Voilà in the foreground until Ctrl-C (or SIGTERM), printing the URL first."""
    argv, env = voila_command(settings, port=port, dashboards_dir=dashboards_dir, ip=ip)
    host = reachable_host(ip)
    print(f"Serving {argv[3]} with Voila at http://{host}:{port}/ (Ctrl-C to stop).", flush=True)
    print(f"Signed links: conferencing link USER --base-url http://{host}:{port}", flush=True)

    def _terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    relay_proc = start_relay(settings)
    code = 0
    try:
        # Own session: Ctrl-C reaches only us, and we stop Voilà exactly once, so its kernel shutdown is not cut
        # short.
        proc = subprocess.Popen(argv, env=env, start_new_session=True)
        try:
            code = proc.wait()
        except KeyboardInterrupt:
            print("Stopping Voila and its kernels...", flush=True)
        finally:
            stop_voila(proc)
    finally:
        if relay_proc is not None:
            stop_voila(relay_proc, grace=5.0)
        signal.signal(signal.SIGTERM, previous)
    if code != 0:
        raise ConferencingError(
            f"Voila exited with status {code}; see its output above (a port already in use is a common cause)."
        )
