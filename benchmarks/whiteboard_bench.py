"""Whiteboard benchmark: live stroke latency between two pages, replay of a 5,000-stroke board, PNG export.

What it prints (targets in brackets):

- **stroke end -> visible in the other page**, p50/p95 [p95 <= 100 ms]: page A (alice) puts down and lifts the
  pen (a dot: no progress events, so the other page can only see the *stored* stroke); page B (tom) watches
  that spot of its canvas in every animation frame. Both pages run in one Chromium on one clock: the time is
  from the moment the mouse-up was dispatched in A to the first frame of B that shows the ink. Live Voilà,
  SQLite store, the repository's dashboards and ``voila.json``.
- **replay of a board with 5,000 strokes** in the kernel [<= 300 ms]: reading the stored log and building and
  sending every canvas command (``WhiteboardView`` + a client-ready, in this process, without a browser);
  and **to pixels** [<= 1 s]: in Chromium, from the canvas's client-ready message on the websocket to the
  first frame showing the whole drawing.
- **PNG export** of that board [<= 500 ms]: the first render (``raster.render_png``: read the log, draw with
  Pillow, supersampled where the ink allows, encode), and a repeated export through ``WhiteboardService.png``
  (cached by board revision); the same for area 3's thumbnail. The load average is printed beside it.

The board: pen strokes of 8 to 40 points (random walks, stored as the service stores them: simplified and
rounded), every 25th stroke a rectangle, ellipse, arrow or label, in random toolbar colours; the width changes
every 40 strokes (replay batches consecutive strokes of one width, so this is what drawing sessions look like).

Usage::

    .venv/bin/python benchmarks/whiteboard_bench.py                 # everything
    .venv/bin/python benchmarks/whiteboard_bench.py --no-browser    # kernel replay and PNG export only
    .venv/bin/python benchmarks/whiteboard_bench.py --png-only      # PNG export and thumbnail only
    .venv/bin/python benchmarks/whiteboard_bench.py --strokes 2000 --trials 20
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from sqlalchemy import insert

from conferencing_widgets import Service, Settings, Store
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.store import schema as s
from conferencing_widgets.store.store import utcnow
from conferencing_widgets.testing import launch_chromium
from conferencing_widgets.voila.serve import free_port, stop_voila, voila_command, wait_until_serving
from conferencing_widgets.whiteboard import store as wb_store
from conferencing_widgets.whiteboard.raster import render_png
from conferencing_widgets.whiteboard.service import WhiteboardService
from conferencing_widgets.whiteboard.validation import PALETTE, WIDTHS, clean_stroke

REPO = Path(__file__).resolve().parents[1]
SECRET = "whiteboard-bench-secret"
CANVAS = "canvas.cw-whiteboard-canvas"

# Records when the page's ipycanvas sends "client_ready" (the kernel replays on it) and watches canvas pixels.
INIT_SCRIPT = """
(() => {
  const send = WebSocket.prototype.send;
  const decoder = new TextDecoder("utf-8", { fatal: false });
  WebSocket.prototype.send = function (data) {
    if (window.__cwReadySent === undefined) {
      // Jupyter's v1 websocket protocol sends binary frames whose message parts are UTF-8 JSON.
      let text = null;
      if (typeof data === "string") text = data;
      else if (data instanceof ArrayBuffer) text = decoder.decode(new Uint8Array(data));
      else if (ArrayBuffer.isView(data)) text = decoder.decode(data);
      if (text && text.includes("client_ready")) window.__cwReadySent = performance.timeOrigin + performance.now();
    }
    return send.apply(this, arguments);
  };
  window.__cwCtx = () => {
    const c = document.querySelector("canvas.cw-whiteboard-canvas");
    return c ? c.getContext("2d", { willReadFrequently: true }) : null;
  };
  window.__cwWatch = (x, y) => {
    window.__cwSeen = null;
    const tick = () => {
      const ctx = window.__cwCtx();
      if (ctx && ctx.getImageData(x, y, 1, 1).data[3] > 128) {
        window.__cwSeen = performance.timeOrigin + performance.now();
        return;
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
  window.__cwWatchInk = (want) => {
    window.__cwComplete = null;
    const tick = () => {
      const ctx = window.__cwCtx();
      if (ctx) {
        const d = ctx.getImageData(0, 0, ctx.canvas.width, ctx.canvas.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i] > 128) n++;
        if (n >= want) {
          window.__cwComplete = performance.timeOrigin + performance.now();
          window.__cwInk = n;
          return;
        }
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  };
})();
"""


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def board_rows(board_id: int, n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` strokes as the service would store them (validated, simplified, rounded)."""
    rng = np.random.default_rng(seed)
    rows = []
    now = utcnow()
    width = WIDTHS[1]
    for i in range(n):
        color = PALETTE[int(rng.integers(len(PALETTE)))]
        if i % 40 == 0:  # people draw a while with one width, then switch
            width = WIDTHS[int(rng.integers(3))]
        x0, y0 = rng.uniform(40, 960), rng.uniform(40, 600)
        if i % 25 == 24:
            shape = ("rect", "ellipse", "arrow", "text")[(i // 25) % 4]
            pts = [x0, y0] if shape == "text" else [x0, y0, x0 + rng.uniform(20, 120), y0 + rng.uniform(15, 80)]
            clean = clean_stroke(shape, pts, color, width, f"Part {i}" if shape == "text" else "")
        else:
            k = int(rng.integers(8, 41))
            angle = np.cumsum(rng.normal(0, 0.35, k)) + rng.uniform(0, 2 * np.pi)
            step = rng.uniform(2, 6)
            xs = np.clip(x0 + np.cumsum(np.cos(angle) * step), 0, 1000)
            ys = np.clip(y0 + np.cumsum(np.sin(angle) * step), 0, 640)
            clean = clean_stroke("pen", np.stack([xs, ys], 1).ravel().tolist(), color, width)
        rows.append({"whiteboard_id": board_id, "author": "alice", "created_at": now, "deleted": False, **clean})
    return rows


def build_board(store: Store, data_dir: Path, n: int) -> tuple[int, int]:
    """A case chat with one board of ``n`` strokes (bulk-inserted); (conversation id, board id)."""
    case = store.get_case_by_number("SR-2026-00042")
    conv = store.create_conversation(
        kind="service_case", title=f"Bench {n}", created_by="alice", members=["tom.tech"], case_id=case.id
    )
    boards = WhiteboardService(Service(store, "alice", Settings(data_dir=data_dir, secret=SECRET)))
    board = boards.create(conv.id, f"{n} strokes")
    if n:
        with store.atomic() as conn:
            conn.execute(insert(s.strokes), board_rows(board.id, n))
    return conv.id, board.id


def bench_kernel(store: Store, data_dir: Path, board: int, repeats: int = 5) -> dict[str, float]:
    """Replay in the kernel: construct the view (reads the log) and answer a client-ready (sends everything)."""
    from conferencing_widgets.ui.whiteboard.view import WhiteboardView
    from conferencing_widgets.whiteboard.service import WhiteboardService

    service = Service(store, "tom.tech", Settings(data_dir=data_dir, secret=SECRET))
    totals, reads, sends = [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        view = WhiteboardView(WhiteboardService(service), board, live=False)
        built = time.perf_counter()
        view.canvas[3]._handle_frontend_event(None, {"event": "client_ready"}, [])
        done = time.perf_counter()
        totals.append(done - started)
        reads.append(built - started)
        sends.append(view.last_replay["seconds"])
        view.close()
    t0 = time.perf_counter()
    scene = wb_store.read_scene(store, board)
    read_only = time.perf_counter() - t0
    return {
        "total": statistics.median(totals),
        "view": statistics.median(reads),
        "replay": statistics.median(sends),
        "read_scene": read_only,
        "strokes": float(len(scene)),
        "points": float(len(scene.flat) // 2),
    }


def bench_png(store: Store, data_dir: Path, board: int, repeats: int = 5) -> dict[str, float]:
    """First renders (each in a fresh service, so nothing is cached) and repeated exports (cached), in ms."""
    settings = Settings(data_dir=data_dir, secret=SECRET)
    first, first_cpu, thumbs, again, thumbs_again = [], [], [], [], []
    png = b""
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        png = render_png(store, board)
        first.append(time.perf_counter() - t0)
        first_cpu.append(time.process_time() - c0)
        boards = WhiteboardService(Service(store, "tom.tech", settings))
        record = boards.board(board)
        t0 = time.perf_counter()
        boards.thumbnail(record)
        thumbs.append(time.perf_counter() - t0)
        boards.png(board)
        t0 = time.perf_counter()
        boards.png(board)
        again.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        boards.thumbnail(record)
        thumbs_again.append(time.perf_counter() - t0)
    ms = {
        "first": statistics.median(first),
        "first_cpu": statistics.median(first_cpu),
        "again": statistics.median(again),
        "thumb": statistics.median(thumbs),
        "thumb_again": statistics.median(thumbs_again),
    }
    return {**{k: v * 1000 for k, v in ms.items()}, "kb": len(png) / 1024}


def start_voila(store: Store, data_dir: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    settings = Settings(data_dir=data_dir, store=store.url, secret=SECRET)
    argv, env = voila_command(settings, port=port, dashboards_dir=REPO / "dashboards")
    log = data_dir / "voila.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(argv, env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base, timeout=120, proc=proc)
    return proc, base, log


def board_page(browser: Any, base: str, login: str, board: int) -> Any:
    from datetime import timedelta

    from conferencing_widgets.core.identity import dashboard_url

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(120_000)
    context.add_init_script(INIT_SCRIPT)
    context.route(
        "**/*",
        lambda r: (
            r.fallback()
            if r.request.url.startswith(("http://127.0.0.1", "data:", "blob:", "about:"))
            else r.abort("blockedbyclient")
        ),
    )
    page = context.new_page()
    page.goto(dashboard_url(base, login, SECRET, timedelta(hours=1), notebook="whiteboard.ipynb", board=board))
    page.locator(CANVAS).wait_for(state="visible")
    page.locator('.cw-wb-count:not([data-ready="0"])').wait_for()
    return page


def bench_latency(browser: Any, base: str, store: Store, board: int, trials: int) -> list[tuple[float, float]]:
    """(mouse-up -> visible in B, mouse-up -> stroke committed) per trial, in ms."""
    a = board_page(browser, base, "alice", board)
    b = board_page(browser, base, "tom.tech", board)
    a.locator("button.cw-wb-width-16").click()
    box = a.locator(CANVAS).bounding_box()
    assert box is not None
    time.sleep(1.0)
    out = []
    for i in range(trials):
        x, y = 60 + (i % 10) * 90, 60 + (i // 10) * 60 % 560
        b.evaluate(f"window.__cwWatch({x}, {y})")
        a.mouse.move(box["x"] + x, box["y"] + y)
        a.mouse.down()
        last_event = store.last_event_id()
        ended = time.time() * 1000  # the same clock as performance.timeOrigin + now() in the page
        a.mouse.up()
        try:
            b.wait_for_function("window.__cwSeen != null", polling="raf", timeout=10_000)
        except Exception:  # noqa: BLE001 - a lost sample is reported, not fatal
            print(f"  trial {i}: not seen within 10 s", file=sys.stderr)
            continue
        seen = float(b.evaluate("window.__cwSeen"))
        stroke = next(e for e in store.changes(after=last_event) if e.kind == EventKind.WB_STROKE)
        out.append((seen - ended, stroke.created_at.timestamp() * 1000 - ended))
        time.sleep(0.2)
    a.context.close()
    b.context.close()
    return out


def bench_pixels(browser: Any, base: str, board: int, want_ink: int) -> dict[str, float]:
    """Open the big board and time client-ready -> all ink on screen."""
    from datetime import timedelta

    from conferencing_widgets.core.identity import dashboard_url

    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(180_000)
    context.add_init_script(INIT_SCRIPT + f"\nwindow.addEventListener('load', () => window.__cwWatchInk({want_ink}));")
    context.route(
        "**/*",
        lambda r: (
            r.fallback()
            if r.request.url.startswith(("http://127.0.0.1", "data:", "blob:", "about:"))
            else r.abort("blockedbyclient")
        ),
    )
    page = context.new_page()
    started = time.monotonic()
    page.goto(dashboard_url(base, "tom.tech", SECRET, timedelta(hours=1), notebook="whiteboard.ipynb", board=board))
    page.wait_for_function("window.__cwComplete != null && window.__cwReadySent !== undefined", timeout=180_000)
    ready, complete = page.evaluate("[window.__cwReadySent, window.__cwComplete]")
    opened = time.monotonic() - started
    context.close()
    return {"to_pixels": (complete - ready) / 1000, "page_open": opened}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strokes", type=int, default=5000, help="strokes on the big board (default 5000)")
    parser.add_argument("--trials", type=int, default=40, help="latency samples (default 40)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Voilà/Chromium parts")
    parser.add_argument("--png-only", action="store_true", help="only the PNG export and thumbnail figures")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        data_dir = Path(tmp)
        store = Store(f"sqlite:///{data_dir / 'bench.db'}")
        seed_demo(store)
        _conv, big = build_board(store, data_dir, args.strokes)
        _conv2, empty = build_board(store, data_dir, 0)

        png = bench_png(store, data_dir, big)
        load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
        print(
            f"PNG export, first render: {png['first']:.0f} ms wall, {png['first_cpu']:.0f} ms CPU "
            f"[target <= 500 ms] ({png['kb']:.0f} KB); repeated export (cached): {png['again']:.1f} ms; "
            f"thumbnail: first {png['thumb']:.0f} ms, cached {png['thumb_again']:.1f} ms (load average {load})"
        )
        if args.png_only:
            return
        kernel = bench_kernel(store, data_dir, big)
        rendered = np.asarray(Image.open(io.BytesIO(render_png(store, big))).convert("RGB"))
        ink = int((rendered.min(axis=2) < 128).sum())  # about the pixels a canvas covers more than half

        print(f"board: {int(kernel['strokes']):,} strokes, {int(kernel['points']):,} points")
        print(
            f"replay in the kernel: {kernel['total'] * 1000:.0f} ms [target <= 300 ms] "
            f"(read log + build view {kernel['view'] * 1000:.0f} ms, of which read_scene "
            f"{kernel['read_scene'] * 1000:.0f} ms; canvas commands {kernel['replay'] * 1000:.0f} ms)"
        )
        if args.no_browser:
            return

        from playwright.sync_api import sync_playwright

        proc, base, log = start_voila(store, data_dir)
        try:
            with sync_playwright() as pw:
                browser = launch_chromium(pw.chromium)
                samples = bench_latency(browser, base, store, empty, args.trials)
                if samples:
                    latency = [total for total, _ in samples]
                    committed = [c for _, c in samples]
                    print(
                        f"stroke end -> visible in the other page: p50 {percentile(latency, 50):.0f} ms, "
                        f"p95 {percentile(latency, 95):.0f} ms, max {max(latency):.0f} ms "
                        f"[target p95 <= 100 ms] ({len(latency)} strokes; mouse-up -> stored in page A's kernel: "
                        f"p50 {percentile(committed, 50):.0f} ms, p95 {percentile(committed, 95):.0f} ms)"
                    )
                pixels = bench_pixels(browser, base, big, int(ink * 0.95))
                print(
                    f"replay to pixels in Chromium: {pixels['to_pixels'] * 1000:.0f} ms from client-ready "
                    f"[target <= 1 s] (whole page open: {pixels['page_open']:.1f} s)"
                )
                browser.close()
        finally:
            stop_voila(proc)
            store.close()
            if "--verbose" in sys.argv:
                print(log.read_text())


if __name__ == "__main__":
    main()
