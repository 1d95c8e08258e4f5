"""Machine logs as data (issue 14): CSV/TSV files previewed as tables in the viewer and read as DataFrames.

The pure parts (``files/tables.py``) are tested on bytes; the service and the viewer on a seeded SQLite world.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from support import World, seed_world

from conferencing_widgets import InvalidInput, LimitExceeded, NotFound, Service, Settings, Store
from conferencing_widgets.core.i18n import language
from conferencing_widgets.demo.media import spindle_log as demo_spindle_log
from conferencing_widgets.export import api as export
from conferencing_widgets.files import tablefiles
from conferencing_widgets.files.service import FileService, TableUnreadable
from conferencing_widgets.files.tables import (
    PREVIEW_ROWS,
    ChunkReader,
    is_table_file,
    preview_table,
    read_frame,
)
from conferencing_widgets.ui.files.viewer import FileViewerWidget


def spindle_log(rows: int = 300, sep: str = ";", decimal: str = ",") -> bytes:
    """A spindle-load trace: a time column, a load with a decimal comma, an alarm code."""
    lines = [f"time{sep}spindle_load{sep}alarm"]
    for i in range(rows):
        load = f"{40 + i % 17}{decimal}5"
        lines.append(f"2026-11-30 08:{i // 60 % 60:02d}:{i % 60:02d}{sep}{load}{sep}A{i % 3}")
    return ("\n".join(lines) + "\n").encode()


# -- the preview, on bytes ---------------------------------------------------------------------------------


def test_semicolon_log_with_decimal_comma_header_datetime_and_plot() -> None:
    p = preview_table(spindle_log(), name="spindle.csv")
    assert p.problem is None
    assert (p.delimiter, p.decimal, p.has_header) == (";", ",", True)
    assert [(c.name, c.kind) for c in p.columns] == [
        ("time", "datetime"),
        ("spindle_load", "number"),
        ("alarm", "text"),
    ]
    assert len(p.rows) == PREVIEW_ROWS and p.more
    assert (p.time_column, p.value_column) == (0, 1)
    assert p.plot_png is not None and p.plot_png.startswith(b"\x89PNG") and len(p.plot_png) < 200_000


def test_the_demo_spindle_log_plots_its_vibration_over_time() -> None:
    csv, data = demo_spindle_log()
    p = preview_table(csv, name="spindle-log-VMC850-1187.csv")
    assert p.problem is None and p.delimiter == "," and p.more
    kinds = {c.name: c.kind for c in p.columns}
    assert kinds == {
        "timestamp": "datetime",
        "speed_rpm": "integer",
        "load_pct": "number",
        "vibration_mm_s": "number",
        "bearing_temp_c": "number",
    }
    assert p.time_column == 0 and p.plot_png is not None
    frame = read_frame(io.BytesIO(csv), p, name="s.csv", max_rows=10_000)
    assert len(frame) == len(data) == 600 and frame["vibration_mm_s"].max() > 3


def test_comma_csv_without_header_is_numbered_and_typed() -> None:
    p = preview_table(b"1,2.5,true\n2,3.5,false\n3,-1e3,yes\n", name="x.csv")
    assert p.problem is None and not p.has_header and p.delimiter == ","
    assert [c.kind for c in p.columns] == ["integer", "number", "boolean"] and [c.name for c in p.columns] == [""] * 3
    assert len(p.rows) == 3 and not p.more
    assert p.time_column is None and p.value_column == 1 and p.plot_png is not None  # against the row number


def test_tsv_and_pipes_and_quoted_delimiters() -> None:
    tsv = preview_table(b"axis\tload\nX\t1\nY\t2\n", name="a.tsv")
    assert tsv.delimiter == "\t" and [c.name for c in tsv.columns] == ["axis", "load"]
    quoted = preview_table(b'name,comment\nA,"one, two; three"\nB,"x"\n', name="q.csv")
    assert quoted.delimiter == "," and quoted.rows[0] == ("A", "one, two; three")
    pipes = preview_table(b"a|b\n1|2\n", name="p.csv")
    assert pipes.delimiter == "|"


def test_windows_1250_and_utf16_text_are_decoded() -> None:
    cp = preview_table("maszyna;obciążenie\nTokarka żółta;12\n".encode("cp1250"), name="pl.csv")
    assert cp.encoding == "cp1250" and cp.rows[0] == ("Tokarka żółta", "12") and cp.columns[1].name == "obciążenie"
    u16 = preview_table("a,b\nź,1\n".encode("utf-16"), name="u.csv")
    assert u16.encoding == "utf-16" and u16.rows[0] == ("ź", "1")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (bytes(range(256)) * 40, "binary"),
        (b"PK\x03\x04\x14\x00\x00\x00junk\x00\x00" * 100, "binary"),
        (b"a,b,c\n1,2,3\n4,5\n", "ragged"),
        (b"a,b\n1,2\n3,4,5,6\n", "ragged"),
        (b"\n  \n\n", "empty"),
        (b"a,b,c\n", "empty"),
        (b"\x81\x83\x88 caf\xe9;\x90\x98\n", "encoding"),
    ],
    ids=["junk", "zip", "ragged-short", "ragged-long", "blank", "header-only", "encoding"],
)
def test_what_is_not_a_table_says_why(data: bytes, code: str) -> None:
    p = preview_table(data, name="bad.csv")
    assert p.problem is not None and p.problem.code == code
    assert p.rows == () and p.plot_png is None
    message = TableUnreadable("bad.csv", p.problem).args[0]
    assert message.startswith("Could not read bad.csv as a table: ")


def test_a_giant_field_is_a_reason_not_a_crash() -> None:
    p = preview_table(b"a,b\n" + b"x" * 200_000 + b",1\n", name="long.csv")
    assert p.problem is not None and p.problem.code == "parse"
    assert "field larger than field limit" in p.problem.text()


def test_ragged_reason_names_the_line() -> None:
    p = preview_table(b"a,b,c\n1,2,3\n4,5\n", name="r.csv")
    assert p.problem is not None
    assert p.problem.text() == "line 3 has 2 fields where the lines before it have 3."


def test_an_incomplete_head_is_cut_at_a_line() -> None:
    data = spindle_log(50)
    p = preview_table(data[: len(data) // 2 + 7], name="cut.csv", complete=False)
    assert p.problem is None and p.more
    assert all(len(r) == 3 for r in p.rows)


def test_which_files_are_tables() -> None:
    assert is_table_file("log.txt", "text/csv")
    assert is_table_file("latin.csv", "application/octet-stream")  # not UTF-8: the preview decides
    assert is_table_file("trace.TSV", "text/plain")
    assert not is_table_file("notes.txt", "text/plain")
    assert not is_table_file("page.csv", "text/html")  # active content stays a download
    assert not is_table_file("photo.csv", "image/png")


# -- the full read -----------------------------------------------------------------------------------------


def test_read_frame_parses_types_and_decimal_comma() -> None:
    data = spindle_log(500)
    p = preview_table(data, name="s.csv")
    frame = read_frame(io.BytesIO(data), p, name="s.csv", max_rows=1000)
    assert frame.shape == (500, 3)
    assert pd.api.types.is_datetime64_any_dtype(frame["time"])
    assert frame["spindle_load"].dtype == "float64" and frame["spindle_load"].iloc[0] == 40.5
    assert frame["time"].iloc[61] == pd.Timestamp("2026-11-30 08:01:01")


def test_ten_million_rows_stop_at_the_row_limit_quickly() -> None:
    """A 10-million-row log, generated lazily: reading stops just past the limit with a clear error."""
    total = 10_000_000
    produced = itertools.count()

    def lines() -> Iterator[bytes]:
        yield b"t,load\n"
        for i in range(total):
            next(produced)
            yield f"2026-01-01T00:00:{i % 60:02d},{i % 97}\n".encode()

    def chunks() -> Iterator[bytes]:
        batch: list[bytes] = []
        for line in lines():
            batch.append(line)
            if len(batch) == 4096:
                yield b"".join(batch)
                batch = []
        if batch:
            yield b"".join(batch)

    head = b"".join(itertools.islice(lines(), 300))
    p = preview_table(head, name="huge.csv", complete=False)
    with pytest.raises(LimitExceeded, match=r"huge.csv has more than 20,000 rows.*CONFERENCING_TABLE_MAX_ROWS"):
        read_frame(io.BufferedReader(ChunkReader(chunks())), p, name="huge.csv", max_rows=20_000)
    consumed = next(produced)
    assert consumed < total // 50, f"read {consumed} of {total} rows; reading should stop near the limit"


def test_read_frame_reports_bad_lines_past_the_preview() -> None:
    data = spindle_log(400) + b"2026-11-30 09:00:00;1,5;A1;extra;fields\n"
    p = preview_table(data[:8000], name="late.csv", complete=False)
    with pytest.raises(TableUnreadable, match="Could not read late.csv as a table: the parser stopped"):
        read_frame(io.BytesIO(data), p, name="late.csv", max_rows=10_000)


# -- the service, the export and the viewer ------------------------------------------------------------------


@pytest.fixture()
def world(tmp_path: Path) -> Iterator[World]:
    store = Store(f"sqlite:///{tmp_path / 'tables.db'}")
    w = seed_world(store)
    w.settings = Settings(data_dir=tmp_path)
    yield w
    store.close()


def upload(world: World, login: str, name: str, data: bytes) -> int:
    files = FileService(Service(world.store, login, world.settings))
    return files.upload_bytes(world.acme_case_chat, name, data).id


def test_file_table_for_analysts_with_download_rights(world: World) -> None:
    data = spindle_log(300)
    att = upload(world, "alice", "spindle.csv", data)
    frame = FileService(world.service("tom")).file_table(att)
    assert frame.shape == (300, 3) and list(frame.columns) == ["time", "spindle_load", "alarm"]
    same = export.file_table(world.service("adam"), att)
    pd.testing.assert_frame_equal(frame, same)
    with pytest.raises(NotFound):  # Borg's customer may not download ACME's file
        FileService(world.service("bella")).file_table(att)
    with pytest.raises(NotFound):
        export.file_table(world.service("bella"), att)


def test_file_table_refuses_non_tables_and_big_files_before_reading(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    txt = upload(world, "alice", "notes.txt", b"just a note\n")
    with pytest.raises(InvalidInput, match="notes.txt is not a CSV or tab-separated file"):
        FileService(world.service("alice")).file_table(txt)
    att = upload(world, "alice", "big.csv", spindle_log(200))
    files = FileService(world.service("alice", table_max_bytes=1000))

    def no_reading(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("a file over the byte limit must not be read")

    monkeypatch.setattr(files.blobs, "read", no_reading)
    monkeypatch.setattr(files.blobs, "iter_chunks", no_reading)
    with pytest.raises(LimitExceeded, match=r"big.csv is 5.5 KB; files over 1000 bytes are not read as a table"):
        files.file_table(att)


def test_file_table_row_limit_setting(world: World) -> None:
    att = upload(world, "alice", "rows.csv", spindle_log(300))
    with pytest.raises(LimitExceeded, match="more than 250 rows"):
        FileService(world.service("alice", table_max_rows=250)).file_table(att)
    assert len(FileService(world.service("alice", table_max_rows=300)).file_table(att)) == 300


def test_junk_named_csv_is_shared_and_previewed_as_unreadable(world: World) -> None:
    junk = bytes(range(256)) * 64
    att = upload(world, "alice", "alarms.csv", junk)  # the upload never depends on the preview
    files = FileService(world.service("adam"))
    preview = files.preview(att)
    assert preview.kind == "table" and preview.table is not None and preview.table.problem is not None
    assert files.read(att)[1] == junk  # still shared as a file
    with pytest.raises(TableUnreadable, match="Could not read alarms.csv as a table: it holds binary data"):
        files.file_table(att)


def test_preview_is_cached_by_content(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    data = spindle_log(30) + b"2026-11-30 10:00:00;1,5;cache-test\n"
    first = upload(world, "alice", "one.csv", data)
    second = upload(world, "alice", "two.csv", data)  # same bytes, same blob
    files = FileService(world.service("alice"))
    calls: list[bytes] = []
    real = tablefiles.preview_table

    def counting(head: bytes, **kwargs: object) -> object:
        calls.append(head)
        return real(head, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tablefiles, "preview_table", counting)
    a, b = files.preview(first).table, files.preview(second).table
    files.preview(first)
    assert a is b and len(calls) <= 1


class Wire:
    def __init__(self, widget: FileViewerWidget) -> None:
        self.sent: list[dict[str, object]] = []
        widget.send = lambda content, buffers=None: self.sent.append(content)  # type: ignore[method-assign]


def test_viewer_shows_table_columns_plot_and_escapes_cells(world: World) -> None:
    data = b'when,load,note\n2026-11-30T08:00:00,1.5,"<img src=x onerror=alert(1)>"\n2026-11-30T08:00:01,2.5,<b>b</b>\n'
    att = upload(world, "alice", "log.csv", data)
    viewer = FileViewerWidget(FileService(world.service("adam")))
    wire = Wire(viewer)
    viewer.open_file(att)
    (shown,) = wire.sent
    assert shown["kind"] == "table" and not shown["streaming"]
    html = str(shown["table_html"])
    assert 'class="cw-table-preview"' in html and 'class="cw-table-plot"' in html
    assert 'src="data:image/png;base64,' in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "<b>" not in html
    assert "date and time" in html and "number" in html and "load over when, first 2 rows" in html
    assert html.count("<tr>") == 3  # header and two rows


def test_viewer_unreadable_table_in_polish(world: World) -> None:
    att = upload(world, "alice", "dziennik.csv", b"a,b,c\n1,2,3\n4,5\n")
    with language("pl"):
        viewer = FileViewerWidget(FileService(world.service("adam")))
        wire = Wire(viewer)
        viewer.open_file(att)
    html = str(wire.sent[0]["table_html"])
    assert "Nie można odczytać pliku dziennik.csv jako tabeli" in html
    assert "cw-table-plot" not in html and "Pobierz" in html


def test_viewer_table_in_polish(world: World) -> None:
    att = upload(world, "alice", "wrzeciono.csv", spindle_log(250))
    with language("pl"):
        viewer = FileViewerWidget(FileService(world.service("adam")))
        wire = Wire(viewer)
        viewer.open_file(att)
    html = str(wire.sent[0]["table_html"])
    assert "Kolumny i rozpoznane typy" in html and "data i godzina" in html and "liczba" in html
    assert "Pierwsze 200 wiersze" not in html and "pobierz plik, aby zobaczyć resztę" in html
    assert "rozdzielone średnikami" in html and "spindle_load w czasie (time)" in html
