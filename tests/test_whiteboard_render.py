"""The server-side PNG render of a board's stored log (Pillow, supersampled), without any browser."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import World

from conferencing_widgets import Settings, Store
from conferencing_widgets.core.errors import InvalidInput
from conferencing_widgets.core.model import Stroke
from conferencing_widgets.whiteboard import geometry
from conferencing_widgets.whiteboard import raster as render
from conferencing_widgets.whiteboard.service import WhiteboardService
from conferencing_widgets.whiteboard.types import SceneRows


@pytest.fixture()
def world(sqlite_store: Store, seed) -> World:  # type: ignore[no-untyped-def]
    return seed(sqlite_store)


def boards(world: World, tmp_path: Path, login: str = "alice") -> WhiteboardService:
    service = world.service(login)
    service.settings = Settings(data_dir=tmp_path, blob_url=str(tmp_path / "blobs"))
    return WhiteboardService(service)


def image(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def test_an_empty_board_is_the_white_page(world: World, tmp_path: Path) -> None:
    bs = boards(world, tmp_path)
    board = bs.create(world.acme_case_chat).id
    px = image(render.render_png(world.store, board))
    assert px.shape == (geometry.PAGE_HEIGHT, geometry.PAGE_WIDTH, 3)
    assert (px == 255).all()


def test_strokes_land_where_they_were_drawn_with_smooth_edges(world: World, tmp_path: Path) -> None:
    bs = boards(world, tmp_path)
    board = bs.create(world.acme_case_chat).id
    bs.add_stroke(board, "pen", [100, 100.3, 300, 100.3], color="#e03131", width=8)  # red, 8 wide: y 96.3..104.3
    bs.add_stroke(board, "rect", [400, 300, 500, 380], color="#1971c2", width=2)
    bs.add_stroke(board, "line", [200, 50, 200, 150], color="#2f9e44", width=4)  # crosses the red line, on top
    px = image(bs.png(board))
    assert px[100, 150].tolist() == [224, 49, 49]  # inside the red line: exactly its colour
    assert (px[90, 150] == 255).all() and (px[110, 150] == 255).all()  # outside: white
    edge = px[95:98, 150, 1]  # rows across the line's upper edge
    assert ((edge > 60) & (edge < 250)).any(), f"no anti-aliased edge pixels: {edge.tolist()}"
    assert px[100, 200].tolist() == [47, 158, 68]  # the later green line is drawn over the red one
    assert px[300, 450].tolist() == [25, 113, 194] and (px[340, 450] == 255).all()  # the outline, not a fill
    assert (px[380, 400] < 200).any()  # the corner is drawn
    # Round caps: the line reaches about half its width past its end point, and no further.
    assert px[100, 302, 1] < 128 and (px[100, 306] == 255).all()


def test_labels_arrows_and_ellipses_are_drawn(world: World, tmp_path: Path) -> None:
    bs = boards(world, tmp_path)
    board = bs.create(world.acme_case_chat).id
    bs.add_stroke(board, "text", [600, 100], color="#1f1f1f", width=4, text="Bearing B2")
    bs.add_stroke(board, "arrow", [100, 500, 300, 500], color="#9c36b5", width=2)
    bs.add_stroke(board, "ellipse", [700, 400, 900, 500], color="#f08c00", width=4)
    px = image(bs.png(board))
    size = geometry.text_size(4)
    label = px[100 : int(100 + size * 1.2), 600 : int(600 + geometry.text_extent("Bearing B2", 4)[0])]
    assert (label < 128).any() and (px[60:95, 600:700] == 255).all()
    head = geometry.arrow_head(100, 500, 300, 500, 2)
    hx, hy = head[0]
    assert (px[int(hy) - 2 : int(hy) + 3, int(hx) - 2 : int(hx) + 3] < 200).any()  # the head's barb
    assert (px[450, 700:704, 2] < 128).any()  # the ellipse's left end (orange has little blue)
    assert (px[450, 800] == 255).all()  # its centre stays empty


def test_hidden_strokes_are_not_exported(world: World, tmp_path: Path) -> None:
    bs = boards(world, tmp_path)
    board = bs.create(world.acme_case_chat).id
    stroke = bs.add_stroke(board, "pen", [100, 100, 300, 100], color="#e03131", width=8)
    assert (image(bs.png(board))[100, 200] != 255).any()
    bs.undo(board)
    assert (image(bs.png(board)) == 255).all()
    bs.redo(board)
    assert stroke.id in bs.scene(board).ids


def test_scale_size_and_content_outside_the_page(world: World, tmp_path: Path) -> None:
    bs = boards(world, tmp_path)
    board = bs.create(world.acme_case_chat).id
    bs.add_stroke(board, "pen", [10, 10, 50, 50], color="#1f1f1f", width=2)
    assert image(bs.png(board, scale=0.5)).shape == (320, 500, 3)
    thumb = image(bs.png(board, size=(200, 128)))
    assert thumb.shape == (128, 200, 3) and (thumb < 250).any()
    bs.add_stroke(board, "pen", [1200, 700, 1300, 800], color="#1f1f1f", width=2)  # beyond the page
    big = image(bs.png(board))
    assert big.shape[1] > 1300 and big.shape[0] > 800
    assert (big[750, 1250] < 128).all()  # the far stroke is in the picture
    with pytest.raises(InvalidInput):
        bs.png(board, scale=float("nan"))
    with pytest.raises(InvalidInput):
        bs.png(board, size=(0, 10))


def test_background_under_the_strokes(world: World, tmp_path: Path) -> None:
    bs = boards(world, tmp_path)
    board = bs.create(world.acme_case_chat).id
    photo = Image.new("RGB", (100, 64), (240, 220, 120))  # the page's aspect ratio: fills it exactly
    photo.paste((10, 10, 10), (0, 0, 10, 64))
    out = io.BytesIO()
    photo.save(out, "PNG")
    bs.upload_background(board, "plan.png", out.getvalue())
    bs.add_stroke(board, "pen", [500, 300, 700, 300], color="#1971c2", width=8)
    px = image(bs.png(board))
    assert px[50, 500].tolist() == [240, 220, 120]  # background, scaled 10×
    assert (px[300, 30] < 20).all()  # the dark band on the left, scaled too
    assert px[300, 600].tolist() == [25, 113, 194]  # the stroke covers the background
    # Renders without rights checks (for the transcript) read the blobs given, or skip a missing background.
    plain = image(render.render_png(world.store, board, blobs=bs.files.blobs))
    assert (plain == px).all()
    missing = image(render.render_png(world.store, board, blobs=type(bs.files.blobs)(str(tmp_path / "empty"))))
    assert (missing[50, 500] == 255).all() and missing[300, 600].tolist() == [25, 113, 194]


def test_hit_test_finds_the_topmost_stroke() -> None:
    scene = SceneRows.from_strokes([])
    assert geometry.hit_test(scene, 0, 0, 5) is None

    def st(i: int, shape: str, pts: list[float], text: str = "") -> Stroke:
        return Stroke(
            id=i,
            whiteboard_id=1,
            author="a",
            created_at=datetime.now(UTC),
            shape=shape,
            points=tuple(pts),
            width=4,
            text=text,
        )

    scene = SceneRows.from_strokes(
        [st(1, "pen", [0, 0, 100, 0]), st(2, "rect", [50, -20, 150, 20]), st(3, "text", [300, 300], "Hi")]
    )
    assert geometry.hit_test(scene, 10, 1, 3) == 0
    assert geometry.hit_test(scene, 50, 1, 3) == 1  # on both: the later one wins
    assert geometry.hit_test(scene, 100, 0, 3) == 0  # inside the rectangle outline but on the line only
    assert geometry.hit_test(scene, 305, 310, 3) == 2
    assert geometry.hit_test(scene, 500, 500, 3) is None


def test_exports_and_thumbnails_are_cached_until_the_board_changes(world: World, tmp_path: Path) -> None:
    bs = boards(world, tmp_path)
    board = bs.create(world.acme_case_chat).id
    bs.add_stroke(board, "pen", [100, 100, 300, 100], color="#e03131", width=8)
    first = bs.png(board)
    renders = bs.images.renders
    assert bs.png(board) == first and bs.images.renders == renders  # the repeated export is not rendered again
    # Tom draws in his own session (another page, another kernel): Alice's next export shows his stroke.
    tom = boards(world, tmp_path, "tom")
    tom.add_stroke(board, "pen", [100, 300, 300, 300], color="#1971c2", width=8)
    assert image(bs.png(board))[300, 200].tolist() == [25, 113, 194] and bs.images.renders == renders + 1
    tom.undo(board)  # an undo records no new action, but it changes the picture too
    assert (image(bs.png(board))[300, 200] == 255).all()
    thumb = bs.thumbnail(bs.board(board))
    renders = bs.images.renders
    assert bs.thumbnail(bs.board(board)) == thumb and bs.images.renders == renders
    bs.png(board, scale=0.5)  # another size is another picture
    assert bs.images.renders == renders + 1
    with pytest.raises(InvalidInput):
        bs.png(board, scale="big")  # type: ignore[arg-type]  # refused as before, not a cache key error
    photo = io.BytesIO()
    Image.new("RGB", (100, 64), (10, 10, 10)).save(photo, "PNG")
    tom.upload_background(board, "dark.png", photo.getvalue())  # a background change is a change as well
    assert bs.thumbnail(bs.board(board)) != thumb


def test_a_board_with_more_colours_than_an_indexed_render_holds() -> None:
    def st(i: int) -> Stroke:
        y = 10.0 + 2 * i
        return Stroke(
            id=i + 1,
            whiteboard_id=1,
            author="a",
            created_at=datetime.now(UTC),
            shape="pen",
            points=(10.0, y, 400.0, y),
            color=f"#{i:02x}{255 - i % 256:02x}{(7 * i) % 256:02x}",
            width=2,
        )

    strokes = [st(i) for i in range(300)]  # 300 distinct colours: drawn straight onto the page
    px = np.asarray(render.render_scene(SceneRows.from_strokes(strokes)).convert("RGB"))
    for i in (0, 150, 299):
        y = int(10 + 2 * i)
        assert px[y, 200].tolist() == list(geometry.hex_rgb(strokes[i].color))
