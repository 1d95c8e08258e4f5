"""Whiteboards: the stroke/shape model and its validation, per-user undo/redo, permissions, limits, events.

Semantics that must hold on both backends run on the parametrized ``seeded`` world; input validation runs once,
on SQLite.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import inspect, text
from support import World

from conferencing_widgets import Settings, Store
from conferencing_widgets.core.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from conferencing_widgets.core.events import EventKind
from conferencing_widgets.core.model import MessageKind
from conferencing_widgets.files.service import FileService
from conferencing_widgets.store.migrations import upgrade
from conferencing_widgets.whiteboard import service as wbmod
from conferencing_widgets.whiteboard import store as wb_store
from conferencing_widgets.whiteboard.service import WhiteboardService
from conferencing_widgets.whiteboard.types import UndoState
from conferencing_widgets.whiteboard.validation import MAX_STROKE_POINTS, bounded, clean_points, clean_stroke, simplify


def boards_of(world: World, login: str, tmp_path: Path | None = None) -> WhiteboardService:
    service = world.service(login)
    if tmp_path is not None:
        service.settings = Settings(data_dir=tmp_path, blob_url=str(tmp_path / "blobs"))
    return WhiteboardService(service)


def pen(bs: WhiteboardService, board: int, x: float, y: float, color: str = "#1f1f1f") -> int:
    return bs.add_stroke(board, "pen", [x, y, x + 30, y + 5, x + 60, y], color=color, width=4).id


def visible(world: World, board: int) -> list[int]:
    return [s.id for s in wb_store.get_strokes(world.store, board)]


def png_bytes(size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


# -- the stroke model --------------------------------------------------------------------------------------


def test_clean_stroke_keeps_each_shape_as_stored() -> None:
    assert clean_stroke("line", [1, 2, 30.04, 40], "#1971C2", 4) == {
        "shape": "line",
        "points": [1.0, 2.0, 30.0, 40.0],
        "color": "#1971c2",
        "width": 4.0,
        "text": "",
    }
    label = clean_stroke("text", [(10, 20)], "#000000", 2, "  Spindle\n bearing\x00 ")
    assert label["text"] == "Spindle bearing" and label["points"] == [10.0, 20.0]
    dot = clean_stroke("pen", [5, 5], "#000000", 2)
    assert dot["points"] == [5.0, 5.0, 5.1, 5.0]  # a dot stays visible on a canvas
    for shape in ("arrow", "rect", "ellipse"):
        assert clean_stroke(shape, [0, 0, 50, 20], "#000000", 2)["shape"] == shape


@pytest.mark.parametrize(
    ("shape", "points", "color", "width", "label", "error"),
    [
        ("blob", [0, 0, 1, 1], "#000000", 2, "", InvalidInput),
        ("pen", [], "#000000", 2, "", InvalidInput),
        ("pen", [1, 2, 3], "#000000", 2, "", InvalidInput),
        ("pen", [1, float("nan")], "#000000", 2, "", InvalidInput),
        ("pen", [1, float("inf")], "#000000", 2, "", InvalidInput),
        ("pen", [1, True], "#000000", 2, "", InvalidInput),
        ("pen", ["1", 2], "#000000", 2, "", InvalidInput),
        ("pen", [1, 2e9], "#000000", 2, "", InvalidInput),
        ("pen", "1,2", "#000000", 2, "", InvalidInput),
        ("pen", [0, 0] * 10_001, "#000000", 2, "", LimitExceeded),
        ("pen", [0, 0, 1, 1], "red", 2, "", InvalidInput),
        ("pen", [0, 0, 1, 1], "#00000g", 2, "", InvalidInput),
        ("pen", [0, 0, 1, 1], "#000000; background:url(x)", 2, "", InvalidInput),
        ("pen", [0, 0, 1, 1], "#000000", 0, "", InvalidInput),
        ("pen", [0, 0, 1, 1], "#000000", 500, "", InvalidInput),
        ("pen", [0, 0, 1, 1], "#000000", float("nan"), "", InvalidInput),
        ("pen", [0, 0, 1, 1], "#000000", "4", "", InvalidInput),
        ("line", [0, 0], "#000000", 2, "", InvalidInput),
        ("rect", [0, 0, 1, 1, 2, 2], "#000000", 2, "", InvalidInput),
        ("ellipse", [5, 5, 5.5, 5.2], "#000000", 2, "", InvalidInput),
        ("text", [0, 0], "#000000", 2, "", InvalidInput),
        ("text", [0, 0, 5, 5], "#000000", 2, "two points", InvalidInput),
        ("text", [0, 0], "#000000", 2, "x" * 201, LimitExceeded),
        ("text", [0, 0], "#000000", 2, 42, InvalidInput),
    ],
)
def test_clean_stroke_refuses_bad_input(
    shape: object, points: object, color: object, width: object, label: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        clean_stroke(shape, points, color, width, label)


def test_simplify_keeps_the_shape_within_tolerance_and_bounds_long_strokes() -> None:
    straight = np.stack([np.linspace(0, 100, 500), np.full(500, 7.0)], axis=1)
    assert simplify(straight, 0.25).tolist() == [[0.0, 7.0], [100.0, 7.0]]
    t = np.linspace(0, 2 * np.pi, 4000)
    circle = np.stack([300 + 200 * np.cos(t), 300 + 200 * np.sin(t)], axis=1)
    simple = simplify(circle, 0.25)
    assert 20 < len(simple) < 400
    # Every original point stays within the tolerance of the simplified polyline.
    seg_a, seg_b = simple[:-1], simple[1:]
    for p in circle[::97]:
        ab, ap = seg_b - seg_a, p - seg_a
        tt = np.clip((ap * ab).sum(1) / (ab * ab).sum(1), 0, 1)
        assert np.hypot(*(seg_a + ab * tt[:, None] - p).T).min() <= 0.25 + 1e-9
    noise = np.random.default_rng(3).uniform(0, 1000, (9000, 2))  # nothing to simplify: the cap still holds
    capped = bounded(noise)
    assert len(capped) <= MAX_STROKE_POINTS
    assert capped[0].tolist() == noise[0].tolist() and capped[-1].tolist() == noise[-1].tolist()
    stored = clean_stroke("pen", noise.ravel().tolist(), "#000000", 2)
    assert len(stored["points"]) // 2 <= MAX_STROKE_POINTS


def test_clean_points_accepts_pairs_and_flat_lists() -> None:
    assert clean_points([(1, 2), (3, 4)]).tolist() == clean_points([1, 2, 3, 4]).tolist() == [[1, 2], [3, 4]]


# -- boards and permissions ---------------------------------------------------------------------------------


def test_start_a_board_posts_a_whiteboard_message(seeded: World) -> None:
    alice = boards_of(seeded, "alice")
    before = seeded.store.last_event_id()
    board = alice.create(seeded.acme_case_chat)
    assert board.title == "Whiteboard 1" and board.created_by == "alice"
    assert alice.create(seeded.acme_case_chat, "Wiring").title == "Wiring"
    last = seeded.store.latest_messages(seeded.acme_case_chat, limit=2)
    assert [(m.kind, m.ref_id) for m in last][0] == (MessageKind.WHITEBOARD, board.id)
    kinds = [(e.kind, e.ref_id) for e in seeded.store.changes(after=before)]
    assert (EventKind.WHITEBOARD, board.id) in kinds and ("message", last[0].id) in kinds
    assert [b.title for b in alice.boards(seeded.acme_case_chat)] == ["Wiring", "Whiteboard 1"]


def test_who_may_open_and_who_may_draw(seeded: World) -> None:
    board = boards_of(seeded, "alice").create(seeded.acme_case_chat).id
    pen(boards_of(seeded, "tom"), board, 10, 10)  # tom is a member (the case's technician)
    erik = boards_of(seeded, "erik")  # an engineer reads every case chat, but is no member here
    assert erik.board(board).id == board and not erik.can_draw(board)
    assert len(erik.scene(board)) == 1
    before = seeded.snapshot()
    with pytest.raises(PermissionDenied, match="read-only"):
        pen(erik, board, 1, 1)
    for action in (erik.undo, erik.redo, erik.clear_mine):
        with pytest.raises(PermissionDenied):
            action(board)
    with pytest.raises(PermissionDenied):
        erik.create(seeded.acme_case_chat)
    assert seeded.snapshot() == before
    bella = boards_of(seeded, "bella")  # another company: the board does not exist for her
    for call in (lambda: bella.board(board), lambda: bella.scene(board), lambda: bella.png(board)):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(NotFound):
        bella.board("1 OR 1=1")
    assert not bella.service.may_see_event(seeded.store.changes(after=0)[-1])


def test_disabling_an_account_ends_its_board_rights_at_once(seeded: World) -> None:
    # Rights are remembered for a few seconds to keep drawing cheap; a disabled account must not ride on that.
    tom = boards_of(seeded, "tom")
    board = tom.create(seeded.acme_case_chat).id
    pen(tom, board, 10, 10)
    seeded.store.set_user_disabled("tom", True)
    before = seeded.snapshot()
    for action in (lambda: tom.scene(board), lambda: pen(tom, board, 20, 20), lambda: tom.board(board)):
        with pytest.raises(PermissionDenied, match="disabled"):
            action()
    assert seeded.snapshot() == before


def test_bad_strokes_write_nothing(sqlite_store: Store, seed) -> None:  # type: ignore[no-untyped-def]
    world = seed(sqlite_store)
    alice = boards_of(world, "alice")
    board = alice.create(world.acme_case_chat).id
    before = world.snapshot()
    for shape, pts, color, width in [
        ("pen", [0, float("nan")], "#000000", 2),
        ("rect", [0, 0, 10, 10], "javascript:alert(1)", 2),
        ("pen", [0, 0, 1, 1], "#000000", -1),
        ("triangle", [0, 0, 1, 1], "#000000", 2),
    ]:
        with pytest.raises(InvalidInput):
            alice.add_stroke(board, shape, pts, color=color, width=width)
    with pytest.raises(NotFound):
        alice.add_stroke(987654, "pen", [0, 0], color="#000000", width=2)
    with pytest.raises(InvalidInput):
        alice.erase(board, ["1; DROP TABLE strokes"])
    assert world.snapshot() == before


def test_board_and_conversation_limits(sqlite_store: Store, seed, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    world = seed(sqlite_store)
    alice = boards_of(world, "alice")
    board = alice.create(world.acme_case_chat).id
    monkeypatch.setattr(wbmod, "MAX_STROKES_PER_BOARD", 3)
    for i in range(3):
        pen(alice, board, 10 * i, 10)
    alice.erase(board, visible(world, board)[:1])  # erased strokes still count: undo can bring them back
    before = world.snapshot()
    with pytest.raises(LimitExceeded, match="full"):
        pen(alice, board, 0, 100)
    assert world.snapshot() == before
    monkeypatch.setattr(wbmod, "MAX_BOARDS_PER_CONVERSATION", 1)
    with pytest.raises(LimitExceeded):
        alice.create(world.acme_case_chat)


# -- undo / redo -----------------------------------------------------------------------------------------------


def test_undo_redo_are_per_user_and_never_touch_others_work(seeded: World) -> None:
    alice, tom = boards_of(seeded, "alice"), boards_of(seeded, "tom")
    board = alice.create(seeded.acme_case_chat).id
    a1 = pen(alice, board, 10, 10)
    t1 = pen(tom, board, 10, 50)
    a2 = pen(alice, board, 10, 90)
    t2 = pen(tom, board, 10, 130)
    assert alice.undo(board).removed == (a2,)  # her newest, though tom drew after it
    assert alice.undo(board).removed == (a1,)
    assert alice.undo(board) is None  # nothing left of hers
    assert visible(seeded, board) == [t1, t2]
    assert alice.redo(board).restored == (a1,)
    assert visible(seeded, board) == [a1, t1, t2]
    # A fresh service (a reloaded page) continues the same stacks.
    again = boards_of(seeded, "alice")
    assert again.undo_state(board) == UndoState(can_undo=True, can_redo=True)
    assert again.redo(board).restored == (a2,)
    assert again.redo(board) is None
    # Tom's undo takes only his own newest stroke.
    assert tom.undo(board).removed == (t2,)
    assert visible(seeded, board) == [a1, t1, a2]
    # A new action clears the redo stack: the undone stroke stays hidden for good.
    t3 = pen(tom, board, 10, 170)
    assert t3 > t2  # ids only grow, so events and actions never mix two strokes up
    assert tom.redo(board) is None
    assert visible(seeded, board) == [a1, t1, a2, t3]
    assert tom.undo(board).removed == (t3,) and tom.undo(board).removed == (t1,) and tom.undo(board) is None


def test_erase_clear_and_their_undo(seeded: World) -> None:
    alice, tom = boards_of(seeded, "alice"), boards_of(seeded, "tom")
    board = alice.create(seeded.acme_case_chat).id
    a1, a2 = pen(alice, board, 10, 10), pen(alice, board, 10, 60)
    t1 = pen(tom, board, 200, 10)
    # Tom erases one of Alice's strokes by pointing at it; one drag (extend_action) is one undo step.
    first = tom.erase_at(board, 40, 15)
    assert first.removed == (a1,)
    second = tom.erase_at(board, 40, 65, extend_action=first.action_id)
    assert second.removed == (a2,) and second.action_id == first.action_id
    assert tom.erase_at(board, 900, 600).empty  # nothing there
    assert visible(seeded, board) == [t1]
    assert tom.undo(board).restored == (a1, a2)
    # Clear-my-strokes takes only Alice's strokes; her undo brings them back.
    assert set(alice.clear_mine(board).removed) == {a1, a2}
    assert visible(seeded, board) == [t1]
    assert set(alice.undo(board).restored) == {a1, a2}
    # Alice undoes drawing a2 after Tom erased it: Tom's undo of the erase must not bring it back.
    e = tom.erase(board, [a2])
    assert e.removed == (a2,)
    assert alice.undo(board).removed == ()  # her newest done action is drawing a2: undone, so a2 becomes hers
    assert tom.undo(board).restored == ()
    assert visible(seeded, board) == [a1, t1]
    assert alice.redo(board).restored == (a2,)


def test_events_and_transient_progress(seeded: World) -> None:
    alice, tom = boards_of(seeded, "alice"), boards_of(seeded, "tom")
    board = alice.create(seeded.acme_case_chat)
    start = seeded.store.last_event_id()
    progress = [
        alice.progress(board.id, sid="s1", shape="pen", points=[0, 0, 5, 5], color="#e03131", width=4, start=True),
        alice.progress(board.id, sid="s1", shape="pen", points=[5, 5, 9, 9], color="#e03131", width=4),
    ]
    assert all(isinstance(i, int) for i in progress)
    seen = seeded.store.changes(after=start)
    assert [e.kind for e in seen] == [EventKind.WB_PROGRESS] * 2
    assert seen[0].payload["points"] == [0.0, 0.0, 5.0, 5.0] and seen[0].payload["author"] == "alice"
    stroke = alice.add_stroke(
        board.id, "pen", [0, 0, 5, 5, 9, 9], color="#e03131", width=4, sid="s1", progress_event_ids=progress
    )
    after = seeded.store.changes(after=start)
    assert [(e.kind, e.ref_id, e.payload["sid"]) for e in after] == [(EventKind.WB_STROKE, stroke.id, "s1")]
    assert after[0].conversation_id == seeded.acme_case_chat
    change = tom.erase(board.id, [stroke.id])
    last = seeded.store.changes(after=after[-1].id)
    assert [(e.kind, e.payload["removed"], e.payload["restored"]) for e in last] == [
        (EventKind.WB_CHANGE, [stroke.id], [])
    ]
    assert change.action_id is not None
    with pytest.raises(InvalidInput):
        alice.progress(board.id, sid="bad sid!", shape="pen", points=[0, 0], color="#000000", width=2)


def test_progress_is_rate_limited(sqlite_store: Store, seed) -> None:  # type: ignore[no-untyped-def]
    world = seed(sqlite_store)
    alice = boards_of(world, "alice")
    board = alice.create(world.acme_case_chat).id
    sent = [
        alice.progress(board, sid="s", shape="line", points=[0, 0, i, i], color="#000000", width=2)
        for i in range(wbmod.PROGRESS_PER_SECOND + 5)
    ]
    assert sent.count(None) >= 5
    assert alice.progress(board, sid="s", shape="line", points=[], color="#000000", width=2, end=True) is not None


def test_read_scene_matches_the_records(seeded: World) -> None:
    alice = boards_of(seeded, "alice")
    board = alice.create(seeded.acme_case_chat).id
    pen(alice, board, 1.5, 2.25)
    alice.add_stroke(board, "text", [5, 6], color="#1971c2", width=8, text="Lager 2")
    alice.add_stroke(board, "ellipse", [0, 0, 40, 20], color="#2f9e44", width=2)
    scene = alice.scene(board)
    records = alice.strokes(board)
    assert scene.ids.tolist() == [s.id for s in records]
    assert [scene.points(i).ravel().tolist() for i in range(len(scene))] == [list(s.points) for s in records]
    assert scene.texts == ["", "Lager 2", ""] and scene.shapes == ["pen", "text", "ellipse"]
    merged = scene.select(np.array([True, False, True])).merge(alice.scene(board, ids=[int(scene.ids[1])]))
    assert merged.ids.tolist() == scene.ids.tolist() and merged.flat.tolist() == scene.flat.tolist()


# -- backgrounds --------------------------------------------------------------------------------------------------


def test_background_from_a_shared_file_or_a_new_upload(sqlite_store: Store, seed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = seed(sqlite_store)
    alice = boards_of(world, "alice", tmp_path)
    board = alice.create(world.acme_case_chat).id
    files = FileService(alice.service)
    image = files.upload_bytes(world.acme_case_chat, "schematic.png", png_bytes((400, 100)))
    note = files.upload_bytes(world.acme_case_chat, "notes.txt", b"spindle notes\n")
    elsewhere = FileService(boards_of(world, "alice", tmp_path).service).upload_bytes(
        world.acme_direct, "other.png", png_bytes()
    )
    assert [a.id for a in alice.background_choices(board)] == [image.id]
    assert alice.set_background(board, image.id).background_attachment_id == image.id
    fitted = alice.background(board)
    assert fitted is not None and fitted.size == (1000, 250)  # scaled to fit the 1000×640 page
    before = world.snapshot()
    with pytest.raises(InvalidInput, match="not an image"):
        alice.set_background(board, note.id)
    with pytest.raises(NotFound):
        alice.set_background(board, elsewhere.id)
    with pytest.raises(InvalidInput, match="not an image"):
        alice.upload_background(board, "evil.png", b"<svg onload=alert(1)></svg>")
    with pytest.raises(InvalidInput, match="cannot be read"):
        alice.upload_background(board, "broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (wbmod.MAX_BACKGROUND_BYTES + 1)
    with pytest.raises(LimitExceeded, match="at most"):
        alice.upload_background(board, "huge.png", big)
    assert world.snapshot() == before  # refused backgrounds share nothing
    uploaded = alice.upload_background(board, "photo.jpg", _jpeg())
    assert uploaded.background_attachment_id not in (None, image.id)
    assert alice.set_background(board, None).background_attachment_id is None


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def test_pdf_first_page_becomes_the_background(sqlite_store: Store, seed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    world = seed(sqlite_store)
    alice = boards_of(world, "alice", tmp_path)
    board = alice.create(world.acme_case_chat).id
    page = Image.new("RGB", (300, 420), "white")
    page.paste((0, 0, 200), (0, 0, 300, 60))  # a blue title band at the top of the page
    pdf = io.BytesIO()
    page.save(pdf, "PDF", resolution=72)
    alice.upload_background(board, "drawing.pdf", pdf.getvalue())
    fitted = alice.background(board)
    assert fitted is not None and fitted.height == 640 and math.isclose(fitted.width, 640 * 300 / 420, abs_tol=1)
    r, g, b = fitted.getpixel((fitted.width // 2, 20))
    assert b > 150 and r < 60 and g < 60
    assert fitted.getpixel((fitted.width // 2, 600)) == (255, 255, 255)


# -- schema migration ------------------------------------------------------------------------------------------------


def test_migration_0003_upgrades_a_database_made_before_it(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(store.engine, "0002")  # a release before revision 0003 (revision 0001 is frozen DDL)
    insp = inspect(store.engine)
    assert not insp.has_table("whiteboard_actions")
    assert "revision" not in {c["name"] for c in insp.get_columns("whiteboards")}
    store.create_schema()
    insp = inspect(store.engine)
    assert insp.has_table("whiteboard_actions")
    assert "removed_by" in {c["name"] for c in insp.get_columns("strokes")}
    assert "revision" in {c["name"] for c in insp.get_columns("whiteboards")}
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() >= "0003"
    store.close()
