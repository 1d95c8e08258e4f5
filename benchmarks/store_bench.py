"""Store benchmark: live-feed latency between two processes, idle listener CPU, and query times at scale.

For SQLite and PostgreSQL it prints, beside the targets (issue 12):

- SQL statements one post sends (``Service.post`` and ``Store.post_message``, counted by SQLAlchemy's
  ``before_cursor_execute``);
- post -> commit: ``Service.post`` (rights, rate limit, client-id check, message, read mark, event and its wake-up)
  until it returned, and ``Store.post_message`` alone, p50 wall and client CPU (targets 1 ms SQLite, 2 ms
  PostgreSQL); ``Service.post`` both back to back and paced as in the feed latency loop (4-12 ms apart, where the
  same calls run on a cold CPU and cost about twice as much);
- post -> feed latency (p50/p99) between two OS processes over >= 300 messages, for ``ChangeFeed.wait_blocking``,
  the asyncio ``ChangeFeed.wait`` and the scoped feed pages use (``VisibleEvents.wait``: the user's own topics,
  ``changes_for`` and the rights check): from the start of ``Service.post`` in the writer to the return of the
  wait in the listener (both read ``CLOCK_MONOTONIC``, which is system-wide); targets 2 ms SQLite, 3 ms PostgreSQL;
- idle CPU of a waiting listener (process CPU time over ~5 s of waiting with nothing to wake it);
- ``Store.latest_messages(limit=50)`` (target 0.5 ms client CPU) and ``Store.inbox(limit=50)`` (a user in 50
  conversations, target 3 ms) on 300,000 messages in 3,000 conversations, bulk-inserted through the SQLAlchemy
  Core tables of ``store/schema.py`` (executemany on SQLite, COPY on PostgreSQL).

The machine may be shared: the load average is printed at the start and the end, and client CPU beside wall time
(CPU inflates much less with load; for PostgreSQL the server's share is not in it).

Usage::

    .venv/bin/python benchmarks/store_bench.py                       # full size, both backends
    .venv/bin/python benchmarks/store_bench.py --messages 30000 --conversations 300 --backend sqlite   # quick

PostgreSQL runs in a throwaway database ``cw_bench_<random>`` on 127.0.0.1:5432 (user postgres), dropped at the end;
``--pg-admin-url`` points elsewhere. When the server is unreachable, the PostgreSQL half is skipped with the reason.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import psycopg
from sqlalchemy import event, func, insert, select, text, update

from conferencing_widgets.chat.events import VisibleEvents
from conferencing_widgets.chat.service import Service
from conferencing_widgets.core.config import Settings
from conferencing_widgets.core.model import NewMessage
from conferencing_widgets.store import Store
from conferencing_widgets.store import schema as s
from conferencing_widgets.testing import throwaway_pg_database

CHUNK = 50_000
INBOX_USER = "bench.user"
INBOX_CONVERSATIONS = 50
LISTENER = "cust020"
"""The user whose feed the listener process follows (a member of the latency conversation)."""
WRITERS = [f"cust{20 * k:03d}" for k in range(10) if 20 * k != 20]
"""Who posts the timed messages, in turn (customers of one company, as in a case chat)."""
BENCH_SETTINGS = Settings(posts_per_minute=100_000)
"""The rate limit is still counted on every post; it must not refuse the bench's burst."""
WORDS = (
    "spindle vibration coolant pressure axis backlash tool changer pocket alarm servo encoder bearing temperature "
    "firmware update please check log attached tomorrow morning thanks replaced filter noise measured calibration"
).split()


