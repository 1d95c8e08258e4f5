"""The browser harness and the serving config, proven against a tiny probe notebook.

The probe (written into a temporary dashboards folder, never the repository's) shows what its kernel saw: whether
it was preheated, the query string of the request, the store URL and data folder from the settings. It is saved
twice: as ``conferencing.ipynb`` (preheated by ``voila.json``) and as ``button.ipynb`` (not preheated).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from click.testing import CliRunner

from conferencing_widgets.cli import main as cli_main
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.testing import wait_until
from conferencing_widgets.voila.serve import free_port, voila_command, voila_config_dir

from .support import RecordedPage, VoilaServer, wait_for_text

PROBE = """\
import hashlib, os
import ipywidgets as w
from voila.utils import get_query_string
from conferencing_widgets.core.config import load_settings

query = get_query_string()  # in a preheated kernel this waits for the visitor's request
settings = load_settings()
info = w.HTML(
    f"<span class='probe-preheat'>preheat={os.environ.get('VOILA_PREHEAT')}</span> "
    f"<span class='probe-query'>query={query}</span> "
    f"<span class='probe-store'>store={settings.store_url}</span> "
    f"<span class='probe-data'>data={settings.data_dir}</span> "
    f"<span class='probe-secret'>secret={hashlib.sha256(settings.secret.encode()).hexdigest()[:12]}</span>"
)
button = w.Button(description="Ping")
button.add_class("probe-button")
reply = w.HTML("waiting")
reply.add_class("probe-reply")
clicks = 0


def on_click(_):
    global clicks
    clicks += 1
    reply.value = f"pong {clicks}"


button.on_click(on_click)
display(w.VBox([button, info, reply]))
"""


def write_probe(folder: Path, *names: str) -> None:
    """Save the probe notebook under each name in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(PROBE)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    for name in names:
        nbformat.write(notebook, folder / name)


@pytest.fixture(scope="module")
def probe_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A probe dashboards folder, a data folder and store URL, and a secret, shared by this module's tests."""
    root = tmp_path_factory.mktemp("probe")
    write_probe(root / "dashboards", "conferencing.ipynb", "button.ipynb")
    data_dir = root / "data"
    data_dir.mkdir()
    return {
        "dashboards_dir": root / "dashboards",
        "data_dir": data_dir,
        "store_url": f"sqlite:///{data_dir / 'store.db'}",
        "secret": secrets.token_urlsafe(16),
    }


@pytest.fixture()
def probe_server(voila_server: Callable[..., VoilaServer], probe_env: dict[str, Any]) -> VoilaServer:
    return voila_server(**probe_env)


def click_ping(p: RecordedPage, times: int = 1) -> None:
    for n in range(1, times + 1):
        p.locator(".probe-button").click()
        wait_for_text(p.locator(".probe-reply"), f"pong {n}")


# -- browser ------------------------------------------------------------------------------------


