"""Export: DataFrame schemas and dtypes, filters, access limits, metrics with known answers, CLI round trips.

Runs on SQLite and PostgreSQL (the ``store`` / ``seeded`` fixtures of conftest.py are parametrized).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from sqlalchemy import insert, update
from support import World, snapshot

from conferencing_widgets import (
    ConversationKind,
    InvalidInput,
    MessageKind,
    NewMessage,
    NotFound,
    Role,
    Service,
    Store,
)
from conferencing_widgets.cli import main
from conferencing_widgets.core.errors import PermissionDenied, StorageError
from conferencing_widgets.export import api as export
from conferencing_widgets.export import readers
from conferencing_widgets.export.metrics import CASE_COLUMNS
from conferencing_widgets.export.tables import TS
from conferencing_widgets.store import schema

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
ID_COLUMNS = {"id", "conversation_id", "case_id", "ref_id", "background_attachment_id"}
CATEGORIES = {
    "conversations": {"kind", "group"},
    "members": {"group", "role"},
    "messages": {"author_group", "author_role", "kind"},
    "cases": {"group", "status", "priority"},
}


def url_of(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def set_time(store: Store, table: str, row_id: int, when: datetime, column: str = "created_at") -> None:
    """Move a record to a known time (the store stamps server time; tests need fixed answers)."""
    t = schema.metadata.tables[table]
    with store.atomic() as conn:
        conn.execute(update(t).where(t.c.id == row_id).values({column: when}))


def post_at(store: Store, conversation_id: int, author: str, body: str, when: datetime, **kw: object) -> int:
    msg, _ = store.post_message(NewMessage(conversation_id=conversation_id, body=body, **kw), author=author)
    set_time(store, "messages", msg.id, when)
    return msg.id


def conversation_ids(frames: dict[str, pd.DataFrame]) -> set[int]:
    return {int(x) for x in frames["conversations"]["id"]}


# -- schemas and dtypes -------------------------------------------------------------------------


def check_dtypes(frames: dict[str, pd.DataFrame]) -> None:
    assert list(frames) == list(export.TABLES)
    for name, df in frames.items():
        assert list(df.columns) == export.schema(name).names, name
        for col, dtype in df.dtypes.items():
            assert str(dtype) != "object", f"{name}.{col} is object"
            if col in CATEGORIES.get(name, ()):
                assert isinstance(dtype, pd.CategoricalDtype), f"{name}.{col}"
            elif col in ID_COLUMNS or col.endswith("_id") and col != "sha256":
                assert dtype == pd.Int64Dtype(), f"{name}.{col}: {dtype}"
            elif col.endswith("_at"):
                assert str(dtype) == "datetime64[us, UTC]", f"{name}.{col}: {dtype}"
        strings = [c for c, f in zip(df.columns, export.schema(name), strict=True) if f.type == "string"]
        for col in set(strings) - CATEGORIES.get(name, set()):
            assert df[col].dtype == pd.StringDtype("pyarrow"), f"{name}.{col}: {df[col].dtype}"


def test_frames_have_documented_columns_and_dtypes_even_when_empty(store: Store, seed) -> None:
    empty = export.frames(store)
    assert all(len(df) == 0 for df in empty.values())
    check_dtypes(empty)

    world: World = seed(store)
    frames = export.frames(store)
    check_dtypes(frames)
    assert conversation_ids(frames) == set(world.conversations.values())
    assert len(frames["messages"]) == 6
    msgs = frames["messages"].set_index("id")
    first = msgs.iloc[0]
    assert first["author"] == "alice" and first["author_group"] == "acme" and first["author_role"] == "customer"
    assert first["created_at"].tzinfo is not None
    conv = frames["conversations"].set_index("id")
    assert conv.loc[world.acme_case_chat, "case_number"] == "SR-1001"
    assert conv.loc[world.acme_case_chat, "group"] == "acme"
    assert pd.isna(conv.loc[world.acme_direct, "case_number"]) and pd.isna(conv.loc[world.acme_direct, "case_id"])
    assert conv.loc[world.vendor_direct, "group"] == "vendor"  # a direct chat counts for its creator's group
    cases = frames["cases"].set_index("number")
    assert cases.loc["SR-1001", "technicians"] == "tom" and cases.loc["SR-2001", "group"] == "borg"
    assert set(frames["messages"]["kind"].cat.categories) >= {k.value for k in MessageKind}
    members = frames["members"]
    assert set(members.loc[members["conversation_id"] == world.borg_case_chat, "login"]) == {"bella", "tina", "erik"}


def test_files_whiteboards_and_calls_are_exported_with_derived_columns(store: Store, seed) -> None:
    world: World = seed(store)
    chat = world.acme_case_chat
    with store.atomic() as conn:
        conn.execute(
            insert(schema.attachments).values(
                conversation_id=chat,
                uploader="alice",
                name="log.csv",
                media_type="text/csv",
                size=2048,
                sha256="a" * 64,
                created_at=T0,
            )
        )
        board = conn.execute(
            insert(schema.whiteboards)
            .values(conversation_id=chat, title="Spindle sketch", created_by="tom", created_at=T0)
            .returning(schema.whiteboards.c.id)
        ).scalar_one()
        for deleted in (False, False, True):
            conn.execute(
                insert(schema.strokes).values(
                    whiteboard_id=board,
                    author="tom",
                    created_at=T0,
                    shape="pen",
                    points=[0, 0, 1, 1],
                    color="#000000",
                    width=2.0,
                    deleted=deleted,
                )
            )
        call = conn.execute(
            insert(schema.calls)
            .values(
                conversation_id=chat,
                provider="jitsi",
                room="secret-room-name",
                started_by="tom",
                started_at=T0,
                ended_at=T0 + timedelta(minutes=12, seconds=30),
            )
            .returning(schema.calls.c.id)
        ).scalar_one()
        conn.execute(
            insert(schema.call_participants),
            [{"call_id": call, "login": p, "joined_at": T0} for p in ("tom", "alice")],
        )
        conn.execute(
            insert(schema.calls).values(
                conversation_id=chat, provider="jitsi", room="running", started_by="alice", started_at=T0
            )
        )
    frames = export.frames(store, only=["files", "whiteboards", "calls"])
    assert list(frames) == ["files", "whiteboards", "calls"]
    files = frames["files"]
    assert files[["name", "size", "uploader"]].values.tolist() == [["log.csv", 2048, "alice"]]
    assert files["created_at"].iloc[0] == pd.Timestamp(T0)
    assert frames["whiteboards"]["strokes"].tolist() == [2]  # the erased stroke does not count
    calls = frames["calls"]
    assert "room" not in calls.columns  # room names let people join: never exported
    assert calls["duration_seconds"].iloc[0] == 750.0 and pd.isna(calls["duration_seconds"].iloc[1])
    assert calls["participants"].tolist() == [2, 0]
    assert calls["duration_seconds"].dtype == pd.Float64Dtype()


# -- access limits through the API ---------------------------------------------------------------


def test_access_limits_follow_the_policy(store: Store, seed) -> None:
    world: World = seed(store)
    c = world.conversations
    expected = {
        "alice": {c["acme_case_chat"], c["acme_direct"]},  # customer: own company's chats she is in
        "bella": {c["borg_case_chat"]},
        "tom": {c["acme_case_chat"], c["vendor_direct"]},  # technician: memberships only
        "erik": {c["acme_case_chat"], c["borg_case_chat"], c["staff_direct"]},  # engineer: + every case chat
        "ada": set(c.values()),  # admin: policy.can_export_everything
    }
    for login, want in expected.items():
        svc = world.service(login)
        frames = export.frames(service=svc)
        got = conversation_ids(frames)
        assert got == want, login
        if login != "ada":  # the SQL rule is the Python rule: exactly what require_readable lets through
            readable = set()
            for cid in c.values():
                try:
                    svc.require_readable(cid)
                    readable.add(cid)
                except NotFound:
                    pass
            assert got == readable, login
        for table in ("members", "messages", "files", "whiteboards", "calls"):
            assert set(frames[table]["conversation_id"].astype(int)) <= want, (login, table)
        if svc.user.role is Role.CUSTOMER:
            assert set(frames["conversations"]["group"].astype(str)) == {svc.user.group_id}
            assert set(frames["cases"]["group"].astype(str)) == {svc.user.group_id}
            assert set(frames["messages"]["author_group"].astype(str)) <= {svc.user.group_id, "vendor"}
        else:
            assert set(frames["cases"]["number"]) == {"SR-1001", "SR-2001"}
    # A customer cannot reach another company's case by filtering for it.
    with pytest.raises(NotFound):
        export.frames(service=world.service("alice"), cases="SR-2001")
    bella = export.frames(service=world.service("bella"), groups="acme")
    assert len(bella["conversations"]) == 0 and len(bella["messages"]) == 0 and len(bella["cases"]) == 0


def test_store_and_service_are_exclusive(store: Store, seed) -> None:
    world: World = seed(store)
    other = Store(url_of(store))
    try:
        with pytest.raises(InvalidInput, match="either a store or a service"):
            export.frames(other, service=world.service("alice"))
    finally:
        other.close()
    with pytest.raises(InvalidInput, match="store=... .* or service="):
        export.frames()
    with pytest.raises(PermissionDenied):  # disabled users get no Service at all
        world.service("dora")


# -- filters --------------------------------------------------------------------------------------


def test_filters_by_kind_group_case_and_dates(store: Store, seed) -> None:
    world: World = seed(store)
    c = world.conversations
    kinds = export.frames(store, kind="service_case")
    assert conversation_ids(kinds) == {c["acme_case_chat"], c["borg_case_chat"]}
    assert set(kinds["messages"]["conversation_id"].astype(int)) <= {c["acme_case_chat"], c["borg_case_chat"]}
    assert conversation_ids(export.frames(store, kind=ConversationKind.DIRECT)) == {
        c["acme_direct"],
        c["vendor_direct"],
        c["staff_direct"],
    }
    acme = export.frames(store, groups=["acme"])
    assert conversation_ids(acme) == {c["acme_case_chat"], c["acme_direct"]}
    assert list(acme["cases"]["number"]) == ["SR-1001"]
    assert conversation_ids(export.frames(store, groups=["acme", "borg"], kind="service_case")) == {
        c["acme_case_chat"],
        c["borg_case_chat"],
    }
    by_number = export.frames(store, cases="SR-2001")
    assert conversation_ids(by_number) == {c["borg_case_chat"]}
    assert list(by_number["cases"]["number"]) == ["SR-2001"]
    assert conversation_ids(export.frames(store, cases=[world.acme_case.id])) == {c["acme_case_chat"]}

    # Dates: put every record on a known day, then slice.
    month_ago = T0 - timedelta(days=30)
    everything = export.frames(store)
    for table in ("messages", "conversations", "cases"):
        for row in everything[table].itertuples():
            set_time(store, schema.service_cases.name if table == "cases" else table, int(row.id), month_ago)
            if table == "conversations":
                set_time(store, table, int(row.id), month_ago, column="last_activity_at")
    late_at = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)
    late = post_at(store, c["acme_direct"], "alice", "late news", late_at)
    set_time(store, "conversations", c["acme_direct"], late_at, column="last_activity_at")
    window = export.frames(store, since="2026-03-02", until="2026-03-03")  # a date-only until includes that day
    assert list(window["messages"]["id"]) == [late]
    assert conversation_ids(window) == {c["acme_direct"]}
    assert len(window["cases"]) == 0  # no case created or discussed in the window
    assert len(export.frames(store, since=T0, until="2026-03-03T23:00:00")["messages"]) == 0  # until is exclusive
    assert len(export.frames(store, since=late_at)["messages"]) == 1  # since is inclusive
    assert len(export.frames(store, until="2026-03-03T23:00:01Z")["messages"]) == 7
    old = export.frames(store, until=T0)
    assert len(old["messages"]) == 6 and len(old["cases"]) == 2


def test_bad_filters_raise_typed_errors(store: Store, seed) -> None:
    seed(store)
    with pytest.raises(InvalidInput, match="Not a date"):
        export.frames(store, since="last tuesday")
    with pytest.raises(InvalidInput, match="empty"):
        export.frames(store, since="2026-03-05", until="2026-03-01")
    with pytest.raises(NotFound):
        export.frames(store, groups="nosuchgroup")
    with pytest.raises(NotFound):
        export.frames(store, cases="SR-0000")
    with pytest.raises(InvalidInput, match="conversation kind"):
        export.frames(store, kind="group")
    with pytest.raises(InvalidInput, match="Unknown table"):
        export.frames(store, only=["messages", "passwords"])


def test_sql_values_are_literal_and_quoted(sqlite_store: Store, seed) -> None:
    seed(sqlite_store)
    sqlite_store.add_group(id="o'brien", name="Quote Ltd")
    text = export.sql(sqlite_store, "conversations", export.make_filter(sqlite_store, groups="o'brien"))
    assert "'o''brien'" in text
    assert len(export.frames(sqlite_store, groups="o'brien")["conversations"]) == 0


# -- metrics -------------------------------------------------------------------------------------


def build_metrics_store(store: Store) -> dict[str, int]:
    """A small world with known timestamps; returns the ids the test needs."""
    store.add_group(id="vendor", name="Vendor", is_vendor=True)
    store.add_group(id="acme", name="ACME")
    store.add_group(id="borg", name="Borg")
    for login, group, role in (
        ("alice", "acme", Role.CUSTOMER),
        ("adam", "acme", Role.CUSTOMER),
        ("bella", "borg", Role.CUSTOMER),
        ("tom", "vendor", Role.TECHNICIAN),
        ("erik", "vendor", Role.ENGINEER),
    ):
        store.add_user(login=login, display_name=login.title(), group_id=group, role=role)
    case = store.add_case(number="SR-1", title="Spindle", group_id="acme", technicians=["tom"])
    quiet = store.add_case(number="SR-2", title="Quiet", group_id="borg")
    chat = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE,
        title="Spindle",
        created_by="alice",
        members=["adam", "tom"],
        case_id=case.id,
    ).id
    second = store.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title="Spindle 2", created_by="adam", members=["erik"], case_id=case.id
    ).id
    direct = store.create_conversation(
        kind=ConversationKind.DIRECT, title="ACME", created_by="alice", members=["adam"]
    ).id
    set_time(store, "conversations", chat, T0 - timedelta(hours=1))
    set_time(store, "conversations", second, T0 + timedelta(hours=1))
    set_time(store, "conversations", direct, T0)
    m = timedelta(minutes=1)
    post_at(store, chat, "alice", "help", T0)  # opens wait 1
    post_at(store, chat, "tom", "system note", T0 + 5 * m, kind=MessageKind.SYSTEM)  # ignored everywhere
    post_at(store, chat, "adam", "more details", T0 + 10 * m)  # same run: no new wait
    post_at(store, chat, "tom", "on it", T0 + 30 * m)  # first response: 30 min; wait 1 = 30 min
    post_at(store, chat, "tom", "and another thing", T0 + 40 * m)
    post_at(store, chat, "alice", "thanks, still broken", T0 + 100 * m)  # opens wait 2
    post_at(store, chat, "tom", "coming tomorrow", T0 + 160 * m)  # wait 2 = 60 min
    post_at(store, second, "adam", "separate question", T0 + 120 * m)  # opens wait 3 in the second chat
    post_at(store, second, "erik", "answer", T0 + 240 * m)  # wait 3 = 120 min (erik is vendor staff)
    post_at(store, chat, "alice", "hello?", T0 + 300 * m)  # opens wait 4: unanswered
    post_at(store, direct, "alice", "lunch?", T0 + timedelta(days=7))  # next Monday, a direct chat
    with store.atomic() as conn:
        conn.execute(
            insert(schema.attachments).values(
                conversation_id=chat,
                uploader="alice",
                name="a.log",
                media_type="text/plain",
                size=10,
                sha256="b" * 64,
                created_at=T0 + 20 * m,
            )
        )
        conn.execute(
            insert(schema.whiteboards).values(conversation_id=second, title="b", created_by="erik", created_at=T0)
        )
        call = conn.execute(
            insert(schema.calls)
            .values(
                conversation_id=chat,
                provider="jitsi",
                room="r1",
                started_by="tom",
                started_at=T0 + 310 * m,
                ended_at=T0 + 330 * m,
            )
            .returning(schema.calls.c.id)
        ).scalar_one()
        conn.execute(insert(schema.call_participants).values(call_id=call, login="tom", joined_at=T0 + 310 * m))
    return {"case": case.id, "quiet": quiet.id, "chat": chat, "second": second, "direct": direct}


def test_metrics_have_known_answers(store: Store) -> None:
    ids = build_metrics_store(store)
    result = export.metrics(store)
    cases = result.cases.set_index("number")
    assert list(result.cases.columns) == list(CASE_COLUMNS)
    spindle = cases.loc["SR-1"]
    assert spindle["time_to_first_response"] == pd.Timedelta(minutes=30)
    assert spindle["median_response_time"] == pd.Timedelta(minutes=60)  # median of 30, 60, 120
    assert spindle["unanswered"] == 1
    assert spindle["messages"] == 9  # the system message does not count
    assert (spindle["conversations"], spindle["files"], spindle["whiteboards"], spindle["calls"]) == (2, 1, 1, 1)
    assert spindle["participants"] == "adam, alice, erik, tom" and spindle["participant_count"] == 4
    assert spindle["first_activity"] == pd.Timestamp(T0 - timedelta(hours=1))  # chat created
    assert spindle["last_activity"] == pd.Timestamp(T0 + timedelta(minutes=330))  # call ended
    quiet = cases.loc["SR-2"]
    assert quiet["messages"] == 0 and quiet["participant_count"] == 0 and quiet["participants"] == ""
    assert pd.isna(quiet["time_to_first_response"]) and pd.isna(quiet["first_activity"])
    assert str(result.cases["time_to_first_response"].dtype) == "timedelta64[us]"
    assert result.cases["messages"].dtype == pd.Int64Dtype()

    daily = result.daily
    assert daily.columns.tolist() == ["day", "group", "messages", "active_conversations"]
    rows = [(d.strftime("%Y-%m-%d"), str(g), n, a) for d, g, n, a in daily.itertuples(index=False)]
    assert rows == [("2026-03-02", "acme", 9, 2), ("2026-03-09", "acme", 1, 1)]
    weekly = [(w.strftime("%Y-%m-%d"), str(g), n, a) for w, g, n, a in result.weekly.itertuples(index=False)]
    assert weekly == [("2026-03-02", "acme", 9, 2), ("2026-03-09", "acme", 1, 1)]
    assert str(daily["day"].dtype) == "datetime64[us, UTC]"

    # The same metrics through a customer's rights: the second chat (without alice) is not hers.
    mine = export.metrics(service=Service(store, "alice")).cases.set_index("number")
    assert list(mine.index) == ["SR-1"]
    assert mine.loc["SR-1", "messages"] == 7 and mine.loc["SR-1", "median_response_time"] == pd.Timedelta(minutes=45)
    # A date range narrows the messages the metrics see.
    early = export.metrics(store, until=T0 + timedelta(minutes=35)).cases.set_index("number")
    assert early.loc["SR-1", "messages"] == 3 and early.loc["SR-1", "time_to_first_response"] == pd.Timedelta(
        minutes=30
    )
    assert ids["quiet"] in set(result.cases["case_id"])


# -- writing files and the CLI ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_cli_export_round_trips_row_counts(store: Store, seed, tmp_path: Path, fmt: str) -> None:
    seed(store)
    expected = {name: len(df) for name, df in export.frames(store).items()}
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["export", "--format", fmt, "--out", str(out), "--store", url_of(store)])
    assert result.exit_code == 0, result.output
    assert "messages 6" in result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.{fmt}" for t in export.TABLES)  # no staging left
    for name, n in expected.items():
        back = export.read_back(out, fmt, name)
        assert len(back) == n, name
        assert list(back.columns) == export.schema(name).names
    messages = export.read_back(out, fmt, "messages")
    assert set(messages["author"]) == {"alice", "tom", "bella", "adam", "tina", "erik"}
    if fmt == "parquet":
        assert pq.read_schema(out / "messages.parquet").field("created_at").type == TS
    if fmt == "jsonl":
        first = json.loads((out / "messages.jsonl").read_text(encoding="utf-8").splitlines()[0])
        assert first["created_at"].endswith("Z") or first["created_at"].endswith("+00:00")


def test_cli_export_filters_and_bad_input_writes_nothing(store: Store, seed, tmp_path: Path) -> None:
    seed(store)
    out = tmp_path / "acme"
    args = ["export", "--out", str(out), "--store", url_of(store), "--group", "acme", "--kind", "service_case"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(pd.read_parquet(out / "conversations.parquet")) == 1
    assert set(pd.read_parquet(out / "messages.parquet")["author"]) == {"alice", "tom"}

    before = snapshot(store)
    for bad, message in (
        (["--since", "yesterday-ish"], "Not a date"),
        (["--group", "nosuchgroup"], "No group"),
        (["--since", "2026-03-05", "--until", "2026-03-01"], "empty"),
        (["--table", "secrets"], "Unknown table"),
    ):
        target = tmp_path / "bad"
        result = CliRunner().invoke(main, ["export", "--out", str(target), "--store", url_of(store), *bad])
        assert result.exit_code == 1, bad
        assert result.output.startswith("Error: ") and message in result.output, result.output
        assert "Traceback" not in result.output
        assert not target.exists()
    assert snapshot(store) == before  # export never writes to the store
    file_target = tmp_path / "a-file"
    file_target.write_text("x")
    result = CliRunner().invoke(main, ["export", "--out", str(file_target), "--store", url_of(store)])
    assert result.exit_code != 0


def test_write_streams_many_batches_and_shows_progress_only_when_asked(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    st = sqlite_store
    st.add_group(id="vendor", name="Vendor", is_vendor=True)
    st.add_group(id="acme", name="ACME")
    st.add_user(login="alice", display_name="Alice", group_id="acme", role=Role.CUSTOMER)
    case = st.add_case(number="SR-9", title="t", group_id="acme")
    # Direct chats first: the first batches have no case number at all (NULL), a later one has one. That is
    # the SQLite driver's type-inference trap (it types an all-NULL start as int64, then meets text).
    for i in range(4):
        st.create_conversation(kind=ConversationKind.DIRECT, title=f"d{i}", created_by="alice", members=[])
    chat = st.create_conversation(
        kind=ConversationKind.SERVICE_CASE, title="c", created_by="alice", members=[], case_id=case.id
    ).id
    for i in range(13):
        st.post_message(NewMessage(conversation_id=chat, body=f"m{i}"), author="alice")
    monkeypatch.setattr(readers, "SQLITE_BATCH_ROWS", 2)
    conversations = export.frames(st, only=["conversations"])["conversations"]
    assert conversations["case_number"].tolist()[-1] == "SR-9" and conversations["case_number"].isna().sum() == 4
    counts = export.write(tmp_path / "p", store=st, fmt="parquet", progress=False)
    assert capsys.readouterr().out == ""
    assert counts["messages"] == 13 and counts["conversations"] == 5
    meta = pq.ParquetFile(tmp_path / "p" / "messages.parquet").metadata
    assert meta.num_rows == 13 and meta.num_row_groups == 7  # one row group per streamed batch
    export.write(tmp_path / "q", store=sqlite_store, fmt="csv", progress=True, only=["messages"])
    assert "messages" in capsys.readouterr().out


def test_prefetch_propagates_errors_and_stops_early() -> None:
    import pyarrow as pa

    def broken():
        yield pa.record_batch({"x": [1]})
        raise StorageError("disk on fire")

    got = []
    with pytest.raises(StorageError, match="disk on fire"):
        for batch in readers.prefetch(broken()):
            got.append(batch.num_rows)
    assert got == [1]

    produced = []

    def endless():
        for i in range(1000):
            produced.append(i)
            yield pa.record_batch({"x": [i]})

    stream = readers.prefetch(endless(), depth=2)
    assert next(stream).column(0)[0].as_py() == 0
    stream.close()  # the reader thread stops instead of draining the whole source
    assert len(produced) < 10


def test_reader_process_failure_mid_stream_is_an_error_not_a_short_table(
    sqlite_store: Store, seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQLite reader process fails after its first batch: the caller gets StorageError, never a cut table."""
    import pyarrow as pa

    from conferencing_widgets.export.store import Job

    seed(sqlite_store)
    monkeypatch.setattr(readers, "SQLITE_BATCH_ROWS", 2)
    # Text after two integer rows: the driver typed the column int64 from the first batch and fails on the next.
    sql = "SELECT CASE WHEN id > 2 THEN 'text' ELSE id END AS x FROM messages ORDER BY id"
    job = Job(name="messages", sql=sql, schema=pa.schema([("x", pa.int64())]))
    source = readers.SqliteProcessSource(sqlite_store, [job])
    got: list[int] = []
    try:
        with pytest.raises(StorageError, match="Reading messages failed: the reader process stopped"):
            for batch in source.batches(job):
                got.append(batch.num_rows)
    finally:
        source.close()
    assert got == [2]  # the first batch arrived, then the failure was reported


