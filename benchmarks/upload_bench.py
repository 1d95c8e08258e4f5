"""Upload benchmark: resumable uploads outside the kernel, and how responsive the kernel stays meanwhile.

Serves the real dashboard with Voilà (``serve.voila_command``: the repository's ``voila.json``, so the resumable
endpoint ``/conferencing/upload/`` is on), opens it in headless Chromium as a demo customer, opens a conversation
and uploads a file of random bytes through the upload widget (file chooser; the page PATCHes the endpoint). While
the upload runs, a loop in the page clicks the "+" button every 100 ms and times the round trip: click -> kernel
toggles the menu -> the menu's style changes in the DOM. The same loop first runs idle for a baseline.

Prints, beside the targets of issue 16:

1. a 200 MB file through the page over loopback: MB/s (file chosen -> "shared" shown, i.e. stored and posted),
   goal >= 60; the kernel round trip p50/p95/max idle and during the upload, goal p95 <= 100 ms; CPU ms per MB
   of the Voilà server, the kernels and Chromium;
2. a 1 GB file through the page: MB/s and the Voilà server's RSS growth (sampled every 100 ms), goal < 50 MB;
3. a resume: a Python client sends half of a file in one PATCH and drops the connection, asks the offset (HEAD)
   and sends the rest; bytes sent in all against the file's size (goal: only the rest, about 1.0x).

Every stored file is checked by SHA-256. ``--path ws`` runs (1) over the old chunked-websocket fallback instead
(Voilà started without the endpoint), for comparison. The machine is shared: the load average is printed.

Usage::

    .venv/bin/python benchmarks/upload_bench.py                        # all three, 200 MB and 1 GB
    .venv/bin/python benchmarks/upload_bench.py --size-mb 100 --big-mb 0   # skip the 1 GB run
    .venv/bin/python benchmarks/upload_bench.py --path ws --size-mb 60 --big-mb 0 --resume-mb 0
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import nbformat

from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.identity import dashboard_url
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.store import Store
from conferencing_widgets.testing import launch_chromium
from conferencing_widgets.ui.files import upload as files_ui
from conferencing_widgets.voila.serve import free_port, stop_voila, voila_command, wait_until_serving

# The dashboard, plus the chunk sizes taken from the URL (benchmark only).
NOTEBOOK = """\
from urllib.parse import parse_qs
from conferencing_widgets.voila.dashboard import conferencing_dashboard
from conferencing_widgets.ui.files import upload as files_ui
from conferencing_widgets.voila.dashboard import request_query_string