def now_ns() -> int:
    """System-wide monotonic clock, comparable between processes on one machine."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# -- the listener process ------------------------------------------------------------------------------------


def listener_main(url: str, mode: str, count: int, idle: float) -> None:
    """Child process: report when each of ``count`` message events arrived, then the CPU spent waiting idle."""
    store = Store(url)
    feed = store.feed()
    visible = VisibleEvents(Service(store, LISTENER))
    after = store.last_event_id()
    arrivals: dict[int, int] = {}
    print(json.dumps({"ready": True}), flush=True)

    def take(events: list[Any]) -> None:
        nonlocal after
        t = now_ns()
        for e in events:
            if e.kind == "message" and e.ref_id is not None:
                arrivals[int(e.ref_id)] = t
        if events:
            after = events[-1].id

    def measure(settle: float = 0.3) -> dict[str, float]:
        # The listener waits with no timeout, as the app does; this thread only sleeps meanwhile.
        time.sleep(settle)
        cpu, wall = time.process_time(), time.monotonic()
        time.sleep(idle)
        return {"cpu": time.process_time() - cpu, "wall": time.monotonic() - wall}

    if mode == "blocking":
        while len(arrivals) < count:
            take(feed.wait_blocking(after=after, timeout=30))
        threading.Thread(target=lambda: feed.wait_blocking(after=after), daemon=True).start()
        idle_stats = measure()
    elif mode == "scoped":

        async def run_scoped() -> dict[str, float]:
            nonlocal after
            # As a page does (``FeedFollower``): woken by its own topics only, reads its audience, checks rights.
            while len(arrivals) < count:
                events, after = await visible.wait(after)
                take_visible(events)
            waiting = asyncio.ensure_future(visible.wait(after))
            stats = await asyncio.get_running_loop().run_in_executor(None, measure)
            waiting.cancel()  # ends the wait (VisibleEvents.close() under a running wait leaves it no feed)
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
            return stats

        def take_visible(events: list[Any]) -> None:
            t = now_ns()
            for e in events:
                if e.kind == "message" and e.ref_id is not None:
                    arrivals[int(e.ref_id)] = t

        idle_stats = asyncio.run(run_scoped())
    else:

        async def run() -> dict[str, float]:
            while len(arrivals) < count:
                take(await feed.wait(after=after, timeout=30))
            waiting = asyncio.ensure_future(feed.wait(after=after))
            stats = await asyncio.get_running_loop().run_in_executor(None, measure)
            feed.close()  # ends the wait
            await waiting
            return stats

        idle_stats = asyncio.run(run())
    # Which waker served the wait (a private attribute, read for the report only): without inotify (e.g. the user's
    # inotify instances are used up by other jobs, fs.inotify.max_user_instances) SQLite falls back to polling.
    used = visible._feed if mode == "scoped" else feed  # noqa: SLF001
    waker = type(getattr(used, "_waker", None)).__name__
    print(json.dumps({"arrivals": arrivals, "idle": idle_stats, "waker": waker}), flush=True)


# -- building the data ---------------------------------------------------------------------------------------


def seed_people(store: Store, n_customers: int = 200) -> list[str]:
    """Vendor and customer groups and users, through Core inserts. Returns customer logins."""
    customers = [f"cust{i:03d}" for i in range(n_customers)]
    with store.engine.begin() as conn:
        conn.execute(
            insert(s.groups),
            [{"id": "vendor", "name": "Vendor", "is_vendor": True}]
            + [{"id": f"g{i:02d}", "name": f"Customer {i}", "is_vendor": False} for i in range(20)],
        )
        users = [
            {"login": f"tech{i:02d}", "display_name": f"Tech {i}", "group_id": "vendor", "role": "technician"}
            for i in range(20)
        ]
        users += [
            {"login": c, "display_name": f"Customer {c}", "group_id": f"g{i % 20:02d}", "role": "customer"}
            for i, c in enumerate(customers)
        ]
        users.append({"login": INBOX_USER, "display_name": "Bench User", "group_id": "g00", "role": "customer"})
        conn.execute(insert(s.users), [{**u, "disabled": False} for u in users])
    return customers


def conversation_rows(n_conversations: int, customers: list[str], t0: datetime) -> Iterator[dict[str, Any]]:
    for cid in range(1, n_conversations + 1):
        yield {
            "id": cid,
            "kind": "service_case" if cid % 2 else "direct",
            "title": f"Conversation {cid}",
            "case_id": None,
            "created_by": customers[cid % len(customers)],
            "created_at": t0,
            "last_message_id": None,
            "last_activity_at": t0,
        }


def member_logins(cid: int, customers: list[str], inbox_step: int) -> list[str]:
    people = [customers[cid % len(customers)], customers[(cid * 7 + 1) % len(customers)], f"tech{cid % 20:02d}"]
    if cid % inbox_step == 0:
        people.append(INBOX_USER)
    return list(dict.fromkeys(people))


def message_rows(
    n_messages: int, n_conversations: int, customers: list[str], t0: datetime, first_id: int
) -> Iterator[dict[str, Any]]:
    """Messages interleaved across conversations, as they would arrive over time."""
    rnd = random.Random(11)
    for k in range(n_messages):
        cid = 1 + k % n_conversations
        yield {
            "id": first_id + k,
            "conversation_id": cid,
            "author": rnd.choice(member_logins(cid, customers, 10**9)),
            "created_at": t0 + timedelta(milliseconds=k),
            "body": " ".join(rnd.choices(WORDS, k=rnd.randint(3, 20))),
            "kind": "text",
            "ref_id": None,
            "client_id": None,
            "edited_at": None,
            "deleted": False,
            "reply_to_id": None,
        }


def chunks(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def bulk_load(store: Store, n_messages: int, n_conversations: int) -> None:
    """Conversations, members, messages and read marks straight into the Core tables, then denormalised columns."""
    customers = seed_people(store)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    inbox_step = max(1, n_conversations // INBOX_CONVERSATIONS)
    with store.engine.begin() as conn:
        offset = int(conn.execute(select(func.coalesce(func.max(s.conversations.c.id), 0))).scalar_one())
        first_msg = 1 + int(conn.execute(select(func.coalesce(func.max(s.messages.c.id), 0))).scalar_one())
    assert offset == 0, "bulk_load expects an empty store"
    with store.engine.begin() as conn:
        conn.execute(insert(s.conversations), list(conversation_rows(n_conversations, customers, t0)))
        conn.execute(
            insert(s.members),
            [
                {"conversation_id": cid, "login": login, "joined_at": t0}
                for cid in range(1, n_conversations + 1)
                for login in member_logins(cid, customers, inbox_step)
            ],
        )
    rows = message_rows(n_messages, n_conversations, customers, t0, first_msg)
    if store.backend == "postgresql":
        cols = [c.name for c in s.messages.columns]
        raw = store.engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy(f"COPY {s.messages.name} ({', '.join(cols)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row([row[c] for c in cols])
            raw.commit()
            # Keep the sequences ahead of the explicit ids.
            for table in (s.messages, s.conversations):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), (SELECT max(id) FROM {table.name}))"
                )
            raw.commit()
        finally:
            raw.close()
    else:
        with store.engine.begin() as conn:
            for chunk in chunks(rows):
                conn.execute(insert(s.messages), chunk)
    m, c = s.messages, s.conversations
    with store.engine.begin() as conn:
        last = select(func.max(m.c.id)).where(m.c.conversation_id == c.c.id).scalar_subquery()
        conn.execute(update(c).values(last_message_id=last))
        at = select(m.c.created_at).where(m.c.id == c.c.last_message_id).scalar_subquery()
        conn.execute(update(c).values(last_activity_at=at).where(c.c.last_message_id.is_not(None)))
        # The inbox user has read half of their conversations up to 30 messages from the end.
        mine = conn.execute(
            select(c.c.id, c.c.last_message_id).where(c.c.id % inbox_step == 0, c.c.last_message_id.is_not(None))
        ).all()
        marks = [
            {"login": INBOX_USER, "conversation_id": cid, "last_read_id": int(last_id) - 30 * n_conversations}
            for cid, last_id in mine[::2]
        ]
        if marks:
            conn.execute(insert(s.read_marks), marks)
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # VACUUM sets PostgreSQL's visibility map, as autovacuum would in steady state: index-only scans need it.
        conn.execute(text("VACUUM ANALYZE" if store.backend == "postgresql" else "ANALYZE"))


# -- measurements --------------------------------------------------------------------------------------------


@dataclass
class Figure:
    backend: str
    name: str
    value: float
    unit: str
    target: float | None

    def row(self) -> str:
        target = f"<= {self.target:g} {self.unit}" if self.target is not None else "-"
        verdict = "" if self.target is None else ("ok" if self.value <= self.target else "MISSED")
        return f"{self.backend:<11} {self.name:<50} {self.value:>10.3f} {self.unit:<7} {target:<14} {verdict}"


def feed_latency(
    store: Store, mode: str, n: int, idle: float, warmup: int = 10
) -> tuple[list[float], list[float], list[float], dict[str, Any]]:
    """Post ``n`` messages (after ``warmup``) while another process waits on the feed.

    Returns post -> feed latencies, post -> commit wall times and their client CPU (ms), and the idle figures.
    """
    conv = store.create_conversation(
        kind="direct", title=f"latency {mode}", created_by=WRITERS[0], members=[LISTENER, *WRITERS[1:]]
    )
    writers = [Service(store, w, BENCH_SETTINGS) for w in WRITERS]
    total = warmup + n
    child = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--child-listen",
            store.url,
            "--mode",
            mode,
            "--count",
            str(total),
            "--idle",
            str(idle),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert json.loads(child.stdout.readline()).get("ready")
    rnd = random.Random(5)
    started: dict[int, int] = {}
    commits: list[float] = []
    cpu: list[float] = []
    for i in range(total):
        c, t = time.process_time(), now_ns()
        msg = writers[i % len(writers)].post(conv.id, f"latency probe {i}", client_id=f"{mode}-{i}")
        if i >= warmup:
            started[msg.id] = t
            commits.append((now_ns() - t) / 1e6)
            cpu.append((time.process_time() - c) * 1000)
        time.sleep(rnd.uniform(0.004, 0.012))  # one wake-up per message, not a batch
    report = json.loads(child.stdout.readline())
    child.wait(30)
    arrivals = {int(k): v for k, v in report["arrivals"].items()}
    return (
        [(arrivals[mid] - t) / 1e6 for mid, t in started.items()],
        commits,
        cpu,
        {**report["idle"], "waker": report["waker"]},
    )


def statements_per_post(store: Store) -> tuple[int, int]:
    """SQL statements one warm ``Service.post`` and one ``Store.post_message`` send (``before_cursor_execute``; with
    SQLite's BEGIN, without the COMMIT, which is no statement there, and without PostgreSQL's implicit BEGIN)."""
    conv = store.create_conversation(kind="direct", title="count", created_by=WRITERS[0], members=WRITERS[1:])
    writer = Service(store, WRITERS[0], BENCH_SETTINGS)
    writer.post(conv.id, "warm-up", client_id="count-warm")
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        writer.post(conv.id, "counted", client_id="count-service")
        service = len(seen)
        new = NewMessage(conversation_id=conv.id, body="counted", client_id="count-store")
        store.post_message(new, author=WRITERS[1])
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    return service, len(seen) - service


def back_to_back(post: Callable[[int], Any], n: int, warmup: int = 10) -> tuple[list[float], list[float]]:
    """``post(i)`` ``n`` times in a row (after ``warmup``), wall and client CPU ms each.

    Back to back, the CPU's caches stay warm. The feed latency loop sleeps 4-12 ms between posts (one wake-up per
    message), and on these machines the same post then costs about twice the CPU: the same calls, run cold.
    """
    wall: list[float] = []
    cpu: list[float] = []
    for i in range(n + warmup):
        c, t = time.process_time(), time.perf_counter()
        post(i)
        if i >= warmup:
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def post_message_alone(store: Store, n: int) -> tuple[list[float], list[float]]:
    """``Store.post_message`` until commit (no rights or rate check), back to back."""
    conv = store.create_conversation(kind="direct", title="store post", created_by=WRITERS[0], members=WRITERS[1:])
    return back_to_back(
        lambda i: store.post_message(
            NewMessage(conversation_id=conv.id, body=f"store probe {i}", client_id=f"alone-{i}"),
            author=WRITERS[i % len(WRITERS)],
        ),
        n,
    )


def service_post_alone(store: Store, n: int) -> tuple[list[float], list[float]]:
    """``Service.post`` until commit (rights, rate, mentions, post hooks), back to back."""
    conv = store.create_conversation(kind="direct", title="service post", created_by=WRITERS[0], members=WRITERS[1:])
    writers = [Service(store, w, BENCH_SETTINGS) for w in WRITERS]
    return back_to_back(
        lambda i: writers[i % len(writers)].post(conv.id, f"service probe {i}", client_id=f"service-{i}"), n
    )


CPU_MS: dict[int, float] = {}
"""Median process CPU ms of the last ``timed`` call, keyed by id of its list: on a busy machine wall time inflates,
CPU time much less (for SQLite it is nearly all the work; for PostgreSQL the server's share is not in it)."""


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out, cpu = [], []
    for _ in range(repeat):
        c, t = time.process_time(), time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    CPU_MS[id(out)] = statistics.median(cpu)
    return out


def bench_backend(backend: str, url: str, args: argparse.Namespace) -> list[Figure]:
    store = Store(url)
    store.create_schema()
    figures: list[Figure] = []
    try:
        log(f"[{backend}] loading {args.messages:,} messages in {args.conversations:,} conversations ...")
        t = time.perf_counter()
        bulk_load(store, args.messages, args.conversations)
        log(f"[{backend}] loaded in {time.perf_counter() - t:.1f}s")

        p50_target, p99_target = (2.0, 10.0) if backend == "sqlite" else (3.0, None)
        commit_target = 1.0 if backend == "sqlite" else 2.0
        n_service, n_store = statements_per_post(store)
        wall, cpu = post_message_alone(store, args.latency_messages)
        service_wall, service_cpu = service_post_alone(store, args.latency_messages)
        figures += [
            Figure(backend, "SQL statements per Service.post", n_service, "stmts", None),
            Figure(backend, "SQL statements per Store.post_message", n_store, "stmts", None),
            Figure(backend, "Store.post_message -> commit p50", statistics.median(wall), "ms", commit_target),
            Figure(backend, "  Store.post_message, client CPU p50", statistics.median(cpu), "ms", None),
            Figure(backend, "Service.post -> commit p50 (back to back)", median(service_wall), "ms", commit_target),
            Figure(backend, "  Service.post, client CPU p50 (back to back)", median(service_cpu), "ms", None),
        ]
        for mode in ("blocking", "async", "scoped"):
            log(
                f"[{backend}] feed latency ({mode}) over {args.latency_messages} messages, then {args.idle:g}s idle ..."
            )
            lat, commits, cpu, idle = feed_latency(store, mode, args.latency_messages, args.idle)
            figures += [
                Figure(
                    backend, f"Service.post -> commit p50 ({mode})", statistics.median(commits), "ms", commit_target
                ),
                Figure(backend, f"  Service.post, client CPU p50 ({mode})", statistics.median(cpu), "ms", None),
                Figure(
                    backend,
                    f"post->feed p50 ({mode}, {idle['waker']}, n={len(lat)})",
                    statistics.median(lat),
                    "ms",
                    p50_target,
                ),
                Figure(backend, f"post->feed p99 ({mode})", pct(lat, 99), "ms", p99_target),
                Figure(
                    backend,
                    f"idle listener CPU ({mode}, {idle['wall']:.1f}s)",
                    100 * idle["cpu"] / idle["wall"],
                    "%core",
                    0.02,
                ),
            ]

        rnd = random.Random(3)
        cids = [rnd.randint(1, args.conversations) for _ in range(args.repeat)]
        for cid in cids[:20]:  # warm the pool and the statement cache
            store.latest_messages(cid, limit=50)
        it = iter(cids)
        latest = timed(lambda: store.latest_messages(next(it), limit=50), args.repeat)
        figures += [
            Figure(backend, "latest 50 messages p50", statistics.median(latest), "ms", 1.0),
            Figure(backend, "latest 50 messages, client CPU p50", CPU_MS[id(latest)], "ms", 0.5),
            Figure(backend, "latest 50 messages p99", pct(latest, 99), "ms", None),
        ]
        some = store.latest_messages(cids[0], limit=50)
        before = timed(lambda: store.latest_messages(cids[0], limit=50, before_id=some[0].id), args.repeat)
        figures.append(Figure(backend, "50 messages before an id p50", statistics.median(before), "ms", 1.0))

        inbox_size = len(store.inbox(INBOX_USER, limit=50))
        for _ in range(5):
            store.inbox(INBOX_USER, limit=50)
        inbox = timed(lambda: store.inbox(INBOX_USER, limit=50), max(20, args.repeat // 5))
        figures += [
            Figure(backend, f"inbox p50 (user in {inbox_size} conversations)", statistics.median(inbox), "ms", 3.0),
            Figure(backend, "inbox, client CPU p50", CPU_MS[id(inbox)], "ms", None),
            Figure(backend, "inbox p99", pct(inbox, 99), "ms", None),
        ]
    finally:
        store.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300_000, help="messages to bulk-load (default 300,000)")
    parser.add_argument("--conversations", type=int, default=3_000, help="conversations (default 3,000)")
    parser.add_argument("--latency-messages", type=int, default=300, help="messages timed per feed mode (>= 300)")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle waiting to measure CPU over")
    parser.add_argument("--repeat", type=int, default=300, help="timed repetitions of each query")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child-listen", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="blocking", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_listen:
        listener_main(args.child_listen, args.mode, args.count, args.idle)
        return
    if args.conversations < INBOX_CONVERSATIONS or args.messages < args.conversations:
        parser.error(f"need at least {INBOX_CONVERSATIONS} conversations and one message per conversation")

    figures: list[Figure] = []
    notes: list[str] = []
    start_load = os.getloadavg()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="cw_bench_") as tmp:
            figures += bench_backend("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.backend in ("postgresql", "both"):
        try:
            with throwaway_pg_database(args.pg_admin_url, prefix="cw_bench") as url:
                figures += bench_backend("postgresql", url, args)
        except psycopg.OperationalError as exc:
            notes.append(f"postgresql skipped: unreachable at {args.pg_admin_url}: {exc}".strip())

    print(
        f"store_bench: {args.messages:,} messages in {args.conversations:,} conversations, "
        f"python {sys.version.split()[0]}"
    )
    print(f"{'backend':<11} {'metric':<50} {'value':>10} {'unit':<7} {'target':<14} verdict")
    for f in figures:
        print(f.row())
    for note in notes:
        print(note)
    print(
        "load average at the start / end (1/5/15 min): {:.2f} {:.2f} {:.2f} / {:.2f} {:.2f} {:.2f} on {} cores".format(
            *start_load, *os.getloadavg(), os.cpu_count()
        )
    )
    if max(start_load[0], os.getloadavg()[0]) > (os.cpu_count() or 1):
        print("the machine was busy (load above its core count): read wall times as upper bounds, CPU as the cost")


if __name__ == "__main__":
    main()
