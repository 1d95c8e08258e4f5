"""Whiteboards in real headless Chromium against a live Voilà server (the repository's dashboards, SQLite store).

- Two pages draw on one board at the same time (interleaved pointer events): both end with the same strokes,
  in the store and in pixels, and a reload shows all of it again.
- A user's Undo takes only that user's stroke, on both pages.
- The server-side PNG (Pillow, from the stored log) and a screenshot of the canvas agree within a small tolerance.
- "+" -> Whiteboard session opens the board in a new window, with Chromium's pop-up blocker ON.
- Touch input draws (CDP touch events on a touch-enabled page).
"""

from __future__ import annotations

import base64
import io
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image

from conferencing_widgets import ConversationKind, Service, Settings, Store
from conferencing_widgets.testing import launch_chromium
from conferencing_widgets.whiteboard import store as wb_store
from conferencing_widgets.whiteboard.raster import render_png
from conferencing_widgets.whiteboard.service import WhiteboardService

from .support import BROWSER_SECRET, VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
SECRET = BROWSER_SECRET
CANVAS = "canvas.cw-whiteboard-canvas"

def new_board(store: Store, data_dir: Path) -> tuple[int, int, str]:
    """A fresh case chat of alice, adam and tom.tech with one board: (conversation, board, chat title)."""
    title = f"Board {secrets.token_hex(3)}"
    case = store.get_case_by_number("SR-2026-00042")
    conv = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE,
        title=title,
        created_by="alice",
        members=["adam", "tom.tech"],
        case_id=case.id,
    )
    board = boards(store, data_dir, "alice").create(conv.id)
    return conv.id, board.id, title


def boards(store: Store, data_dir: Path, login: str) -> WhiteboardService:
    return WhiteboardService(Service(store, login, Settings(data_dir=data_dir, secret=SECRET)))


def open_board(page: Callable[..., Any], server: VoilaServer, login: str, board: int, **options: Any) -> Any:
    options.setdefault("viewport", {"width": 1280, "height": 1000})  # the whole 1000×640 canvas in view
    p = page(server.link(login, notebook="whiteboard.ipynb", board=board), **options)
    wait_ready(p)
    return p


def wait_ready(p: Any, timeout_ms: float = 60_000) -> None:
    """The canvas is shown and its first replay was sent (``data-ready`` counts the browser's ready events)."""
    p.locator(CANVAS).wait_for(state="visible", timeout=timeout_ms)
    p.locator('.cw-wb-count:not([data-ready="0"])').wait_for(timeout=timeout_ms)


def wait_count(p: Any, n: int, timeout_ms: float = 30_000) -> None:
    p.locator(f'.cw-wb-count[data-strokes="{n}"]').wait_for(timeout=timeout_ms)


def pixels(p: Any) -> np.ndarray:
    """The canvas's pixels as shown: its bitmap (all layers composited by ipycanvas) over the white page."""
    data_url = p.locator(CANVAS).evaluate("c => c.toDataURL('image/png')")
    shot = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGBA")
    page = Image.new("RGBA", shot.size, "white")
    page.alpha_composite(shot)
    return np.asarray(page.convert("RGB"), dtype=np.int16)


def ink(px: np.ndarray, level: int = 200) -> np.ndarray:
    return px.min(axis=2) < level


def settled(p: Any, check: Callable[[np.ndarray], bool], timeout: float = 20.0) -> np.ndarray:
    """Canvas pixels once ``check`` holds (drawing arrives asynchronously); fails with the last difference."""
    deadline = time.monotonic() + timeout
    while True:
        px = pixels(p)
        if check(px):
            return px
        if time.monotonic() > deadline:
            raise AssertionError("the canvas never reached the expected state")
        time.sleep(0.25)


def origin(p: Any) -> tuple[float, float]:
    box = p.locator(CANVAS).bounding_box()
    assert box is not None and round(box["width"]) == 1000 and round(box["height"]) == 640, box
    return box["x"], box["y"]


class Pen:
    """Drives one page's mouse in board coordinates (100 % zoom: one board unit per CSS pixel)."""

    def __init__(self, p: Any) -> None:
        self.p = p
        self.x0, self.y0 = origin(p)

    def down(self, x: float, y: float) -> None:
        self.p.mouse.move(self.x0 + x, self.y0 + y)
        self.p.mouse.down()

    def move(self, x: float, y: float, steps: int = 1) -> None:
        self.p.mouse.move(self.x0 + x, self.y0 + y, steps=steps)

    def up(self) -> None:
        self.p.mouse.up()

    def stroke(self, *points: tuple[float, float], steps: int = 4) -> None:
        self.down(*points[0])
        for x, y in points[1:]:
            self.move(x, y, steps)
        self.up()


