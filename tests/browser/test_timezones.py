"""Times agree with the browser's time zone (issue 15): Chromium set to Europe/Warsaw and to America/Chicago
(Playwright's ``timezone_id``) sees the same stored UTC instant as its own wall-clock time, in the stream, on the
tile, in the Details file and whiteboard rows. Expected strings come from zoneinfo + Babel, never hard-coded."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_datetime, format_time
from sqlalchemy import update

from conferencing_widgets import ConversationKind, Store
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.config import Settings
from conferencing_widgets.files.service import FileService
from conferencing_widgets.store import schema as s
from conferencing_widgets.whiteboard.service import WhiteboardService

from .support import VoilaServer, wait_for_text

pytestmark = pytest.mark.browser
READY = ".cw-app .cw-history .cw-tile"
# 03:30 UTC: already 10 March in Warsaw (04:30 CET), still 9 March in Chicago (22:30 CDT, DST began on 8 March).
INSTANT = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)

def seed_at_instant(store: Store, data_dir: Path) -> str:
    """A fresh case chat with a message, a file and a whiteboard, all stamped ``INSTANT``; returns its title."""
    title = f"Zones {secrets.token_hex(3)}"
    case = store.get_case_by_number("SR-2026-00042")
    conv = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title=title, created_by="alice", members=["adam"], case_id=case.id
    )
    alice = Service(store, "alice", Settings(data_dir=data_dir))
    alice.post(conv.id, "Spindle vibration at 6000 rpm")
    FileService(alice).upload_bytes(conv.id, "vibration-log.txt", b"log")
    WhiteboardService(alice).create(conv.id, "Spindle sketch")
    # The store stamps server time; move everything of this chat to the known instant.
    with store.atomic() as conn:
        for table in (s.messages, s.attachments, s.whiteboards):
            conn.execute(update(table).where(table.c.conversation_id == conv.id).values(created_at=INSTANT))
        conn.execute(
            update(s.conversations).where(s.conversations.c.id == conv.id).values(last_activity_at=INSTANT)
        )
    return title


def expected(zone: str, lang: str) -> dict[str, str]:
    """What a person in ``zone`` reading ``lang`` sees for ``INSTANT``: the stream's clock time, the tile's day,
    and the Details rows' date and time (the app's own patterns: Polish 24-hour, English CLDR medium)."""
    local = INSTANT.astimezone(ZoneInfo(zone))
    if lang == "pl":
        return {
            "stream": format_time(local, "HH:mm", locale="pl"),
            "tile": format_date(local, "d MMM", locale="pl"),
            "details": format_datetime(local, "d MMM y, HH:mm", locale="pl"),
        }
    return {
        "stream": format_time(local, "hh:mm a", locale="en_US"),
        "tile": format_date(local, "MMM d", locale="en_US"),
        "details": format_datetime(local, "MMM d, y, h:mm a", locale="en_US"),
    }


def norm(text: str) -> str:
    """Babel and Chromium differ only in which space sits before AM/PM (U+202F / U+00A0 / U+0020)."""
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())

@pytest.mark.parametrize(
    ("zone", "locale", "lang"),
    [("Europe/Warsaw", "pl-PL", "pl"), ("America/Chicago", "en-US", "en"), ("Europe/Warsaw", "en-US", "en")],
)
def test_times_are_the_browsers_wall_clock(
    world: tuple[Store, Path], server: VoilaServer, page: Callable[..., Any], zone: str, locale: str, lang: str
) -> None:
    store, data_dir = world
    title = seed_at_instant(store, data_dir)
    want = expected(zone, lang)
    p = page(server.link("alice"), wait_for=READY, locale=locale, timezone_id=zone)
    tile = p.locator(".cw-history .cw-tile").filter(has_text=title).first
    wait_for_text(tile, title)
    tile_when = tile.locator(".cw-tile-when")
    p.wait_for_function("(el) => el.textContent.trim() !== ''", arg=tile_when.element_handle())
    assert norm(tile_when.inner_text()) == norm(want["tile"])
    tile.click()
    stream = p.locator(".cw-stream")
    wait_for_text(stream, "Spindle vibration at 6000 rpm")
    stamp = stream.locator(".cw-message").filter(has_text="Spindle vibration").locator("time").first
    assert norm(stamp.inner_text()) == norm(want["stream"])
    # Details: the file row and the whiteboard row are rendered by the kernel in the zone the browser reported.
    files = p.locator(".cw-details-files")
    wait_for_text(files, "vibration-log.txt")
    wait_for_text(files, norm(want["details"]).split(" ")[0])
    p.wait_for_function(
        "([sel, want]) => [...document.querySelectorAll(sel + ' time')].some("
        "t => t.textContent.replace(/\\s+/g, ' ').trim() === want)",
        arg=[".cw-details-files", norm(want["details"])],
    )
    p.wait_for_function(
        "([sel, want]) => [...document.querySelectorAll(sel + ' time')].some("
        "t => t.textContent.replace(/\\s+/g, ' ').trim() === want)",
        arg=[".cw-details-whiteboards", norm(want["details"])],
    )
    # The kernel knows the zone too; machine-readable stamps stay UTC with the zone stated.
    iso = p.locator(".cw-details-files time").first.get_attribute("datetime") or ""
    assert iso.startswith("2026-03-10T03:30:00") and iso.endswith("+00:00")
