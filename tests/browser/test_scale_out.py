"""Scale-out in real headless Chromium: two Voilà servers, one PostgreSQL store, one shared blob folder.

The servers run on different loopback ports with different data folders; only the store URL, the link secret and
``CONFERENCING_BLOB_URL`` are shared, as in the README's "Deploying on many servers". A message, a whiteboard
stroke and a file posted through a page of server 1 must reach a page of server 2 live (no reload): the only
path between the two is PostgreSQL (LISTEN/NOTIFY plus the events table) and the blob folder.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import throwaway_pg_database  # tests/support.py (tests/ is on sys.path)

from conferencing_widgets import Service, Settings, Store
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.files.store import attachments_of
from conferencing_widgets.store.blobs import BlobStore
from conferencing_widgets.whiteboard.service import WhiteboardService

from .support import VoilaServer, wait_for_text
from .test_dashboard import case_chat, open_app, open_tile
from .test_files_browser import choose_files, download_sha256
from .test_whiteboard_browser import Pen, ink, settled, store_strokes, wait_count, wait_ready, wait_strokes

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]
SECRET = "scale-out-secret"
LIVE_MS = 15_000
"""How long a change may take to show on the other server's page (generous: 2 shared cores, 4 live kernels)."""


@dataclass
class Cluster:
    """What the two servers share, and the servers themselves."""

    store: Store
    blob_dir: Path
    one: VoilaServer
    two: VoilaServer
    data_dirs: tuple[Path, Path]


@pytest.fixture()
def shared_store() -> Iterator[Store]:
    """A demo store in a throwaway PostgreSQL database of its own, dropped (with any sessions) afterwards."""
    with throwaway_pg_database("cw_test_scale") as url:
        store = Store(url)
        try:
            seed_demo(store)
            yield store
        finally:
            store.close()