query = request_query_string()
params = parse_qs(query)
files_ui.UPLOAD_CHUNK_BYTES = int(params.get("chunk", [files_ui.UPLOAD_CHUNK_BYTES])[0])
files_ui.UPLOAD_WINDOW = int(params.get("window", [files_ui.UPLOAD_WINDOW])[0])
files_ui.HTTP_CHUNK_BYTES = int(params.get("http_chunk", [files_ui.HTTP_CHUNK_BYTES])[0])
conferencing_dashboard(query)
"""

PING_LOOP = """
([idleOnly]) => {
  window.__pings = [];
  window.__pingTimeouts = 0;
  window.__stop = false;
  window.__pingsDone = false;
  (async () => {
    while (!window.__stop) {
      // Looked up each time: a re-render may replace the elements. A round trip that never comes back is
      // recorded as the 10 s it waited (and counted), so the loop never hangs.
      const button = document.querySelector("button.cw-plus");
      const menu = document.querySelector(".cw-plus-menu");
      const before = menu.style.display;
      const t0 = performance.now();
      const ok = await new Promise((resolve) => {
        const timer = setTimeout(() => { obs.disconnect(); resolve(false); }, 10000);
        const obs = new MutationObserver(() => {
          if (menu.style.display !== before) { obs.disconnect(); clearTimeout(timer); resolve(true); }
        });
        obs.observe(menu, { attributes: true, attributeFilter: ["style"] });
        button.click();
      });
      if (!ok) window.__pingTimeouts += 1;
      window.__pings.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 100));
    }
    window.__pingsDone = true;
  })();
}
"""

WATCH_DONE = """
() => {
  window.__doneAt = null;
  window.__failed = null;
  const obs = new MutationObserver(() => {
    if (document.querySelector(".cw-upload-item.cw-upload-done") && window.__doneAt === null) {
      window.__doneAt = performance.now();
    }
    const bad = document.querySelector(".cw-upload-item.cw-upload-failed, .cw-upload-item.cw-upload-refused");
    if (bad) window.__failed = bad.textContent;
  });
  obs.observe(document.body, { childList: true, subtree: true, attributes: true });
  window.__startAt = performance.now();
}
"""


def stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"n": len(values), "p50": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


def pings(page: Any, seconds: float) -> list[float]:
    page.evaluate(PING_LOOP, [True])
    time.sleep(seconds)
    return stop_pings(page)


def stop_pings(page: Any) -> list[float]:
    page.evaluate("() => { window.__stop = true; }")
    page.wait_for_function("() => window.__pingsDone === true", timeout=30_000)
    values = page.evaluate("() => window.__pings")
    lost = page.evaluate("() => window.__pingTimeouts")
    if lost:
        print(f"    ({lost} round trip(s) got no answer within 10 s)", flush=True)
    # Leave the menu open, as the user has it while uploading.
    if page.evaluate("() => document.querySelector('.cw-plus-menu').style.display") == "none":
        page.locator("button.cw-plus").click()
        page.wait_for_function("() => document.querySelector('.cw-plus-menu').style.display !== 'none'")
    return [float(v) for v in values]


def cpu_seconds(groups: dict[str, list[Any]]) -> dict[str, float]:
    """User+system CPU seconds used so far by each group of processes."""
    import psutil

    out = {}
    for name, procs in groups.items():
        total = 0.0
        for proc in procs:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        out[name] = total
    return out


def process_groups(voila_pid: int) -> dict[str, list[Any]]:
    """The Voilà server, its kernels, and this script's Chromium processes."""
    import psutil

    server = psutil.Process(voila_pid)
    mine = psutil.Process().children(recursive=True)
    return {
        "server": [server],
        "kernels": server.children(recursive=True),
        "chromium": [p for p in mine if "chrom" in p.name()],
    }


