"""Built-in call benchmark: time from pressing Join to the first remote video frame, on loopback.

Starts a Voilà server (``serve.voila_command``, the repository's ``voila.json``) on a throwaway SQLite store
with the built-in provider, and headless Chromium with a fake camera and microphone. For each run a new call
is started; Alice's call page joins first and waits; then Tom presses Join. The call page stamps both
moments itself (``data-join-clicked-at`` when Join is pressed, ``data-first-remote-frame-at`` when
``requestVideoFrameCallback`` sees the first decoded remote frame), in wall-clock milliseconds, so the
figures do not include Playwright's polling. Reported per run: Tom's Join to Tom's first frame of Alice,
and to Alice's first frame of Tom.

The path measured: Join -> kernel records the participant -> offer (browser -> kernel -> store + event) ->
Alice's kernel wakes on the feed -> answer back the same way -> ICE over loopback -> first frame decoded.

Target: <= 2 s on loopback.

Usage::

    .venv/bin/python benchmarks/call_bench.py              # 5 runs
    .venv/bin/python benchmarks/call_bench.py --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from conferencing_widgets import ConversationKind, Service, Settings, Store
from conferencing_widgets.calls.service import CallService
from conferencing_widgets.core.identity import dashboard_url
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.testing import launch_chromium
from conferencing_widgets.voila.serve import free_port, stop_voila, voila_command, wait_until_serving

REPO = Path(__file__).resolve().parents[1]
FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
SECRET = "call-bench-secret"
TARGET_MS = 2000.0
TTL = timedelta(hours=1)


def stamp(page: Any, name: str, timeout: float = 30.0) -> float:
    """A ``data-*`` timestamp of the call page, waiting until it is set."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(f"() => document.querySelector('.cw-call-root')?.dataset.{name} ?? null")
        if value:
            return float(value)
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {name} on {page.url}")
        time.sleep(0.02)


def wait_status(page: Any, text: str, timeout_ms: float = 60_000) -> None:
    page.locator(".cw-call-status", has_text=text).wait_for(state="visible", timeout=timeout_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="calls to measure (default 5)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="cw-call-bench-") as tmp:
        data = Path(tmp)
        store = Store(f"sqlite:///{data / 'store.db'}")
        seed_demo(store)
        case = store.get_case_by_number("SR-2026-00042")
        cid = store.create_conversation(
            kind=ConversationKind.SERVICE_CASE,
            title="Call benchmark",
            created_by="alice",
            members=["tom.tech"],
            case_id=case.id,
        ).id
        settings = Settings(data_dir=data, store=store.url, secret=SECRET, video_provider="builtin")
        port = free_port()
        argv, env = voila_command(settings, port=port, dashboards_dir=REPO / "dashboards")
        log = (data / "voila.log").open("wb")
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base, timeout=90, proc=proc)
            calls = CallService(Service(store, "alice", settings))
            tom_ms: list[float] = []
            alice_ms: list[float] = []
            with sync_playwright() as pw:
                browser = launch_chromium(pw.chromium, extra_args=FAKE_MEDIA)
                alice, tom = browser.new_context().new_page(), browser.new_context().new_page()
                for run in range(1, args.runs + 1):
                    call = calls.start(cid).call
                    opened = time.monotonic()
                    for login, page in (("alice", alice), ("tom.tech", tom)):
                        page.goto(dashboard_url(base, login, SECRET, TTL, notebook="call.ipynb", call=call.id))
                    for page in (alice, tom):
                        wait_status(page, "Press Join call")
                    page_s = time.monotonic() - opened
                    alice.locator(".cw-call-join-button").click()
                    wait_status(alice, "Waiting for others", 10_000)
                    tom.locator(".cw-call-join-button").click()
                    joined = stamp(tom, "joinClickedAt")
                    t_frame = stamp(tom, "firstRemoteFrameAt") - joined
                    a_frame = stamp(alice, "firstRemoteFrameAt") - joined
                    tom_ms.append(t_frame)
                    alice_ms.append(a_frame)
                    print(
                        f"run {run}: Join -> first remote frame: Tom {t_frame:6.0f} ms, Alice {a_frame:6.0f} ms"
                        f"   (two call pages loaded in {page_s:4.1f} s)",
                        flush=True,
                    )
                    tom.locator(".cw-call-hangup").click()
                    wait_status(alice, "The call has ended", 10_000)
                browser.close()
        finally:
            stop_voila(proc)
            log.close()
            store.close()

    worst = [max(t, a) for t, a in zip(tom_ms, alice_ms, strict=True)]
    print(
        f"\nJoin -> first remote video frame over {len(worst)} runs: median {statistics.median(worst):.0f} ms, "
        f"max {max(worst):.0f} ms (both directions; target <= {TARGET_MS:.0f} ms)"
    )
    sys.exit(0 if statistics.median(worst) <= TARGET_MS else 1)


if __name__ == "__main__":
    main()
