"""Export benchmark: ``conferencing export --format parquet`` against ``pandas.read_sql(...).to_parquet(...)``.

Builds a store of 1,000,000 messages in 10,000 conversations (bulk inserts: SQLAlchemy Core
executemany on SQLite, COPY on PostgreSQL), then times both paths, each in its own process, and prints
wall seconds, peak RSS and the ratio for SQLite and PostgreSQL. The baseline runs the very same SQL
(``export.sql``) through ``pandas.read_sql`` over SQLAlchemy, one table at a time.

Targets (SQLite): <= 2 s, <= 400 MB peak RSS, >= 3x faster than the baseline; PostgreSQL: the same ratio.

Usage::

    .venv/bin/python benchmarks/export_bench.py                      # full size, both backends
    .venv/bin/python benchmarks/export_bench.py --messages 100000 --backend sqlite
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import insert, text

from conferencing_widgets.export import api as export
from conferencing_widgets.store import Store
from conferencing_widgets.store import schema as s

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "cw_export_bench"
CHUNK = 50_000
WORDS = (
    "spindle vibration coolant pressure axis backlash tool changer pocket alarm servo encoder bearing "
    "temperature firmware update please check log attached tomorrow morning thanks replaced filter "
    "noise at 6000 rpm measured value calibration offset drawing schematic"
).split()

BASELINE = """
import sys
from pathlib import Path
import pandas as pd
from sqlalchemy import create_engine
url, out = sys.argv[1], Path(sys.argv[2])
engine = create_engine(url)
for path in sorted(Path(sys.argv[3]).glob("*.sql")):
    pd.read_sql(path.read_text(), engine).to_parquet(out / f"{path.stem}.parquet")