def store_strokes(store: Store, board: int) -> list[tuple[str, str, tuple[float, ...]]]:
    return [(s.author, s.shape, s.points) for s in wb_store.get_strokes(store, board)]


def wait_strokes(store: Store, board: int, n: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while wb_store.stroke_count(store, board, visible_only=True) != n:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {n} strokes, store has {store_strokes(store, board)}")
        time.sleep(0.1)


# -- tests -----------------------------------------------------------------------------------------------


def test_two_pages_draw_at_once_agree_and_survive_a_reload(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, data_dir = world
    _conv, board, _title = new_board(store, data_dir)
    alice_page = open_board(page, server, "alice", board)
    tom_page = open_board(page, server, "tom.tech", board)
    alice, tom = Pen(alice_page), Pen(tom_page)
    # Interleaved: both pens are down at the same time, and their strokes cross.
    for i in range(3):
        y = 120 + 150 * i
        alice.down(100, y)
        tom.down(500, y + 60)
        for step in range(1, 9):
            alice.move(100 + 45 * step, y + (20 if step % 2 else -20))
            tom.move(500 - 40 * step, y + 60 - 12 * step)
        alice.up()
        tom.up()
    wait_strokes(store, board, 6)
    stored = store_strokes(store, board)
    assert sorted(a for a, _s, _p in stored) == ["alice"] * 3 + ["tom.tech"] * 3
    for p in (alice_page, tom_page):
        wait_count(p, 6)
    # Both canvases show the same picture (the same strokes in the same order).
    a = settled(alice_page, lambda px: ink(px).sum() > 3000)
    t = settled(tom_page, lambda px: np.abs(px - a).max() <= 8 and ink(px).sum() > 3000)
    assert np.abs(t - a).mean() < 0.5
    # After a reload, everything is replayed from the store.
    alice_page.reload()
    wait_ready(alice_page)
    wait_count(alice_page, 6)
    settled(alice_page, lambda px: np.abs(px - a).max() <= 8)
    alice_page.assert_no_errors("favicon")
    tom_page.assert_no_errors("favicon")


def test_undo_takes_only_the_users_own_stroke(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, data_dir = world
    _conv, board, _title = new_board(store, data_dir)
    alice_page = open_board(page, server, "alice", board)
    tom_page = open_board(page, server, "tom.tech", board)
    Pen(alice_page).stroke((100, 100), (300, 100))
    wait_strokes(store, board, 1)
    Pen(tom_page).stroke((100, 300), (300, 300))
    wait_strokes(store, board, 2)
    wait_count(alice_page, 2)
    # Alice's last action is older than Tom's stroke: her Undo must still take hers, not his.
    alice_page.locator("button.cw-wb-undo").click()
    wait_strokes(store, board, 1)
    assert [(a, s) for a, s, _p in store_strokes(store, board)] == [("tom.tech", "pen")]
    for p in (alice_page, tom_page):
        wait_count(p, 1)
        settled(p, lambda px: not ink(px)[95:106, 150:250].any() and ink(px)[295:306, 150:250].any())
    alice_page.locator("button.cw-wb-redo").click()
    wait_strokes(store, board, 2)
    settled(tom_page, lambda px: ink(px)[95:106, 150:250].any())


def test_server_png_matches_the_canvas(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, data_dir = world
    _conv, board, _title = new_board(store, data_dir)
    bs = boards(store, data_dir, "alice")
    # A schematic-like background (a pale sheet with a grid), not the page's aspect ratio: it is letterboxed.
    sheet = Image.new("RGB", (600, 300), (236, 242, 250))
    grid = np.asarray(sheet).copy()
    grid[::30, :] = grid[:, ::30] = (190, 200, 225)
    out = io.BytesIO()
    Image.fromarray(grid).save(out, "PNG")
    bs.upload_background(board, "schematic.png", out.getvalue())
    bs.add_stroke(board, "pen", [80, 80, 160, 140, 240, 90, 330, 160, 420, 100], color="#e03131", width=4)
    bs.add_stroke(board, "rect", [480, 60, 700, 220], color="#1971c2", width=2)
    bs.add_stroke(board, "ellipse", [740, 80, 940, 220], color="#2f9e44", width=8)
    bs.add_stroke(board, "arrow", [100, 400, 400, 320], color="#9c36b5", width=4)
    bs.add_stroke(board, "line", [500, 300, 900, 560], color="#1f1f1f", width=16)
    bs.add_stroke(board, "pen", [120, 520, 121, 521], color="#f08c00", width=16)  # a dot
    bs.add_stroke(board, "text", [520, 420], color="#1f1f1f", width=4, text="Spindle bearing B2")
    p = open_board(page, server, "adam", board)
    wait_count(p, 7)
    shown = settled(p, lambda px: ink(px).sum() > 10_000)
    png = render_png(store, board, blobs=bs.files.blobs)
    rendered = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    assert rendered.shape == shown.shape == (640, 1000, 3)
    diff = np.abs(rendered - shown)
    a, b = ink(shown, 128), ink(rendered, 128)
    iou = (a & b).sum() / (a | b).sum()
    assert iou > 0.9, f"ink masks differ: IoU {iou:.3f}"
    assert diff.mean() < 3.0, f"mean absolute difference {diff.mean():.2f} of 255"
    assert (diff.max(axis=2) > 64).mean() < 0.01  # under 1 % of pixels differ visibly
    # The background is drawn 1:1 from the same fitted picture: where no stroke is, it matches exactly.
    assert (shown[140:150, 20:30] == rendered[140:150, 20:30]).all() and shown[145, 25].tolist() == [236, 242, 250]
    assert (shown[5:55, 300] == 255).all()  # above the letterboxed sheet (y 70..570): the white page
    # The board's own Download PNG saves that same server render.
    with p.expect_download() as download:
        p.locator(".cw-wb-download button.cw-wb-png-button").click()
    assert download.value.suggested_filename == f"Whiteboard-1-{board}.png"
    saved = np.asarray(Image.open(download.value.path()).convert("RGB"), dtype=np.int16)
    assert (saved == rendered).all()
    p.assert_no_errors("favicon")


def test_plus_menu_opens_the_board_in_a_new_window(
    world: tuple[Store, Path], server: VoilaServer, chromium: Any
) -> None:
    store, data_dir = world
    title = f"Plus {secrets.token_hex(3)}"
    case = store.get_case_by_number("SR-2026-00042")
    conv = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title=title, created_by="alice", members=["adam"], case_id=case.id
    )
    # The pop-up blocker stays on (Playwright turns it off by default): only a window opened by the click works.
    browser = launch_chromium(chromium.browser_type, ignore_default_args=["--disable-popup-blocking"])
    try:
        context = browser.new_context()
        context.set_default_timeout(60_000)
        alice = context.new_page()
        alice.goto(server.link("alice"))
        alice.locator(".cw-tile", has_text=title).first.click()
        wait_for_text(alice.locator(".cw-messages .cw-area-title"), title)
        alice.locator("button.cw-plus").click()
        entry = alice.locator(".cw-whiteboard-new button")
        entry.wait_for(state="visible")
        with context.expect_page(timeout=60_000) as popup_info:
            entry.click()
        popup = popup_info.value  # no Playwright call on Alice's page until the window exists
        popup.wait_for_url("**/voila/render/whiteboard.ipynb?**", timeout=60_000)
        query = parse_qs(urlsplit(popup.url).query)
        created = wb_store.boards_of(store, conv.id)
        assert len(created) == 1 and query["board"] == [str(created[0].id)]
        wait_ready(popup)
        wait_for_text(popup.locator(".cw-wb-title"), created[0].title)
        # The stream shows the whiteboard message with a link to the same page, and area 3 lists the board.
        wait_for_text(alice.locator(".cw-stream .cw-message"), "Started a whiteboard")
        link = alice.locator(".cw-stream a.cw-wb-open").first
        assert f"board={created[0].id}" in (link.get_attribute("href") or "")
        wait_for_text(alice.locator(".cw-details-whiteboards"), created[0].title)
        assert alice.locator(".cw-details-whiteboards img.cw-wb-thumb").count() == 1
        assert alice.locator(".cw-wb-open-link").count() == 0  # no "blocked" fallback was needed
        # Area 3's PNG button downloads the server render of the board.
        with alice.expect_download() as download:
            alice.locator(f".cw-details-whiteboards [data-cw-wb-png='{created[0].id}']").click()
        saved = Image.open(download.value.path())
        assert saved.format == "PNG" and saved.size == (1000, 640)
    finally:
        browser.close()


def test_touch_draws_on_the_board(world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]) -> None:
    store, data_dir = world
    _conv, board, _title = new_board(store, data_dir)
    p = open_board(page, server, "adam", board, has_touch=True)
    x0, y0 = origin(p)
    cdp = p.context.new_cdp_session(p.page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0 + 200, "y": y0 + 200}]})
    for i in range(1, 11):
        point = {"x": x0 + 200 + 20 * i, "y": y0 + 200 + 8 * i}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    wait_strokes(store, board, 1)
    ((author, shape, points),) = store_strokes(store, board)
    assert (author, shape) == ("adam", "pen")
    assert abs(points[0] - 200) <= 1 and abs(points[-2] - 400) <= 1 and abs(points[-1] - 280) <= 1
    settled(p, lambda px: ink(px)[235:246, 290:310].any())
