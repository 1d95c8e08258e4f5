"""Dashboard figures in real headless Chromium against live Voilà servers (prints; asserts nothing).

- time-to-visible of the dashboard as a ratio to a one-button page served the same way (both preheated), target <= 1.15
- browser-to-browser delivery over N messages, p50/p95 (targets: p50 <= 30 ms, p95 <= 100 ms on both backends),
  from the sender's keydown to the text in the receiver's DOM, measured twice: with page-side timestamps
  (``performance.timeOrigin + performance.now()`` in a keydown listener the bench adds to the sender's composer
  textarea, and in a MutationObserver on the receiver's ``.cw-stream``; both pages share the machine's clock), and
  from Playwright (Python's clock from just before the key event until ``wait_for_function`` sees the row, which
  adds its polling and round trips)
- opening a conversation of 100,000 messages against one of 100 (target ratio <= 1.2)
- appending one message to an open stream of 10,000 messages against one of 100 (target ratio <= 1.2)
- kernel RSS per open dashboard (target <= 90 MB)

Usage: .venv/bin/python benchmarks/dashboard_bench.py [--runs 5] [--messages 50] [--backend sqlite|postgresql|both]
       [--delivery-only]   (only the delivery figure: skips time-to-visible, the big conversations and RSS)
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import insert, update

sys.path.insert(0, str(Path(__file__).parent))
from voila_baseline import launched_chromium, measure, running_voila, write_notebook  # noqa: E402

from conferencing_widgets import ConversationKind, Settings, Store  # noqa: E402
from conferencing_widgets.core.identity import dashboard_url  # noqa: E402
from conferencing_widgets.demo import seed_demo  # noqa: E402
from conferencing_widgets.store import schema  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@contextlib.contextmanager
def bench_store(backend: str, folder: Path) -> Iterator[Store]:
    if backend == "sqlite":
        store = Store(f"sqlite:///{folder / 'bench.db'}")
        seed_demo(store)
        yield store
        store.close()
        return
    import psycopg

    name = f"cw_bench_{secrets.token_hex(4)}"
    admin = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    store = Store(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    try:
        seed_demo(store)
        yield store
    finally:
        store.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bulk_conversation(store: Store, title: str, count: int) -> int:
    """A case chat between alice and tom.tech holding ``count`` messages (bulk insert, no events)."""
    case = store.get_case_by_number("SR-2026-00042")
    conv = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title=title, created_by="alice", members=["tom.tech"], case_id=case.id
    )
    start = datetime.now(UTC) - timedelta(days=30)
    with store.atomic() as conn:
        for offset in range(0, count, 10_000):
            rows = [
                {
                    "conversation_id": conv.id,
                    "author": "tom.tech" if i % 2 else "alice",
                    "created_at": start + timedelta(seconds=i),
                    "body": f"Reading {i}: spindle at {6000 + i % 500} rpm, vibration {i % 17 / 10:.1f} mm/s",
                    "kind": "text",
                }
                for i in range(offset, min(count, offset + 10_000))
            ]
            conn.execute(insert(schema.messages), rows)
        last = store.latest_messages(conv.id, limit=1)[0]
        conn.execute(
            update(schema.conversations)
            .where(schema.conversations.c.id == conv.id)
            .values(last_message_id=last.id, last_activity_at=datetime.now(UTC))
        )
    return conv.id


def open_dashboard(browser: Any, base: str, login: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(dashboard_url(base, login, SECRET, timedelta(hours=1)))
    page.locator(".cw-app .cw-tile").first.wait_for(state="visible", timeout=120_000)
    return page


def open_tile(page: Any, title: str) -> float:
    started = time.perf_counter()
    page.locator(".cw-tile", has_text=title).first.click()
    page.locator(".cw-messages .cw-area-title", has_text=title).wait_for(timeout=60_000)
    page.locator(".cw-stream .cw-message").last.wait_for(state="visible", timeout=60_000)
    return time.perf_counter() - started


WATCH = """() => {
  // Receiver: when does each bench text first appear in the stream? Page-side clock, epoch milliseconds.
  window.__seen = {};
  const stream = document.querySelector('.cw-stream');
  const now = () => performance.timeOrigin + performance.now();
  const scan = () => { for (const m of stream.querySelectorAll('.cw-message-body')) {
    const t = m.textContent.trim();
    if (t.startsWith('bench-') && !(t in window.__seen)) window.__seen[t] = now(); } };
  new MutationObserver(scan).observe(stream, {childList: true, subtree: true, characterData: true}); }"""
ARM = """() => {
  // Sender: stamp the Enter keydown on the composer before the composer's own handler sends (capture phase).
  window.__sent = {};
  const ta = document.querySelector('.cw-composer textarea');
  if (ta.__cwBench) return;
  ta.__cwBench = true;
  ta.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' && !ev.shiftKey)
    window.__sent[ta.value] = performance.timeOrigin + performance.now(); }, {capture: true}); }"""
SEND = """(text) => { const ta = document.querySelector('.cw-composer textarea'); ta.value = text;
  ta.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); }"""


def delivery_both(sender: Any, receiver: Any, count: int) -> tuple[list[float], list[float]]:
    """Milliseconds from Enter in one page to the row in the other page's DOM: (page clocks, Playwright polling)."""
    receiver.evaluate(WATCH)
    sender.evaluate(ARM)
    page_side, polled = [], []
    for i in range(count):
        text = f"bench-{i}-{secrets.token_hex(3)}"
        started = time.perf_counter()
        sender.evaluate(SEND, text)
        receiver.wait_for_function("(t) => window.__seen && (t in window.__seen)", arg=text, timeout=30_000)
        polled.append((time.perf_counter() - started) * 1000)
        seen = receiver.evaluate("(t) => window.__seen[t]", text)
        sent = sender.evaluate("(t) => window.__sent[t]", text)
        page_side.append(seen - sent)
        sender.wait_for_function("() => document.querySelector('.cw-composer textarea').value === ''")
    return page_side, polled