"""


@dataclass
class Run:
    seconds: float
    peak_mb: float
    cpu_s: float
    """User + system CPU of the process and its waited-for children: steadier than wall time on a busy machine."""


def log(msg: str) -> None:
    print(msg, flush=True)


# -- building the store --------------------------------------------------------------------------------


def _rows(n_messages: int, n_conversations: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """Groups, users, cases, conversations and members (messages are generated in chunks)."""
    rnd = random.Random(seed)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    groups = [{"id": "vendor", "name": "Vendor", "is_vendor": True}]
    groups += [{"id": f"cust{g:02d}", "name": f"Customer {g}", "is_vendor": False} for g in range(20)]
    staff = [f"tech{i:02d}" for i in range(20)]
    users = [
        {"login": login, "display_name": login.title(), "group_id": "vendor", "role": "technician", "disabled": False}
        for login in staff
    ]
    customers: dict[str, list[str]] = {}
    for g in groups[1:]:
        customers[g["id"]] = [f"{g['id']}u{i}" for i in range(5)]
        users += [
            {"login": u, "display_name": u, "group_id": g["id"], "role": "customer", "disabled": False}
            for u in customers[g["id"]]
        ]
    cases, conversations, members, case_techs = [], [], [], []
    for cid in range(1, n_conversations + 1):
        gid = groups[1 + cid % 20]["id"]
        tech = staff[cid % len(staff)]
        created = t0 + timedelta(minutes=cid)
        is_case = cid % 10 != 0
        if is_case:
            cases.append(
                {
                    "id": cid,
                    "number": f"SR-2025-{cid:05d}",
                    "title": f"Case {cid}",
                    "group_id": gid,
                    "machine_model": "VMC-850",
                    "machine_serial": f"S{cid}",
                    "status": rnd.choice(["open", "in_progress", "resolved"]),
                    "created_at": created,
                }
            )
            case_techs.append({"case_id": cid, "login": tech})
        people = customers[gid][:2] + ([tech] if is_case else [])
        conversations.append(
            {
                "id": cid,
                "kind": "service_case" if is_case else "direct",
                "title": f"Conversation {cid}",
                "case_id": cid if is_case else None,
                "created_by": people[0],
                "created_at": created,
                "last_message_id": None,
                "last_activity_at": created + timedelta(days=30),
            }
        )
        members += [{"conversation_id": cid, "login": p, "joined_at": created} for p in people]
    return {
        "groups": groups,
        "users": users,
        "service_cases": cases,
        "case_technicians": case_techs,
        "conversations": conversations,
        "members": members,
    }


def _message_chunks(n_messages: int, n_conversations: int, seed: int = 11) -> Any:
    """Messages in chunks: authors alternate customer and technician within each conversation."""
    rnd = random.Random(seed)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    chunk: list[dict[str, Any]] = []
    for mid in range(1, n_messages + 1):
        cid = 1 + mid % n_conversations
        gid = f"cust{(1 + cid % 20) - 1:02d}"
        is_case = cid % 10 != 0
        vendor_turn = is_case and rnd.random() < 0.45
        author = f"tech{cid % 20:02d}" if vendor_turn else f"{gid}u{mid % 2}"
        chunk.append(
            {
                "id": mid,
                "conversation_id": cid,
                "author": author,
                "created_at": t0 + timedelta(seconds=mid * 2),
                "body": " ".join(rnd.choices(WORDS, k=rnd.randint(3, 25))),
                "kind": "text",
                "ref_id": None,
                "client_id": None,
                "edited_at": None,
                "deleted": False,
            }
        )
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def build_sqlite(path: Path, n_messages: int, n_conversations: int) -> Store:
    store = Store(f"sqlite:///{path}")
    store.create_schema()
    data = _rows(n_messages, n_conversations)
    with store.engine.begin() as conn:
        for table, rows in data.items():
            conn.execute(insert(s.metadata.tables[table]), rows)
        for chunk in _message_chunks(n_messages, n_conversations):
            conn.execute(insert(s.messages), chunk)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    return store


def build_postgres(url: str, n_messages: int, n_conversations: int) -> Store:
    admin = Store(PG_ADMIN_URL)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_BENCH_DB}"))
    admin.close()
    store = Store(url)
    store.create_schema()
    data = _rows(n_messages, n_conversations)
    with store.engine.begin() as conn:
        for table, rows in data.items():
            conn.execute(insert(s.metadata.tables[table]), rows)
    cols = [c.name for c in s.messages.columns]
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY messages ({', '.join(cols)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for chunk in _message_chunks(n_messages, n_conversations):
                for row in chunk:
                    copy.write_row([row[c] for c in cols])
        for table in ("messages", "conversations", "service_cases"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return store


# -- timing ------------------------------------------------------------------------------------------------


def timed(cmd: list[str], env: dict[str, str]) -> Run:
    """Wall time and peak RSS of one command, its child processes included.

    The SQLite export runs a reader child, so the peak is the larger of ``wait4``'s ``ru_maxrss`` (the
    biggest single process) and the sum over the process tree sampled every 10 ms with psutil.
    """
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    tree_peak = 0
    root = psutil.Process(proc.pid)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            procs = [root, *root.children(recursive=True)]
            tree_peak = max(tree_peak, sum(p.memory_info().rss for p in procs))
        except psutil.Error:
            pass
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}):\n{err}")
    peak_mb = max(usage.ru_maxrss * 1024, tree_peak) / 2**20  # ru_maxrss is KiB
    return Run(seconds=seconds, peak_mb=peak_mb, cpu_s=usage.ru_utime + usage.ru_stime)


def rows_in(folder: Path) -> dict[str, int]:
    return {p.stem: pq.ParquetFile(p).metadata.num_rows for p in sorted(folder.glob("*.parquet"))}


def bench(label: str, store: Store, workdir: Path, repeat: int) -> dict[str, Any]:
    cli = shutil.which("conferencing", path=str(Path(sys.executable).parent)) or "conferencing"
    url = store.engine.url.render_as_string(hide_password=False)
    env = dict(os.environ, CONFERENCING_STORE=url, CONFERENCING_DATA_DIR=str(workdir))
    sql_dir = workdir / f"sql-{label}"
    sql_dir.mkdir(exist_ok=True)
    for table in export.TABLES:
        (sql_dir / f"{table}.sql").write_text(export.sql(store, table))
    ours, base = [], []
    for i in range(repeat):
        out = workdir / f"ours-{label}-{i}"
        ours.append(timed([cli, "export", "--format", "parquet", "--out", str(out)], env))
        ref = workdir / f"base-{label}-{i}"
        ref.mkdir(exist_ok=True)
        base.append(timed([sys.executable, "-c", BASELINE, url, str(ref), str(sql_dir)], env))
        ours_rows, base_rows = rows_in(out), rows_in(ref)
        if ours_rows != base_rows:
            raise SystemExit(f"Row counts differ: ours {ours_rows} vs baseline {base_rows}")
        shutil.rmtree(out)
        shutil.rmtree(ref)
    o_s = statistics.median(r.seconds for r in ours)
    b_s = statistics.median(r.seconds for r in base)
    return {
        "backend": label,
        "ours_s": o_s,
        "ours_mb": max(r.peak_mb for r in ours),
        "base_s": b_s,
        "base_mb": max(r.peak_mb for r in base),
        "ratio": b_s / o_s,
        "ours_cpu": statistics.median(r.cpu_s for r in ours),
        "base_cpu": statistics.median(r.cpu_s for r in base),
        "load": os.getloadavg()[0],
        "messages": ours_rows.get("messages", 0),
    }


def reusable(url: str, args: argparse.Namespace) -> Store | None:
    """A kept store from an earlier ``--keep`` run with the same number of messages, if asked for."""
    if not args.reuse:
        return None
    if url.startswith("sqlite") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM messages")).scalar_one()
    except Exception:  # noqa: BLE001 - no such database or table: build it
        store.close()
        return None
    if count != args.messages:
        store.close()
        return None
    log(f"Reusing {url}: {count:,} messages")
    return store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1_000_000, help="messages to generate (default 1,000,000)")
    ap.add_argument("--conversations", type=int, default=None, help="conversations (default messages / 100)")
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--pg-url", default=f"postgresql://postgres@127.0.0.1:5432/{PG_BENCH_DB}")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per path (median reported)")
    ap.add_argument("--workdir", type=Path, default=None, help="folder for the stores and outputs")
    ap.add_argument("--keep", action="store_true", help="keep the generated stores")
    ap.add_argument("--reuse", action="store_true", help="reuse kept stores that hold --messages messages")
    args = ap.parse_args()
    n_conv = args.conversations or max(10, args.messages // 100)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cw-export-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        if args.backend in ("sqlite", "both"):
            t = time.perf_counter()
            store = reusable(f"sqlite:///{workdir / 'bench.db'}", args) or build_sqlite(
                workdir / "bench.db", args.messages, n_conv
            )
            took = time.perf_counter() - t
            log(f"SQLite store: {args.messages:,} messages in {n_conv:,} conversations, {took:.1f} s")
            results.append(bench("sqlite", store, workdir, args.repeat))
            store.close()
        if args.backend in ("postgresql", "both"):
            t = time.perf_counter()
            store = reusable(args.pg_url, args) or build_postgres(args.pg_url, args.messages, n_conv)
            log(f"PostgreSQL store: {args.messages:,} messages, {time.perf_counter() - t:.1f} s")
            results.append(bench("postgresql", store, workdir, args.repeat))
            store.close()
            if not args.keep:
                admin = Store(PG_ADMIN_URL)
                with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.execute(text(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"))
                admin.close()
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    log("")
    head = ("backend", "messages", "export s", "cpu s", "peak MB", "baseline s", "cpu s", "peak MB", "ratio", "load")
    log("{:<11} {:>10} {:>9} {:>6} {:>8} {:>11} {:>6} {:>8} {:>6} {:>5}".format(*head))
    for r in results:
        log(
            f"{r['backend']:<11} {r['messages']:>10,} {r['ours_s']:>9.2f} {r['ours_cpu']:>6.2f} {r['ours_mb']:>8.0f} "
            f"{r['base_s']:>11.2f} {r['base_cpu']:>6.2f} {r['base_mb']:>8.0f} {r['ratio']:>5.1f}x {r['load']:>5.1f}"
        )
    for r in results:
        checks = [f"ratio {r['ratio']:.1f}x {'ok' if r['ratio'] >= 3 else 'MISSED'} (>= 3x)"]
        if r["backend"] == "sqlite":
            checks.insert(0, f"time {r['ours_s']:.2f} s {'ok' if r['ours_s'] <= 2 else 'MISSED'} (<= 2 s)")
            checks.insert(1, f"peak {r['ours_mb']:.0f} MB {'ok' if r['ours_mb'] <= 400 else 'MISSED'} (<= 400 MB)")
        log(f"{r['backend']}: " + "; ".join(checks))


if __name__ == "__main__":
    main()