class RssSampler:
    """The peak RSS of one process, sampled every 100 ms on a thread."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.start_rss = self.proc.memory_info().rss
        self.peak = self.start_rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.wait(0.1):
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except psutil.NoSuchProcess:
                return

    def stop(self) -> float:
        """The growth in MB (10^6 bytes) over the RSS when sampling began."""
        self._stop.set()
        self._thread.join()
        return (self.peak - self.start_rss) / 1e6


def random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes in 4 MiB blocks; their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        left = size
        while left:
            block = os.urandom(min(left, 4 << 20))
            digest.update(block)
            fh.write(block)
            left -= len(block)
    return digest.hexdigest()


def run_one(page: Any, path: Path, size: int) -> tuple[float, list[float]]:
    page.evaluate(WATCH_DONE)
    with page.expect_file_chooser() as chooser:
        page.locator(".cw-upload .cw-upload-button").click()
    page.evaluate(PING_LOOP, [False])
    chooser.value.set_files(str(path))
    page.wait_for_function("() => window.__doneAt !== null || window.__failed !== null", timeout=1_800_000)
    failed = page.evaluate("() => window.__failed")
    if failed:
        raise SystemExit(f"upload failed: {failed}")
    seconds = page.evaluate("() => (window.__doneAt - window.__startAt) / 1000")
    during = stop_pings(page)
    return size / seconds / 1e6, during


def open_page(browser: Any, base: str, settings: Settings, http_chunk: int) -> tuple[Any, Any]:
    url = dashboard_url(base, "alice", settings.secret, timedelta(hours=1))
    context = browser.new_context()
    context.set_default_timeout(120_000)
    page = context.new_page()
    page.goto(f"{url}&http_chunk={http_chunk}", timeout=180_000)
    page.locator(".cw-tile", has_text="Spindle vibration").first.click(timeout=60_000)
    page.wait_for_function("() => !document.querySelector('button.cw-plus').disabled")
    page.locator("button.cw-plus").click()
    page.locator(".cw-upload .cw-upload-button").wait_for(state="visible")
    page.wait_for_load_state("networkidle")  # history, details and thumbnails have arrived
    return context, page


def resume_run(base: str, settings: Settings, conversation_id: int, path: Path, size: int, digest: str) -> int:
    """Send half in one PATCH, drop the connection, HEAD, send the rest; the bytes sent in all."""
    import base64
    import http.client
    import socket

    from conferencing_widgets.files.tokens import make_upload_token

    host, port = base.removeprefix("http://").split(":")
    token = make_upload_token(settings.secret, "alice", conversation_id, 3600)
    common = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"}
    name = base64.b64encode(b"resume.bin").decode()
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    conn.request(
        "POST",
        "/conferencing/upload/",
        headers={**common, "Upload-Length": str(size), "Upload-Metadata": f"filename {name}"},
    )
    created = conn.getresponse()
    created.read()
    if created.status != 201:
        raise SystemExit(f"creating the upload failed: {created.status}")
    location = created.getheader("Location") or ""
    conn.close()
    sent = 0
    half = size // 2
    with path.open("rb") as fh:
        # A raw socket: announce the whole file, send half of it, then cut the connection.
        sock = socket.create_connection((host, int(port)))
        head = (
            f"PATCH {location} HTTP/1.1\r\nHost: {host}:{port}\r\nTus-Resumable: 1.0.0\r\n"
            f"Authorization: Bearer {token}\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {size}\r\n\r\n"
        )
        sock.sendall(head.encode())
        while sent < half:
            block = fh.read(min(1 << 20, half - sent))
            sock.sendall(block)
            sent += len(block)
        sock.close()
        # Ask where the upload stands (the server may still be writing what arrived), then send the rest.
        offset = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            conn.request("HEAD", location, headers=common)
            offset = int(conn.getresponse().getheader("Upload-Offset") or 0)
            conn.close()
            if offset >= sent - (1 << 20):
                break
            time.sleep(0.05)
        fh.seek(offset)
        rest = size - offset
        conn = http.client.HTTPConnection(host, int(port), timeout=600)
        conn.putrequest("PATCH", location)
        for k, v in {
            **common,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(rest),
        }.items():
            conn.putheader(k, v)
        conn.endheaders()
        while block := fh.read(4 << 20):
            conn.send(block)
            sent += len(block)
        done = conn.getresponse()
        done.read()
        if done.status != 204 or done.getheader("Upload-Sha256") != digest:
            raise SystemExit(f"resumed upload failed: {done.status} {done.getheader('Upload-Sha256')}")
        print(f"    cut at {half / size:.0%}: the server had {offset:,} bytes; resumed from there", flush=True)
    return sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=float, default=200.0, help="File size in MB (10^6 bytes) for run 1.")
    parser.add_argument("--big-mb", type=float, default=1000.0, help="File size for run 2 (RSS); 0 skips it.")
    parser.add_argument("--resume-mb", type=float, default=100.0, help="File size for run 3 (resume); 0 skips it.")
    parser.add_argument("--path", choices=["http", "ws"], default="http", help="Endpoint or websocket fallback.")
    parser.add_argument("--http-chunk-mb", type=float, default=files_ui.HTTP_CHUNK_BYTES / (1 << 20))
    parser.add_argument("--json", action="store_true", help="Print the results as JSON too.")
    args = parser.parse_args(argv)
    size = int(args.size_mb * 1e6)
    big = int(args.big_mb * 1e6)
    resume_size = int(args.resume_mb * 1e6)
    http_chunk = int(args.http_chunk_mb * (1 << 20))

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="cw-upload-bench-") as tmp:
        root = Path(tmp)
        dashboards = root / "dashboards"
        dashboards.mkdir()
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(NOTEBOOK)],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        )
        nbformat.write(nb, dashboards / "conferencing.ipynb")
        settings = Settings(
            data_dir=root / "data",
            store=f"sqlite:///{root / 'data' / 'bench.db'}",
            secret=secrets.token_hex(16),
            max_upload_bytes=max(size, big, resume_size) + 1,
        )
        store = Store(settings.store_url)
        store.create_schema()
        seed_demo(store)
        conv = next(s.conversation for s in store.inbox("alice") if s.conversation.title == "Spindle vibration")

        port = free_port()
        extra = ["--Voila.identity_provider_class=jupyter_server.auth.identity.PasswordIdentityProvider"]
        cmd, env = voila_command(
            settings, port=port, dashboards_dir=dashboards, extra_args=extra if args.path == "ws" else ()
        )
        log = (root / "voila.log").open("wb")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        results: dict[str, Any] = {"path": args.path, "http_chunk_bytes": http_chunk}
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_serving(base, proc=proc, timeout=90)
            print(f"Voila at {base} ({args.path}); uploads as alice into {conv.title!r}", flush=True)
            with sync_playwright() as pw:
                browser = launch_chromium(pw.chromium)
                if size:
                    path = root / "payload.bin"
                    digest = random_file(path, size)
                    context, page = open_page(browser, base, settings, http_chunk)
                    idle = pings(page, 3.0)
                    groups = process_groups(proc.pid)
                    cpu_before = cpu_seconds(groups)
                    load_before = os.getloadavg()[0]
                    mbps, during = run_one(page, path, size)
                    cpu_after = cpu_seconds(groups)
                    _check_stored(store, conv.id, digest)
                    results["run1"] = {
                        "mb": size / 1e6,
                        "mb_per_s": round(mbps, 1),
                        "idle_ms": {k: round(v, 1) for k, v in stats(idle).items()},
                        "upload_ms": {k: round(v, 1) for k, v in stats(during).items()},
                        "cpu_ms_per_mb": {
                            k: round((cpu_after[k] - cpu_before[k]) * 1000 / (size / 1e6), 1) for k in cpu_after
                        },
                        "load_avg_1m": round(max(load_before, os.getloadavg()[0]), 1),
                    }
                    _print_run1(results["run1"])
                    context.close()
                    path.unlink()
                if big:
                    path = root / "big.bin"
                    digest = random_file(path, big)
                    context, page = open_page(browser, base, settings, http_chunk)
                    sampler = RssSampler(proc.pid)
                    try:
                        mbps, during = run_one(page, path, big)
                    finally:
                        growth = sampler.stop()
                    _check_stored(store, conv.id, digest)
                    p95 = stats(during)["p95"]
                    results["run2"] = {
                        "mb": big / 1e6,
                        "mb_per_s": round(mbps, 1),
                        "rss_growth_mb": round(growth, 1),
                        "round_trip_p95_ms": round(p95, 1),
                    }
                    print(
                        f"2. {big / 1e6:.0f} MB through the page: {mbps:.1f} MB/s; Voila server RSS grew "
                        f"{growth:.1f} MB ({'meets' if growth < 50 else 'MISSES'} < 50); kernel round trip p95 "
                        f"{p95:.0f} ms | load average {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
                    context.close()
                    path.unlink()
                browser.close()
            if resume_size and args.path == "http":
                path = root / "resume.bin"
                digest = random_file(path, resume_size)
                sent = resume_run(base, settings, conv.id, path, resume_size, digest)
                _check_stored(store, conv.id, digest)
                results["run3"] = {"mb": resume_size / 1e6, "sent_bytes": sent, "ratio": round(sent / resume_size, 4)}
                verdict = "only the rest" if sent <= 1.01 * resume_size else "MORE than the rest"
                print(
                    f"3. resume after a cut at 50 %: sent {sent:,} bytes for a {resume_size:,}-byte file "
                    f"({sent / resume_size:.3f}x; {verdict})",
                    flush=True,
                )
        finally:
            stop_voila(proc)
            log.close()
            store.close()
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _check_stored(store: Store, conversation_id: int, digest: str) -> None:
    from conferencing_widgets.files.store import attachments_of

    if not any(a.sha256 == digest for a in attachments_of(store, conversation_id, limit=50)):
        raise SystemExit("the uploaded file is not in the store (or its SHA-256 differs)")


def _print_run1(r: dict[str, Any]) -> None:
    i, u = r["idle_ms"], r["upload_ms"]
    print(
        f"1. {r['mb']:.0f} MB through the page: {r['mb_per_s']:.1f} MB/s "
        f"({'meets' if r['mb_per_s'] >= 60 else 'MISSES'} >= 60) | kernel round trip idle p50 {i['p50']:.0f} "
        f"p95 {i['p95']:.0f} ms | during upload p50 "
        f"{u['p50']:.0f} p95 {u['p95']:.0f} max {u['max']:.0f} ms (n={u['n']}; "
        f"{'meets' if u['p95'] <= 100 else 'MISSES'} p95 <= 100)",
        flush=True,
    )
    cpu = ", ".join(f"{k} {v}" for k, v in r["cpu_ms_per_mb"].items())
    print(f"    CPU ms per MB: {cpu} | machine load average {r['load_avg_1m']} (2 cores: above 2 means queueing)")


if __name__ == "__main__":
    sys.exit(main())