@pytest.mark.browser
def test_button_click_reaches_the_kernel_and_back(
    probe_server: VoilaServer, page: Callable[..., RecordedPage], probe_env: dict[str, Any]
) -> None:
    p = page(probe_server.url("button.ipynb", probe="hello"), wait_for=".probe-button")
    wait_for_text(p.locator(".probe-reply"), "waiting")
    click_ping(p, times=2)

    # The kernel saw the request and the settings the server was started with (absolute paths).
    wait_for_text(p.locator(".probe-query"), "probe=hello")
    wait_for_text(p.locator(".probe-store"), f"store={probe_env['store_url']}")
    wait_for_text(p.locator(".probe-data"), f"data={probe_env['data_dir'].resolve()}")
    wait_for_text(p.locator(".probe-secret"), hashlib.sha256(probe_env["secret"].encode()).hexdigest()[:12])
    p.assert_no_errors()
    # Voilà's FontAwesome CSS from the CDN was answered locally, so the test never depended on the network.
    assert any("cdn.jsdelivr.net" in url for url in p.external_requests), p.external_requests

    # The server listens on loopback only.
    listening = [
        c.laddr.ip
        for c in psutil.Process(probe_server.proc.pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening and set(listening) == {"127.0.0.1"}, listening


@pytest.mark.browser
def test_a_request_the_kernel_leaves_unread_gets_it_poked(
    probe_server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    """The shell watchdog (``voila/shell_watchdog.py``) on real traffic: a stopped kernel stands for one that
    missed its wake-up. Normal clicks never trigger it; an unanswered one is logged and poked, and the page goes
    on once the kernel runs again."""
    p = page(probe_server.url("button.ipynb"), wait_for=".probe-button")
    click_ping(p, times=2)
    kernel = p.kernel_id()
    pids = [q.pid for q in psutil.process_iter(["cmdline"]) if any(kernel in a for a in q.info["cmdline"] or [])]
    assert len(pids) == 1, pids
    assert "poking" not in probe_server.log(), "answered requests never trigger the watchdog"
    os.kill(pids[0], signal.SIGSTOP)
    try:
        p.locator(".probe-button").click()
        wait_until(lambda: "poking" in probe_server.log(), 20, "the watchdog to poke the silent kernel")
    finally:
        os.kill(pids[0], signal.SIGCONT)
    wait_for_text(p.locator(".probe-reply"), "pong 3")
    assert kernel in [line for line in probe_server.log().splitlines() if "poking" in line][0]


@pytest.mark.browser
@pytest.mark.slow  # kernel lifecycles: waits on processes and pools
def test_preheat_is_on_for_conferencing_and_off_for_other_notebooks(
    probe_server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    dashboard = page(probe_server.link("alice", probe="warm"), wait_for=".probe-button")
    other = page(probe_server.url("button.ipynb"), wait_for=".probe-button")

    wait_for_text(dashboard.locator(".probe-preheat"), "preheat=True")
    wait_for_text(other.locator(".probe-preheat"), "preheat=False")
    # A preheated kernel ran the notebook before anyone asked; get_query_string still gave it *this* request.
    wait_for_text(dashboard.locator(".probe-query"), "probe=warm")
    assert "token=" in (dashboard.locator(".probe-query").inner_text())
    click_ping(dashboard)
    log = probe_server.log()
    assert "Kernel pool of conferencing.ipynb is filled" in log
    assert "Kernel pool of button.ipynb" not in log


@pytest.mark.browser
@pytest.mark.slow  # kernel lifecycles: waits on processes and pools
def test_closing_or_reloading_a_page_shuts_its_kernel_down(
    probe_server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    p = page(probe_server.url("button.ipynb"), wait_for=".probe-button")
    click_ping(p)
    first = p.kernel_id()
    first_pid = probe_server.kernel_pid(first)
    assert first_pid is not None and probe_server.kernel_status(first) == 200

    p.reload()
    p.locator(".probe-button").wait_for(state="visible")
    click_ping(p)
    second = p.kernel_id()
    second_pid = probe_server.kernel_pid(second)
    assert second != first and second_pid is not None
    # The reload's shutdown request was accepted (no "_xsrf argument missing"): the old kernel is gone.
    wait_until(lambda: probe_server.kernel_status(first) == 404, 15, "the reloaded page's kernel to shut down")
    wait_until(lambda: not psutil.pid_exists(first_pid), 15, "the old kernel process to exit")

    p.close()  # like closing the tab; Playwright's context.close() alone would skip unload and leak the kernel
    wait_until(lambda: probe_server.kernel_status(second) == 404, 15, "the closed page's kernel to shut down")
    wait_until(lambda: not psutil.pid_exists(second_pid), 15, "the closed page's kernel process to exit")
    assert "_xsrf" not in probe_server.log()


@pytest.mark.browser
@pytest.mark.slow  # kernel lifecycles: waits on processes and pools
def test_stopping_a_server_leaves_no_process_behind(
    probe_server: VoilaServer, page: Callable[..., RecordedPage]
) -> None:
    # A page stays open (its kernel alive) while the server stops: stop() must still take every kernel down.
    page(probe_server.url("button.ipynb"), wait_for=".probe-button")
    everything = [probe_server.proc.pid, *probe_server.kernel_pids()]
    assert len(everything) >= 3, everything  # Voilà, the preheated conferencing kernel, this page's kernel
    assert probe_server.relay_proc is not None, "the harness starts the server's feed relay, as serve does"
    everything.append(probe_server.relay_proc.pid)  # stopped after Voilà
    probe_server.stop()  # the pool starts a new server if a later test asks for this one
    assert not [pid for pid in everything if psutil.pid_exists(pid)]


# -- serve.voila_command and the CLI (no browser) ------------------------------------------------


def voila_conf_class(config: dict[str, Any]) -> str:
    return str(config["VoilaConfiguration"]["multi_kernel_manager_class"])


def test_voila_json_sets_what_serving_relies_on() -> None:
    config = json.loads((voila_config_dir() / "voila.json").read_text(encoding="utf-8"))
    tornado = config["Voila"]["tornado_settings"]
    assert isinstance(tornado["websocket_max_message_size"], int) and tornado["websocket_max_message_size"] > 10 << 20
    assert tornado["disable_check_xsrf"] is True
    assert voila_conf_class(config) == "conferencing_widgets.voila.kernel_pool.PoolKernelManager"
    assert config["Voila"]["ip"] == "127.0.0.1" and config["Voila"]["open_browser"] is False
    voila_conf = config["VoilaConfiguration"]
    assert voila_conf["preheat_kernel"] is True
    assert not voila_conf.get("progressive_rendering") and "prelaunch_hook" not in voila_conf
    pools = config["VoilaKernelManager"]["kernel_pools_config"]
    assert pools["default"]["pool_size"] == 0
    assert {name: pools[name]["pool_size"] for name in ("conferencing.ipynb", "whiteboard.ipynb", "call.ipynb")} == {
        "conferencing.ipynb": 1,
        "whiteboard.ipynb": 1,
        "call.ipynb": 1,
    }
    culling = config["MappingKernelManager"]
    assert culling["cull_idle_timeout"] > 0 and culling["cull_interval"] > 0 and culling["cull_connected"] is False


def test_voila_command_passes_absolute_settings_to_kernels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dash").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONFERENCING_CONFIG", "relative.toml")
    monkeypatch.setenv("CONFERENCING_JITSI_URL", "https://stale.example")
    settings = Settings(data_dir=Path("data"), store="sqlite:///rel/store.db", secret="s3", max_members=7)

    argv, env = voila_command(settings, port=9123, dashboards_dir=Path("dash"))

    assert argv[1:4] == ["-m", "voila", str(tmp_path / "dash")]
    assert "--port=9123" in argv and "--Voila.ip=127.0.0.1" in argv and "--Voila.port_retries=0" in argv
    assert f"--Voila.config_file_paths={voila_config_dir()}" in argv
    assert env["CONFERENCING_DATA_DIR"] == str(tmp_path / "data")
    assert env["CONFERENCING_STORE"] == f"sqlite:///{tmp_path / 'rel' / 'store.db'}"
    assert env["CONFERENCING_SECRET"] == "s3" and env["CONFERENCING_MAX_MEMBERS"] == "7"
    assert env["CONFERENCING_BASE_URL"] == "http://127.0.0.1:9123"
    assert env["CONFERENCING_JITSI_URL"] == Settings().jitsi_url  # inherited variables do not leak through
    assert "CONFERENCING_CONFIG" not in env
    assert "VOILA_APP_IP" not in env  # Voila's default, 127.0.0.1, is where preheated kernels ask


def test_voila_command_on_a_private_address_tells_kernels_where_to_ask(tmp_path: Path) -> None:
    (tmp_path / "dash").mkdir()
    settings = Settings(data_dir=tmp_path, secret="s3")
    argv, env = voila_command(settings, port=9124, dashboards_dir=tmp_path / "dash", ip="10.0.0.11")
    assert "--Voila.ip=10.0.0.11" in argv
    # Preheated kernels fetch the visitor's request from Voila: at 127.0.0.1 they would find nothing listening.
    assert env["VOILA_APP_IP"] == "10.0.0.11"
    assert env["CONFERENCING_BASE_URL"] == "http://10.0.0.11:9124"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port": 0}, "Not a TCP port"),
        ({"port": 70000}, "Not a TCP port"),
        ({"secret": ""}, "CONFERENCING_SECRET"),
        ({"dashboards_dir": "missing"}, "does not exist"),
        ({"store": "not a url"}, "Not a store URL"),
    ],
)
def test_voila_command_rejects_bad_input(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"port": 9123, "secret": "s3", "dashboards_dir": str(tmp_path), "store": ""}
    args.update(change)
    settings = Settings(data_dir=tmp_path, secret=args["secret"], store=args["store"])
    with pytest.raises(InvalidInput, match=message):
        voila_command(settings, port=args["port"], dashboards_dir=tmp_path / args["dashboards_dir"])


def test_voila_command_needs_a_dashboards_folder_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput, match="--dashboards"):
        voila_command(Settings(secret="s3"), port=9123, dashboards_dir=None)
    (tmp_path / "dashboards").mkdir()
    argv, _ = voila_command(Settings(secret="s3"), port=9123, dashboards_dir=None)
    assert argv[3] == str(tmp_path / "dashboards")


def test_cli_serve_reports_a_missing_folder_and_a_busy_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("CONFERENCING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CONFERENCING_STORE", raising=False)
    runner = CliRunner()
    result = runner.invoke(cli_main, ["serve", "--dashboards", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "does not exist" in result.output

    write_probe(tmp_path / "dash", "button.ipynb")
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        result = runner.invoke(cli_main, ["serve", "--port", str(port), "--dashboards", str(tmp_path / "dash")])
    assert result.exit_code == 1, result.output
    assert "Voila exited with status 1" in result.output