def test_unusable_stores_are_clear_errors(tmp_path: Path) -> None:
    memory = Store("sqlite://")
    try:
        with pytest.raises(InvalidInput, match="in-memory"):
            export.frames(memory)
    finally:
        memory.close()
    missing = Store(f"sqlite:///{tmp_path / 'nope.db'}")
    try:
        with pytest.raises(NotFound, match="No SQLite store"):
            export.frames(missing)
    finally:
        missing.close()
    assert not (tmp_path / "nope.db").exists()


def test_export_leaves_this_processs_own_sqlite_connections_intact(sqlite_store: Store, seed, tmp_path: Path) -> None:
    """Regression: read in-process, the ADBC driver's own SQLite deleted the -wal/-shm under our live connections
    (same-process POSIX locks never conflict), and later writes went to a deleted file."""
    world: World = seed(sqlite_store)
    wal = Path(f"{sqlite_store.engine.url.database}-wal")
    with sqlite_store.engine.connect() as held:  # a connection kept open, as a live dashboard or feed would
        held.exec_driver_sql("SELECT count(*) FROM messages").all()
        export.frames(sqlite_store)
        export.write(tmp_path / "out", store=sqlite_store, only=["messages"])
        # Asked to read inline, it sees the open connection and still uses the reader process.
        assert not readers.no_other_sqlite_connection(sqlite_store)
        export.write(tmp_path / "inline", store=sqlite_store, only=["messages"], inline_sqlite=True)
        assert wal.exists()
        sqlite_store.post_message(NewMessage(conversation_id=world.acme_direct, body="after the export"), author="adam")
        held.exec_driver_sql("SELECT count(*) FROM messages").all()
    fresh = Store(sqlite_store.url)
    try:
        assert fresh.message_count(world.acme_direct) == 2
    finally:
        fresh.close()


def test_cli_export_in_its_own_process(sqlite_store: Store, seed, tmp_path: Path) -> None:
    """The real command, in its own process (it reads SQLite inline there), next to a live store."""
    world: World = seed(sqlite_store)
    cli = Path(sys.executable).with_name("conferencing")
    if not cli.exists():
        pytest.skip(f"the conferencing script is not installed next to {sys.executable}")
    env = dict(os.environ, CONFERENCING_STORE=url_of(sqlite_store))
    done = subprocess.run(
        [str(cli), "export", "--out", str(tmp_path / "out"), "--format", "csv"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(tmp_path / "out" / "messages.csv")) == 6
    sqlite_store.post_message(NewMessage(conversation_id=world.acme_direct, body="still here"), author="adam")
    assert sqlite_store.message_count(world.acme_direct) == 2


def test_messages_carry_their_mentions(store: Store, seed) -> None:
    world: World = seed(store)
    m = world.service("alice").post(world.acme_case_chat, "@tom and @adam, please look")
    msgs = export.frames(store)["messages"].set_index("id")
    assert sorted(msgs.loc[m.id, "mentions"].split(",")) == ["adam", "tom"]
    assert (msgs.drop(index=m.id)["mentions"] == "").all()
