"""CSV machine logs in real headless Chromium (issue 14): a spindle-load trace shared in a case chat opens from
Details as a table preview (rows, detected columns and types, a plot image); a broken log says it could not be
read as a table and can still be downloaded; markup in cells stays text. English in the light theme, Polish in
the dark theme; screenshots go to ``CW_TEST_ARTIFACTS`` (default ``build/test-artifacts``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conferencing_widgets import ConversationKind, Service, Settings, Store
from conferencing_widgets.files.service import FileService

from .support import BROWSER_SECRET, VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
SECRET = BROWSER_SECRET
ARTIFACTS = Path(os.environ.get("CW_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "build" / "test-artifacts"))
XSS = "<img src=x onerror=alert(1)>"


def spindle_log(rows: int = 300) -> bytes:
    lines = ["time;spindle_load;alarm;note"]
    for i in range(rows):
        note = XSS if i == 0 else ("overload" if i % 50 == 49 else "")
        lines.append(f"2026-11-30 08:{i // 60:02d}:{i % 60:02d};{40 + (i * 7) % 23},5;A{i % 3};{note}")
    return ("\n".join(lines) + "\n").encode()

def chat_with_logs(store: Store, data_dir: Path) -> tuple[str, int, int]:
    """A fresh case chat of alice and adam holding a good spindle log and a broken one (shared by alice)."""
    title = f"Logs {secrets.token_hex(3)}"
    case = store.get_case_by_number("SR-2026-00042")
    conv = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title=title, created_by="alice", members=["adam"], case_id=case.id
    )
    files = FileService(Service(store, "alice", Settings(data_dir=data_dir, store=store.url, secret=SECRET)))
    good = files.upload_bytes(conv.id, "spindle-load.csv", spindle_log()).id
    broken = files.upload_bytes(conv.id, "alarms-broken.csv", b"code,text,since\nE1,overheat,08:00\nE2,door\n").id
    return title, good, broken


def open_log(p: Any, title: str, attachment_id: int) -> Any:
    p.locator(".cw-tile", has_text=title).first.click()
    wait_for_text(p.locator(".cw-messages .cw-area-title"), title)
    p.locator(f".cw-details-files [data-cw-file='{attachment_id}']").first.click()
    return p.locator(".cw-viewer .cw-table-preview").first


def assert_plot_shown(p: Any) -> None:
    plot = p.locator(".cw-viewer img.cw-table-plot").first
    plot.wait_for(state="visible")
    p.wait_for_function(
        "el => el.complete && el.naturalWidth > 100 && el.naturalHeight > 50", arg=plot.element_handle()
    )


def test_a_csv_log_opens_from_details_as_rows_types_and_a_plot(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, data_dir = world
    title, good, broken = chat_with_logs(store, data_dir)
    p = page(server.link("adam"), wait_for=".cw-app .cw-history .cw-tile", viewport={"width": 1400, "height": 900})
    preview = open_log(p, title, good)
    wait_for_text(preview, "Columns and detected types")
    assert p.locator(".cw-viewer .cw-table tbody tr").count() == 200
    assert p.locator(".cw-viewer .cw-table thead th").all_inner_texts() == ["time", "spindle_load", "alarm", "note"]
    wait_for_text(preview.locator(".cw-table-columns"), "date and time")
    wait_for_text(preview.locator(".cw-table-summary"), "The first 200 rows; download the file for the rest.")
    assert_plot_shown(p)
    # Markup in a cell is text: shown literally, nothing ran.
    assert p.locator(".cw-viewer .cw-table td", has_text=XSS).count() == 1
    assert p.locator(".cw-viewer .cw-table img").count() == 0 and not p.dialogs
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    p.screenshot(path=str(ARTIFACTS / "csv-table-preview-en.png"), full_page=True)

    # A broken log: a clear sentence, no table, and the file still downloads.
    p.locator(f".cw-details-files [data-cw-file='{broken}']").first.click()
    error = p.locator(".cw-viewer .cw-table-error").first
    wait_for_text(error, "Could not read alarms-broken.csv as a table: line 3 has 2 fields")
    assert p.locator(".cw-viewer .cw-table").count() == 0
    with p.expect_download() as download:
        p.locator(".cw-viewer .cw-viewer-download").click()
    assert download.value.suggested_filename == "alarms-broken.csv"
    p.assert_no_errors()


def test_the_preview_in_polish_and_the_dark_theme(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any]
) -> None:
    store, data_dir = world
    title, good, broken = chat_with_logs(store, data_dir)
    p = page(
        server.link("adam", lang="pl", theme="dark"),
        wait_for=".cw-app .cw-history .cw-tile",
        viewport={"width": 1400, "height": 900},
    )
    preview = open_log(p, title, good)
    wait_for_text(preview, "Kolumny i rozpoznane typy")
    wait_for_text(preview.locator(".cw-table-columns"), "data i godzina")
    assert_plot_shown(p)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    p.screenshot(path=str(ARTIFACTS / "csv-table-preview-pl-dark.png"), full_page=True)
    p.locator(f".cw-details-files [data-cw-file='{broken}']").first.click()
    wait_for_text(
        p.locator(".cw-viewer .cw-table-error").first, "Nie można odczytać pliku alarms-broken.csv jako tabeli"
    )
    wait_for_text(p.locator(".cw-viewer .cw-table-error").first, "wiersz 3 ma 2 pola")
    wait_for_text(p.locator(".cw-viewer .cw-table-note").first, "Pobierz")
    p.screenshot(path=str(ARTIFACTS / "csv-table-unreadable-pl-dark.png"), full_page=True)
    p.assert_no_errors()