@pytest.fixture()
def cluster(shared_store: Store, tmp_path: Path, voila_server: Callable[..., VoilaServer]) -> Cluster:
    blob_dir = tmp_path / "shared-blobs"
    blob_dir.mkdir()
    data_dirs = (tmp_path / "server-1", tmp_path / "server-2")
    servers = []
    for data_dir in data_dirs:
        data_dir.mkdir()
        servers.append(
            voila_server(
                store_url=shared_store.url,
                secret=SECRET,
                data_dir=data_dir,
                # The factory has no blob argument; this overrides the CONFERENCING_BLOB_URL it derives.
                extra_env={"CONFERENCING_BLOB_URL": str(blob_dir)},
                reuse=False,
            )
        )
    one, two = servers
    assert one.port != two.port and one.proc.pid != two.proc.pid
    assert one.env["CONFERENCING_BLOB_URL"] == two.env["CONFERENCING_BLOB_URL"] == str(blob_dir)
    assert one.env["CONFERENCING_DATA_DIR"] != two.env["CONFERENCING_DATA_DIR"]
    print(f"\nservers started in {one.started_in:.1f} s and {two.started_in:.1f} s")
    return Cluster(store=shared_store, blob_dir=blob_dir, one=one, two=two, data_dirs=data_dirs)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_message_stroke_and_file_cross_servers_live(cluster: Cluster, page: Callable[..., Any], tmp_path: Path) -> None:
    store, one, two = cluster.store, cluster.one, cluster.two
    timings: dict[str, float] = {}
    tag = secrets.token_hex(3)
    title = f"Scale {tag}"
    chat = case_chat(store, title, creator="alice", members=("tom.tech",))

    # -- message: alice on server 1 sends, tom.tech on server 2 sees it without a reload ------------------------
    started = time.monotonic()
    alice = open_app(page, one, "alice")
    tom = open_app(page, two, "tom.tech")
    open_tile(alice, title)
    open_tile(tom, title)
    timings["open two dashboards"] = time.monotonic() - started
    # A marker in server 2's page: a reload (the only non-live way to see new data) would wipe it.
    tom.evaluate("() => { window.__cwNoReload = true; }")

    body = f"Bearing shipped from server 1 {tag}"
    alice.locator(".cw-composer textarea").fill(body)
    alice.locator(".cw-composer textarea").press("Enter")
    started = time.monotonic()
    wait_for_text(tom.locator(".cw-stream .cw-message"), body, timeout_ms=LIVE_MS)
    timings["message 1 -> 2"] = time.monotonic() - started
    # Stored exactly once, by alice (the page of server 1 wrote it; server 2 only followed the feed).
    assert [(m.author, m.body) for m in store.latest_messages(chat) if m.body == body] == [("alice", body)]

    # -- file: alice uploads on server 1; server 2's details panel lists it and serves the same bytes ------------
    upload = tmp_path / f"vibration-log-{tag}.bin"
    upload.write_bytes(os.urandom(300_000))
    choose_files(alice, upload)
    started = time.monotonic()
    wait_for_text(tom.locator(".cw-details-files"), upload.name, timeout_ms=60_000)
    timings["file 1 -> 2 (upload + listing)"] = time.monotonic() - started
    (attachment,) = [a for a in attachments_of(store, chat) if a.name == upload.name]
    assert attachment.sha256 == _sha256(upload) and attachment.size == upload.stat().st_size
    # The bytes are in the one shared folder, not in either server's own data folder ...
    assert BlobStore(cluster.blob_dir).read(attachment.sha256) == upload.read_bytes()
    for data_dir in cluster.data_dirs:
        assert not list(data_dir.rglob(attachment.sha256)), f"blob written under {data_dir}"
    # ... and server 2's kernel reads them from there: its page downloads exactly what server 1's page sent.
    started = time.monotonic()
    digest, suggested = download_sha256(tom, attachment.id)
    timings["download through server 2"] = time.monotonic() - started
    assert (digest, suggested) == (attachment.sha256, upload.name)
    # Server 2's page saw all of it without a reload.
    assert tom.evaluate("() => window.__cwNoReload === true")
    alice.assert_no_errors("Failed to load resource")
    tom.assert_no_errors("Failed to load resource")
    # Four live kernels on two cores is slow: close the dashboards (their kernels shut down) before the boards.
    alice.close()
    tom.close()

    # -- stroke: the same board open on both servers; alice draws on server 1, server 2's canvas gets it ---------
    settings = Settings(data_dir=cluster.data_dirs[0], secret=SECRET, blob_url=str(cluster.blob_dir))
    board = WhiteboardService(Service(store, "alice", settings)).create(chat).id
    started = time.monotonic()
    # Both pages load at the same time (no waiting in between): the slow part, the kernels, then overlaps.
    viewport = {"width": 1280, "height": 1000}  # the whole 1000x640 canvas in view, as open_board does
    drawer = page(one.link("alice", notebook="whiteboard.ipynb", board=board), viewport=viewport)
    watcher = page(two.link("tom.tech", notebook="whiteboard.ipynb", board=board), viewport=viewport)
    wait_ready(drawer)
    wait_ready(watcher)
    watcher.evaluate("() => { window.__cwNoReload = true; }")
    timings["open two boards"] = time.monotonic() - started
    assert not ink(settled(watcher, lambda px: True))[200:400, 100:500].any()  # blank before the stroke
    Pen(drawer).stroke((120, 300), (300, 260), (480, 300))
    started = time.monotonic()
    wait_count(watcher, 1, timeout_ms=LIVE_MS)
    settled(watcher, lambda px: bool(ink(px)[255:306, 150:450].any()), timeout=LIVE_MS / 1000)
    timings["stroke 1 -> 2 (count + pixels)"] = time.monotonic() - started
    wait_strokes(store, board, 1)
    assert [author for author, _shape, _points in store_strokes(store, board)] == ["alice"]
    assert watcher.evaluate("() => window.__cwNoReload === true")
    drawer.assert_no_errors("favicon")
    watcher.assert_no_errors("favicon")

    print("\n".join(f"  {name}: {seconds:.2f} s" for name, seconds in timings.items()))
