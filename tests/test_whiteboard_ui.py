"""The whiteboard UI without a browser: the app's "+" entry, rows and area 3, the board view driven by pointer
events, live updates between two views (``refresh()`` applies the feed), read-only viewers and the board page.
"""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from support import World

from conferencing_widgets import Service, Settings, Store
from conferencing_widgets.core.identity import make_token, read_token
from conferencing_widgets.core.model import MessageKind
from conferencing_widgets.files.service import FileService
from conferencing_widgets.ui import ConferencingApp
from conferencing_widgets.ui.whiteboard.feature import NewWhiteboardButton
from conferencing_widgets.ui.whiteboard.html import whiteboard_message_html
from conferencing_widgets.ui.whiteboard.png import WhiteboardPngWidget
from conferencing_widgets.ui.whiteboard.view import WhiteboardView
from conferencing_widgets.voila.dashboard import whiteboard_dashboard
from conferencing_widgets.whiteboard import store as wb_store
from conferencing_widgets.whiteboard.service import WhiteboardService

SECRET = "whiteboard-ui-secret"


@pytest.fixture()
def world(sqlite_store: Store, seed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:  # type: ignore[no-untyped-def]
    for name in ("VOILA_PREHEAT", "VOILA_BASE_URL", "QUERY_STRING"):
        monkeypatch.delenv(name, raising=False)
    world = seed(sqlite_store)
    world.settings = Settings(data_dir=tmp_path, secret=SECRET, blob_url=str(tmp_path / "blobs"))
    return world


def view_for(world: World, login: str, board: int) -> WhiteboardView:
    return WhiteboardView(WhiteboardService(world.service(login)), board, live=False)


def drag(view: WhiteboardView, *points: tuple[float, float]) -> None:
    view.pointer_down(*points[0])
    for p in points[1:-1]:
        view.pointer_move(*p)
    view.pointer_up(*points[-1])


def test_plus_entry_starts_a_board_listed_in_the_stream_and_area_3(world: World) -> None:
    app = ConferencingApp(world.service("alice"), live=False)
    app.open_conversation(world.acme_case_chat)
    entry = app.messages.whiteboard_entry
    assert isinstance(entry, NewWhiteboardButton) and "cw-whiteboard-new" in entry._dom_classes
    assert entry.mode == "inline"  # not under Voilà: the board opens inside the app
    reply = entry.click()
    assert reply["type"] == "inline"
    board = WhiteboardService(app.service).boards(world.acme_case_chat)[0]
    row = app.messages.stream.window[-1]
    assert row["kind"] == "whiteboard" and "Whiteboard 1" in row["html"]
    assert f'data-cw-wb-open="{board.id}"' in row["html"] and f'data-cw-wb-png="{board.id}"' in row["html"]
    section = app.details.sections["whiteboards"].value
    assert "Whiteboard 1" in section and "Alice Moreau" in section and "data:image/png;base64," in section
    assert isinstance(app.whiteboards.inline, WhiteboardView) and app.whiteboards.inline.board.id == board.id
    # Tom's app learns about the new board from the feed.
    tom = ConferencingApp(world.service("tom"), live=False)
    tom.open_conversation(world.acme_case_chat)
    WhiteboardService(world.service("alice")).create(world.acme_case_chat, "Coolant circuit")
    tom.refresh()
    assert "Coolant circuit" in tom.details.sections["whiteboards"].value
    assert "Coolant circuit" in tom.messages.stream.window[-1]["html"]


def test_under_voila_the_entry_opens_a_signed_board_page(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOILA_BASE_URL", "/")
    app = ConferencingApp(world.service("alice"), live=False)
    app.open_conversation(world.acme_case_chat)
    entry = app.whiteboards.entry
    assert entry.mode == "window"
    reply = entry.click("req-1")
    assert reply["type"] == "open" and reply["req"] == "req-1"
    url = urlsplit(reply["url"])
    assert url.path == "/voila/render/whiteboard.ipynb" and not url.netloc
    query = parse_qs(url.query)
    board = WhiteboardService(app.service).boards(world.acme_case_chat)[0]
    assert query["board"] == [str(board.id)] and read_token(query["token"][0], SECRET) == "alice"
    link = f'href="/voila/render/whiteboard.ipynb?board={board.id}&amp;token='
    assert link in app.messages.stream.window[-1]["html"]
    # No conversation open, or a read-only one: a clear error and no board.
    erik = ConferencingApp(world.service("erik"), live=False)
    erik.open_conversation(world.acme_case_chat)
    before = world.snapshot()
    assert erik.whiteboards.entry.click()["type"] == "error"
    assert "Only members" in erik.messages.error.value
    assert world.snapshot() == before


def test_two_views_draw_live_and_undo_only_their_own(world: World) -> None:
    board = WhiteboardService(world.service("alice")).create(world.acme_case_chat).id
    alice, tom = view_for(world, "alice", board), view_for(world, "tom", board)
    alice.select_color("#e03131")
    alice.pointer_down(100, 100)
    alice.pointer_move(140, 120)
    tom.refresh()
    assert [o["author"] for o in tom._others.values()] == ["alice"]  # her stroke in progress, before it ends
    assert "Alice Moreau drawing" in tom.info.value
    alice.pointer_move(180, 110)
    alice.pointer_up(200, 100)
    assert alice.error.value == "" and len(alice.scene) == 1
    tom.refresh()
    assert len(tom.scene) == 1 and tom._others == {} and tom.scene.colors == ["#e03131"]
    assert 'data-strokes="1"' in tom.info.value
    tom.select_tool("rect")
    drag(tom, (300, 300), (350, 330), (400, 380))
    tom.select_tool("text")
    tom.text_input.value = "Pump"
    tom.pointer_down(500, 500)
    alice.refresh()
    assert alice.scene.shapes == ["pen", "rect", "text"] and alice.scene.texts[2] == "Pump"
    alice.undo()
    tom.refresh()
    assert alice.scene.shapes == tom.scene.shapes == ["rect", "text"]  # tom's work stays
    assert alice.undo_button.disabled and not alice.redo_button.disabled
    alice.redo()
    tom.refresh()
    assert tom.scene.shapes == ["pen", "rect", "text"]
    # Tom erases Alice's stroke by dragging the eraser across it; his undo brings it back.
    tom.select_tool("eraser")
    drag(tom, (120, 60), (150, 110), (160, 160))
    alice.refresh()
    assert alice.scene.shapes == tom.scene.shapes == ["rect", "text"]
    tom.undo()
    alice.refresh()
    assert alice.scene.shapes == tom.scene.shapes == ["pen", "rect", "text"]
    tom.clear_mine()
    alice.refresh()
    assert alice.scene.shapes == ["pen"]
    # A view opened later (a reload) shows exactly what the store holds.
    again = view_for(world, "alice", board)
    assert again.scene.ids.tolist() == alice.scene.ids.tolist() == tom.scene.ids.tolist()


def test_tool_errors_show_and_write_nothing(world: World) -> None:
    board = WhiteboardService(world.service("alice")).create(world.acme_case_chat).id
    view = view_for(world, "alice", board)
    before = world.snapshot()
    view.select_tool("text")
    view.pointer_down(10, 10)  # no label typed
    assert "label is empty" in view.error.value
    view.select_tool("rect")
    drag(view, (10, 10), (10.2, 10.2))  # a click is no rectangle
    assert world.snapshot() == before
    with pytest.raises(ValueError):
        view.select_tool("spray")


def test_read_only_viewers_see_but_cannot_draw(world: World) -> None:
    bs = WhiteboardService(world.service("alice"))
    board = bs.create(world.acme_case_chat).id
    bs.add_stroke(board, "pen", [0, 0, 50, 50], color="#1f1f1f", width=2)
    erik = view_for(world, "erik", board)
    assert erik.read_only and len(erik.scene) == 1
    assert all(b not in erik.children[1].children for b in erik.tool_buttons.values())  # no drawing tools
    before = world.snapshot()
    drag(erik, (10, 10), (40, 40), (60, 60))
    erik.undo()
    erik.clear_mine()
    assert "read-only" in erik.error.value
    assert world.snapshot() == before


def test_replay_is_batched_and_zoom_maps_pointer_coordinates(world: World) -> None:
    bs = WhiteboardService(world.service("alice"))
    board = bs.create(world.acme_case_chat).id
    for i in range(60):
        bs.add_stroke(board, "pen", [i * 10, 10, i * 10 + 5, 60], color="#e03131" if i % 2 else "#1971c2", width=4)
    bs.add_stroke(board, "text", [20, 300], color="#1f1f1f", width=4, text="Valve")
    bs.add_stroke(board, "ellipse", [100, 400, 200, 450], color="#1f1f1f", width=8)
    view = view_for(world, "alice", board)
    view.canvas[3]._handle_frontend_event(None, {"event": "client_ready"}, [])  # what the browser sends
    assert view.ready_count == 1
    # 60 pen strokes of one width in one command (+ its width), then the label, then the ellipse.
    assert view.last_replay["commands"] == 2 + 3 + 2
    view.zoom_to_fit()
    assert view.zoom != 1.0
    x, y = view.to_board(*(v * view.zoom + o for v, o in zip((250.0, 35.0), view.offset, strict=True)))
    assert (round(x, 6), round(y, 6)) == (250.0, 35.0)
    view.zoom_reset()
    assert view.zoom == 1.0 and view.offset == (0.0, 0.0)


def test_png_downloads_check_rights(world: World) -> None:
    board = WhiteboardService(world.service("alice")).create(world.acme_case_chat)
    png = WhiteboardPngWidget(WhiteboardService(world.service("adam")), board=board.id)
    data = png.download(board.id)
    assert data is not None and data.startswith(b"\x89PNG")
    assert png.sent[-1] == {"type": "png", "name": f"Whiteboard-1-{board.id}.png", "size": len(data)}
    outsider = WhiteboardPngWidget(WhiteboardService(world.service("bella")))
    assert outsider.download(board.id) is None and outsider.sent[-1]["type"] == "error"


def test_board_page_reads_the_visitor_from_the_link(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFERENCING_STORE", world.store.url)
    monkeypatch.setenv("CONFERENCING_SECRET", SECRET)
    monkeypatch.setenv("CONFERENCING_DATA_DIR", str(world.settings.data_dir))
    board = WhiteboardService(world.service("alice")).create(world.acme_case_chat).id
    token = make_token("adam", SECRET, timedelta(hours=1))
    page = whiteboard_dashboard(f"board={board}&token={token}")
    views = [c for c in page.children if isinstance(c, WhiteboardView)]
    assert "cw-whiteboard-page" in page._dom_classes and views and views[0].board.id == board
    views[0].close()
    assert "cw-denied" in whiteboard_dashboard(f"board={board}")._dom_classes
    expired = make_token("adam", SECRET, timedelta(seconds=-5))
    assert "cw-denied" in whiteboard_dashboard(f"board={board}&token={expired}")._dom_classes
    bella = make_token("bella", SECRET, timedelta(hours=1))
    for query in (f"board={board}&token={bella}", f"board=abc&token={token}", f"token={token}"):
        missing = whiteboard_dashboard(query)
        assert "cw-wb-missing" in missing._dom_classes
        assert "Whiteboard 1" not in str([getattr(c, "value", "") for c in missing.children])


def test_stream_row_of_a_forged_reference_reveals_nothing(world: World) -> None:
    other = WhiteboardService(world.service("bella")).create(world.borg_case_chat, "Borg secret plan")
    forged = world.service("alice").post(world.acme_case_chat, "look", kind=MessageKind.WHITEBOARD, ref_id=other.id)
    html = whiteboard_message_html(WhiteboardService(world.service("alice")), forged)
    assert "not available" in html and "Borg" not in html
    assert wb_store.get_board(world.store, other.id).title == "Borg secret plan"


def test_service_accepts_a_plain_service(world: World) -> None:
    board = WhiteboardService(world.service("alice")).create(world.acme_case_chat).id
    view = WhiteboardView(WhiteboardService(Service(world.store, "adam", world.settings)), board, live=False)
    assert not view.read_only and view.boards.login == "adam"


def test_backgrounds_chosen_from_files_shared_while_the_board_is_open(world: World) -> None:
    board = WhiteboardService(world.service("alice")).create(world.acme_case_chat).id
    view = view_for(world, "tom", board)
    assert [v for _label, v in view.bg_select.options] == [0]
    out = io.BytesIO()
    Image.new("RGB", (50, 32), (0, 90, 200)).save(out, "PNG")
    att = FileService(world.service("adam")).upload_bytes(world.acme_case_chat, "pump.png", out.getvalue())
    view.refresh()
    assert [v for _label, v in view.bg_select.options] == [0, att.id]
    view.bg_select.value = att.id
    view.bg_set.click()
    assert view.error.value == "" and view.board.background_attachment_id == att.id
    alice = view_for(world, "alice", board)
    assert alice._bg_rect == (0, 0, 1000, 640)
    view.bg_remove.click()
    alice.refresh()
    assert alice.board.background_attachment_id is None and alice._bg_widget is None


def test_ready_nudges_stop_once_the_canvas_is_ready(seeded: World) -> None:
    board = WhiteboardService(seeded.service("alice")).create(seeded.acme_case_chat).id
    view = view_for(seeded, "alice", board)
    assert view.nudge in view.children and not view.nudge.acknowledged
    view.nudge._on_nudge(view.nudge, {"type": "nudge", "step": 0}, [])
    assert view.nudge.nudges == 1 and not view.ready
    view._on_ready()  # what the canvas's client-ready event calls
    assert view.ready and view.nudge.acknowledged
    view.close()


def test_the_pages_hello_sends_the_ready_state_again(seeded: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # An update the kernel sends while the page is still building the board's models is dropped by the page, so
    # the rendered page's hello gets the info line and the acknowledgement again (ready_nudge.js).
    board = WhiteboardService(seeded.service("alice")).create(seeded.acme_case_chat).id
    view = view_for(seeded, "alice", board)
    sent: list[tuple[str, object]] = []
    for name, widget in (("nudge", view.nudge), ("info", view.info)):
        monkeypatch.setattr(widget, "send_state", lambda key=None, name=name: sent.append((name, key)))
    view.nudge._on_nudge(view.nudge, {"type": "hello"}, [])
    assert view.nudge.hellos == 1 and sent == [] and not view.ready  # nothing to send again yet
    view._on_ready()
    sent.clear()
    view.nudge._on_nudge(view.nudge, {"type": "hello"}, [])
    assert sent == [("nudge", "acknowledged"), ("info", "value")]
    assert 'data-ready="1"' in view.info.value and view.ready_count == 1  # no second replay
    assert view.nudge.nudges == 0  # a hello is not a nudge
    view.close()


def test_a_page_showing_the_canvas_without_its_client_ready_gets_the_board_replayed(
    seeded: World, caplog: pytest.LogCaptureFixture
) -> None:
    board = WhiteboardService(seeded.service("alice")).create(seeded.acme_case_chat).id
    view = view_for(seeded, "alice", board)
    nudge = view.nudge
    for step in range(5):  # a page that has not drawn the canvas yet: waiting is right
        nudge._on_nudge(nudge, {"type": "nudge", "step": step, "canvas": False}, [])
    assert not view.ready and nudge.nudges == 5
    for step in range(2):
        nudge._on_nudge(nudge, {"type": "nudge", "step": step, "canvas": True}, [])
    assert not view.ready
    with caplog.at_level("WARNING"):
        nudge._on_nudge(nudge, {"type": "nudge", "step": 2, "canvas": True}, [])
    assert view.ready_count == 1 and nudge.acknowledged and 'data-ready="1"' in view.info.value
    assert "client-ready event never arrived" in caplog.text
    nudge._on_nudge(nudge, {"type": "nudge", "step": 3, "canvas": True}, [])
    view._on_ready()  # the late client ready: one more harmless replay
    assert view.ready_count == 2
    view.close()


def test_a_failed_replay_is_logged_and_still_counts_the_ready(
    seeded: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = WhiteboardService(seeded.service("alice")).create(seeded.acme_case_chat).id
    view = view_for(seeded, "alice", board)

    def broken() -> None:
        raise RuntimeError("canvas gone")

    monkeypatch.setattr(view, "redraw", broken)
    with caplog.at_level("ERROR"), pytest.raises(RuntimeError):
        view._on_ready()
    assert "replay on client ready failed" in caplog.text and 'data-ready="1"' in view.info.value
    view.close()