def delivery(sender: Any, receiver: Any, count: int) -> list[float]:
    """Page-side milliseconds from Enter in one page to the row in the other page's DOM."""
    return delivery_both(sender, receiver, count)[0]


def append_time(sender: Any, receiver: Any, runs: int) -> list[float]:
    """Seconds from a post to its row in the receiving page (the receiving stream is open)."""
    return [ms / 1000 for ms in delivery(sender, receiver, runs)]


def kernel_rss_mb(served: Any) -> list[float]:
    out = []
    for proc in psutil.Process(served.proc.pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "ipykernel_launcher" in " ".join(proc.cmdline()):
                out.append(proc.memory_info().rss / 2**20)
    return out


def report_delivery(sender: Any, receiver: Any, count: int) -> None:
    page_side, polled = delivery_both(sender, receiver, count)
    target = "p50 <= 30 ms, p95 <= 100 ms"
    print(
        f"browser-to-browser delivery over {len(page_side)} messages, page timestamps (keydown -> DOM): "
        f"p50 {pct(page_side, 0.5):.1f} ms, p95 {pct(page_side, 0.95):.1f} ms (target {target})"
    )
    print(
        f"browser-to-browser delivery, Playwright polling (evaluate -> wait_for_function): "
        f"p50 {pct(polled, 0.5):.1f} ms, p95 {pct(polled, 0.95):.1f} ms"
    )


def run_delivery_only(backend: str, args: argparse.Namespace, browser: Any) -> None:
    """Only the delivery figure: two dashboards on one Voilà server, one small case chat open in both."""
    with tempfile.TemporaryDirectory(prefix="cw-dash-bench-") as tmp, bench_store(backend, Path(tmp)) as store:
        settings = Settings(data_dir=Path(tmp), store=store.url, secret=SECRET)
        print(f"\n== {backend} (delivery only) ==")
        bulk_conversation(store, "Small chat", 100)
        with running_voila(REPO / "dashboards", settings=settings) as served:
            served.wait_for_pool("conferencing.ipynb", 1)
            alice = open_dashboard(browser, served.base_url, "alice")
            tom = open_dashboard(browser, served.base_url, "tom.tech")
            open_tile(tom, "Small chat")
            open_tile(alice, "Small chat")
            delivery_both(tom, alice, 5)  # warm-up
            report_delivery(tom, alice, args.messages)
            for page in (alice, tom):
                page.context.close()


def run_backend(backend: str, args: argparse.Namespace, browser: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="cw-dash-bench-") as tmp, bench_store(backend, Path(tmp)) as store:
        settings = Settings(data_dir=Path(tmp), store=store.url, secret=SECRET)
        print(f"\n== {backend} ==")
        small = bulk_conversation(store, "Small chat", 100)
        big = bulk_conversation(store, "Huge chat", args.big)
        mid = bulk_conversation(store, "Long chat", 10_000)
        assert small and big and mid
        with running_voila(REPO / "dashboards", settings=settings) as served:
            served.wait_for_pool("conferencing.ipynb", 1)
            dash = measure(
                browser,
                dashboard_url(served.base_url, "alice", SECRET, timedelta(hours=1)),
                ".cw-app .cw-tile",
                runs=args.runs,
                served=served,
                pooled="conferencing.ipynb",
            )
            with tempfile.TemporaryDirectory(prefix="cw-baseline-") as bdir:
                write_notebook(Path(bdir), "conferencing.ipynb")
                with running_voila(Path(bdir), settings=settings) as base:
                    base.wait_for_pool("conferencing.ipynb", 1)
                    button = measure(
                        browser,
                        base.url("conferencing.ipynb"),
                        ".baseline-button",
                        runs=args.runs,
                        served=base,
                        pooled="conferencing.ipynb",
                    )
            d, b = statistics.median(dash), statistics.median(button)
            print(f"time-to-visible: dashboard {d:.2f} s, one-button page {b:.2f} s, ratio {d / b:.2f}", end="")
            print(" (target <= 1.15)")

            alice = open_dashboard(browser, served.base_url, "alice")
            tom = open_dashboard(browser, served.base_url, "tom.tech")
            open_tile(alice, "Small chat")  # warm-up
            opens_small, opens_big = [], []
            for _ in range(args.runs):
                opens_big.append(open_tile(alice, "Huge chat"))
                opens_small.append(open_tile(alice, "Small chat"))
            ratio = statistics.median(opens_big) / statistics.median(opens_small)
            print(
                f"open conversation: {args.big:,} messages {statistics.median(opens_big) * 1000:.0f} ms, "
                f"100 messages {statistics.median(opens_small) * 1000:.0f} ms, ratio {ratio:.2f} (target <= 1.2)"
            )
            open_tile(tom, "Small chat")
            open_tile(alice, "Small chat")
            t_small = append_time(tom, alice, args.runs)
            open_tile(tom, "Long chat")
            open_tile(alice, "Long chat")
            t_mid = append_time(tom, alice, args.runs)
            ratio = statistics.median(t_mid) / statistics.median(t_small)
            print(
                f"append to open stream: 10,000 messages {statistics.median(t_mid) * 1000:.0f} ms, "
                f"100 messages {statistics.median(t_small) * 1000:.0f} ms, ratio {ratio:.2f} (target <= 1.2)"
            )
            report_delivery(tom, alice, args.messages)
            rss = kernel_rss_mb(served)
            print(
                "kernel RSS per process (2 open dashboards + preheated spare): "
                + ", ".join(f"{r:.0f} MB" for r in sorted(rss))
                + " (target <= 90 MB per open dashboard)"
            )
            for page in (alice, tom):
                page.context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=50, help="messages for the delivery figure (>= 50)")
    parser.add_argument("--big", type=int, default=100_000, help="size of the big conversation")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--delivery-only", action="store_true", help="measure only browser-to-browser delivery")
    args = parser.parse_args()
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in psutil.getloadavg())} on {psutil.cpu_count()} cores")
    with launched_chromium() as browser:
        for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
            (run_delivery_only if args.delivery_only else run_backend)(backend, args, browser)
    load = ", ".join(f"{x:.1f}" for x in psutil.getloadavg())
    print(f"load average at the end: {load} on {psutil.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
