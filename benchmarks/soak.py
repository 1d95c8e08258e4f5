"""Soak test: 50 (``--users``) simulated users posting and reading for minutes, each following the live feed.

The users live in a few OS processes (default 10 users per process), as dashboard kernels would: in each process
one asyncio loop runs, per user, a ``Service``, the scoped feed a page follows (``Store.feed(read_scope)``, as
``VisibleEvents`` opens it: LISTEN on the user's own topics on PostgreSQL, inotify on the user's own doorbells on
SQLite, ``changes_for`` reads of the user's audience only) followed with ``await feed.wait(...)`` and filtered by
``Service.visible``, and a posting task. A user:

- posts into one of their conversations at random intervals (mean ``--post-every`` seconds, default 5);
- on every message event the feed shows them (``Service.visible``), records when it arrived; for the conversation
  they have open, catches up as the message stream does (``messages_after`` the last shown) and marks it read;
- now and then reloads their history list.

World: one customer company per 10 users, with 8 customers each, and 2 vendor technicians per company (50 users:
5 companies and 10 technicians; 200 users: 20 and 40). Each company has a service case (two technicians assigned)
with a case chat holding everyone of the company, and a direct chat of its customers. So every conversation has
the same members at any user count, and with the same per-user rate the work per message should stay the same:
the cost must follow a conversation's members, not the number of users online.

It prints, per backend: messages posted; deliveries expected (each message to every other member) and delivered;
lost (must be 0); duplicated (must be 0); seen by non-members (must be 0); gaps in the stream's catch-up by message
id (must be 0); delivery latency p50/p95/p99 (from just before ``post`` in the writer to the return of ``wait`` in
the reader; both read ``CLOCK_MONOTONIC``, which is system-wide); peak RSS per process; CPU seconds per 1,000
delivered messages (user + system time of the worker processes while they post and follow, summed; the PostgreSQL
server's own CPU is not in it); the load average before and after (the machine may be shared: read the figures
beside it).

Usage::

    .venv/bin/python benchmarks/soak.py                   # 300 s on SQLite, then 300 s on PostgreSQL
    .venv/bin/python benchmarks/soak.py --seconds 30 --backend sqlite
    .venv/bin/python benchmarks/soak.py --seconds 60 --users 200   # same per-user rate, 4x the users

PostgreSQL runs in a throwaway database ``cw_soak_<random>`` on 127.0.0.1:5432 (user postgres), dropped at the end.
Exits with status 1 when anything was lost, duplicated or leaked.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import func, select, text

from conferencing_widgets import ConversationKind, Role, Service, Settings, Store
from conferencing_widgets.core import policy
from conferencing_widgets.core.errors import ConferencingError
from conferencing_widgets.store import schema
from conferencing_widgets.testing import throwaway_pg_database

USERS_PER_COMPANY = 10
"""Each company brings 8 customers and 2 technicians: ``--users`` must be a multiple of it."""
CUSTOMERS_PER_COMPANY = 8
TECHNICIANS_PER_COMPANY = 2
USERS_PER_PROCESS = 10
"""Default spread: 10 users per process (5 processes at 50 users, 20 at 200)."""
DRAIN_SECONDS = 20.0
"""After posting stops, how long listeners may take to receive the last messages."""


def now_ns() -> int:
    """System-wide monotonic clock, comparable between processes on one machine."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# -- the world ------------------------------------------------------------------------------------------------


def build_world(store: Store, users: int = 50) -> dict[str, list[int]]:
    """Create the groups, users, cases and conversations for ``users`` users; returns each one's conversation ids."""
    companies = users // USERS_PER_COMPANY
    store.create_schema()
    store.add_group(id="vendor", name="MachTool Service", is_vendor=True)
    techs = [f"tech{i}" for i in range(TECHNICIANS_PER_COMPANY * companies)]
    for t in techs:
        store.add_user(login=t, display_name=t.title(), group_id="vendor", role=Role.TECHNICIAN)
    convs: dict[str, list[int]] = defaultdict(list)
    for c in range(companies):
        gid = f"co{c}"
        store.add_group(id=gid, name=f"Company {c}")
        people = [f"co{c}u{i}" for i in range(CUSTOMERS_PER_COMPANY)]
        for p in people:
            store.add_user(login=p, display_name=p.upper(), group_id=gid, role=Role.CUSTOMER)
        assigned = techs[2 * c : 2 * c + 2]
        case = store.add_case(number=f"SR-{c:04d}", title=f"Case of company {c}", group_id=gid, technicians=assigned)
        first = Service(store, people[0])
        chat = first.create_conversation(
            kind=ConversationKind.SERVICE_CASE, title="Case chat", members=people[1:], case_id=case.id
        )
        direct = first.create_conversation(kind=ConversationKind.DIRECT, title="Team", members=people[1:])
        for login in chat.members:
            convs[login].append(chat.id)
        for login in direct.members:
            convs[login].append(direct.id)
    return dict(convs)


# -- one process of users -------------------------------------------------------------------------------------


@dataclass
class UserState:
    login: str
    service: Service
    conversations: list[int]
    open_conversation: int
    after: int
    received: list[tuple[int, int, int]] = field(default_factory=list)
    """(message id, conversation id, arrival ns) for every message event shown."""
    shown: list[int] = field(default_factory=list)
    """Message ids the open conversation's stream caught up, in order."""
    errors: list[str] = field(default_factory=list)
    # Diagnostics, only read when a delivery is lost (collecting them is a few list appends per batch):
    batches: list[tuple[int, int, int, int]] = field(default_factory=list)
    """(after, first event id, last event id, arrival ns) of every non-empty batch the feed returned."""
    returned: list[int] = field(default_factory=list)
    """Every event id the feed returned to this user, before the rights filter."""
    stopped_ns: int = 0
    """When the follower task ended (``now_ns``)."""
    died: str = ""
    """The exception that ended the follower task early, if any."""
    started_after: int = 0
    """The event id the follower started after."""


async def follow(user: UserState, feed: Any, stop_at: list[float]) -> None:
    try:
        await _follow(user, feed, stop_at)
    except Exception as exc:  # noqa: BLE001 - recorded and reported; the soak then fails
        import traceback

        user.died = "".join(traceback.format_exception_only(exc)).strip()
        user.errors.append(f"follower died: {user.died}")
    finally:
        user.stopped_ns = now_ns()


async def _follow(user: UserState, feed: Any, stop_at: list[float]) -> None:
    while time.monotonic() < stop_at[0]:
        try:
            events = await feed.wait(after=user.after, timeout=1.0)
        except ConferencingError as exc:
            user.errors.append(f"wait: {exc}")
            await asyncio.sleep(0.5)
            continue
        if not events:
            continue
        t = now_ns()
        user.batches.append((user.after, events[0].id, events[-1].id, t))
        user.returned += [e.id for e in events]
        try:
            visible = user.service.visible(events)
        except ConferencingError as exc:
            # As ``FeedFollower`` does: the position moves only once the batch is handled, so it is tried again.
            user.errors.append(f"visible: {exc}")
            await asyncio.sleep(0.5)
            continue
        # A scoped feed scans past other audiences' events: continue from the newest id it scanned (as
        # ``VisibleEvents.wait`` returns it), never re-reading them.
        user.after = max(events[-1].id, feed.position)
        news = [e for e in visible if e.kind == "message" and e.ref_id is not None]
        user.received += [(int(e.ref_id), int(e.conversation_id or 0), t) for e in news]
        if any(e.conversation_id == user.open_conversation for e in news):
            try:  # the message stream: catch up after the last message shown, then mark read
                while True:
                    page = user.service.messages_after(user.open_conversation, user.shown[-1] if user.shown else 0)
                    user.shown += [m.id for m in page]
                    if len(page) < 500:
                        break
                if user.shown:
                    user.service.mark_read(user.open_conversation, user.shown[-1])
            except ConferencingError as exc:
                user.errors.append(f"catch-up: {exc}")


async def post(user: UserState, rng: random.Random, mean: float, post_until: float, sent: list[Any]) -> None:
    n = 0
    next_history = time.monotonic() + rng.uniform(5, 30)
    while True:
        await asyncio.sleep(rng.expovariate(1 / mean))
        if time.monotonic() >= post_until:
            return
        n += 1
        cid = rng.choice(user.conversations)
        t0 = now_ns()
        try:
            msg = user.service.post(cid, f"{user.login} says {n}: the spindle runs fine at {rng.randint(1, 9)}000 rpm")
            sent.append((msg.id, cid, user.login, t0, now_ns()))
        except ConferencingError as exc:
            user.errors.append(f"post: {exc}")
        if time.monotonic() >= next_history:
            next_history = time.monotonic() + rng.uniform(20, 40)
            try:
                user.service.history(limit=50)
            except ConferencingError as exc:
                user.errors.append(f"history: {exc}")


def process_main(
    url: str, logins: list[str], convs: dict[str, list[int]], args: dict[str, Any], out: Any, go: Any, start_at: Any
) -> None:
    """One 'server' of users: run them for the soak, then report what they saw.

    Every process follows from ``args["after"]``, the last event of the world, read once by the parent before any
    process starts. (Each process used to read ``last_event_id()`` itself when it came up; a process that came up
    after another had already posted started past those first messages and never received them: "lost".) Then it
    says ready and waits for ``go``: all processes start posting at the parent's ``start_at`` (``time.monotonic``,
    system-wide), so they stop posting, and stop following 20 s later, at the same moment.
    """
    store = Store(url)
    rng = random.Random(hash(tuple(logins)))
    settings = Settings()
    after = args["after"]
    users = [
        UserState(
            login, Service(store, login, settings), convs[login], rng.choice(convs[login]), after, started_after=after
        )
        for login in logins
    ]
    # The feed a page follows: scoped to what its user may read (``VisibleEvents`` opens the same one).
    feeds = [store.feed(policy.read_scope(u.service.user)) for u in users]
    sent: list[tuple[int, int, str, int, int]] = []

    async def run() -> None:
        start = start_at.value
        post_until = start + args["seconds"]
        stop_at = [post_until + DRAIN_SECONDS]
        tasks = [asyncio.ensure_future(follow(u, f, stop_at)) for u, f in zip(users, feeds, strict=True)]
        posters = [asyncio.ensure_future(post(u, rng, args["post_every"], post_until, sent)) for u in users]
        await asyncio.gather(*posters)
        await asyncio.gather(*tasks)

    out.put(("ready", os.getpid()))
    if not go.wait(timeout=600):
        raise SystemExit("the soak never said go")
    cpu0 = cpu_seconds()
    asyncio.run(run())
    cpu_used = cpu_seconds() - cpu0
    for f in feeds:
        f.close()
    store.close()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.put(
        (
            "done",
            {
                "sent": sent,
                "received": {u.login: u.received for u in users},
                "shown": {u.login: (u.open_conversation, u.shown) for u in users},
                "errors": {u.login: u.errors for u in users if u.errors},
                "diag": {
                    u.login: (u.started_after, u.after, u.stopped_ns, u.died, u.batches, u.returned) for u in users
                },
                "rss_mb": rss_kb / 1024,
                "cpu_s": cpu_used,
            },
        )
    )


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# -- the soak -------------------------------------------------------------------------------------------------


def connections_short(store: Store, users: int, processes: int) -> str:
    """Why PostgreSQL cannot hold this soak's connections, or "" when it can.

    Today every page (here: every user) holds its own LISTEN connection and every process a pool (issue 12,
    "Connections that do not grow with pages"): at 200 users that is more than this server's 100 connections.
    The soak would only spam "too many clients" and starve everyone else on the server.
    """
    if store.backend != "postgresql":
        return ""
    with store.engine.connect() as conn:
        allowed = int(conn.execute(text("SHOW max_connections")).scalar_one())
        used = int(conn.execute(text("SELECT count(*) FROM pg_stat_activity")).scalar_one())
    needed = users + 2 * processes  # one listener per user, at least two pooled connections per process
    free = allowed - used - 5  # superuser_reserved_connections and a little room for the parent
    if needed <= free:
        return ""
    return f"needs about {needed} connections (one LISTEN per user + pools), the server has {free} free of {allowed}"


def soak(backend: str, url: str, args: argparse.Namespace) -> bool:
    load_before = os.getloadavg()
    store = Store(url)
    short = connections_short(store, args.users, args.processes or max(1, args.users // USERS_PER_PROCESS))
    if short:
        print(f"== {backend}: {args.users} users: SKIPPED: {short} ==")
        print(f"SOAK {backend} users={args.users} skipped: {short}")
        store.close()
        return False
    convs = build_world(store, args.users)
    members: dict[int, set[str]] = defaultdict(set)
    for login, ids in convs.items():
        for cid in ids:
            members[cid].add(login)
    logins = sorted(convs)
    rng = random.Random(7)
    rng.shuffle(logins)
    processes = args.processes or max(1, len(logins) // USERS_PER_PROCESS)
    per = len(logins) // processes
    groups = [logins[i * per : (i + 1) * per] for i in range(processes)]
    groups[-1] += logins[per * processes :]
    ctx = multiprocessing.get_context("spawn")
    out: Any = ctx.Queue()
    # One start position and one start time for every process (see ``process_main``).
    child_args = {"seconds": args.seconds, "post_every": args.post_every, "after": store.last_event_id()}
    go, start_at = ctx.Event(), ctx.Value("d", 0.0)
    procs = [ctx.Process(target=process_main, args=(url, g, convs, child_args, out, go, start_at)) for g in groups]
    log(f"{backend}: {len(logins)} users in {len(procs)} processes, {args.seconds:.0f} s of posting ...")
    for p in procs:
        p.start()
    results: list[dict[str, Any]] = []
    ready = 0
    while len(results) < len(procs):
        kind, payload = out.get(timeout=args.seconds + DRAIN_SECONDS + 300)
        if kind == "ready":
            ready += 1
            if ready == len(procs):
                start_at.value = time.monotonic()
                go.set()
        elif kind == "done":
            results.append(payload)
    for p in procs:
        p.join(30)

    sent = [s for r in results for s in r["sent"]]
    sent_at = {mid: (cid, author, t0) for mid, cid, author, t0, _ in sent}
    stored_at = {mid: t1 for mid, _, _, _, t1 in sent}
    received: dict[str, list[tuple[int, int, int]]] = {}
    shown: dict[str, tuple[int, list[int]]] = {}
    errors: dict[str, list[str]] = {}
    diag: dict[str, tuple[int, int, int, str, list[tuple[int, int, int, int]], list[int]]] = {}
    for r in results:
        received.update(r["received"])
        shown.update(r["shown"])
        errors.update(r["errors"])
        diag.update(r["diag"])

    expected = {(mid, m) for mid, (cid, author, _) in sent_at.items() for m in members[cid] if m != author}
    counts = Counter((mid, login) for login, got in received.items() for mid, _, _ in got if mid in sent_at)
    delivered = {k for k in counts if k in expected}
    lost = expected - delivered
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    leaked = [k for k in counts if k not in expected and sent_at[k[0]][1] != k[1]]
    latencies = [
        (t - sent_at[mid][2]) / 1e6
        for login, got in received.items()
        for mid, _, t in got
        if mid in sent_at and sent_at[mid][1] != login
    ]
    # The stream's catch-up by message id must show every message of the open conversation, in id order.
    gaps = 0
    for _login, (cid, ids) in shown.items():
        if ids:
            stored = [m.id for m in store.latest_messages(cid, limit=100_000, after_id=ids[0] - 1)]
            gaps += len(set(stored) - set(ids)) + (ids != sorted(ids))
    with store.reading() as conn:
        kinds = dict(conn.execute(select(schema.events.c.kind, func.count()).group_by(schema.events.c.kind)).all())
    why = explain_lost(store, lost, sent_at, stored_at, diag) if lost else []
    store.close()

    ok = not lost and not duplicated and not leaked and not gaps
    rss = [r["rss_mb"] for r in results]
    cpu_total = sum(r["cpu_s"] for r in results)
    per_1000 = 1000 * cpu_total / len(delivered) if delivered else float("nan")
    load_after = os.getloadavg()
    print(f"== {backend}: {len(logins)} users in {len(procs)} processes, {args.seconds:.0f} s ==")
    print(f"messages posted              {len(sent):>10,}")
    print(f"deliveries expected          {len(expected):>10,}")
    print(f"messages delivered           {len(delivered):>10,}")
    print(f"lost                         {len(lost):>10,}   (must be 0)")
    print(f"duplicated                   {duplicated:>10,}   (must be 0)")
    print(f"seen by non-members          {len(leaked):>10,}   (must be 0)")
    print(f"stream catch-up gaps         {gaps:>10,}   (must be 0)")
    print(
        f"delivery latency p50/p95/p99 {pct(latencies, 50):>7.1f} / {pct(latencies, 95):.1f} / "
        f"{pct(latencies, 99):.1f} ms"
    )
    target = "<= 100 ms at 50 users" if len(logins) <= 50 else "<= 250 ms at 200 users"
    print(f"  p99 target                   {target}")
    print(
        f"CPU per 1,000 deliveries     {per_1000:>10.2f} s   ({cpu_total:.1f} s of worker CPU for {len(delivered):,} "
        f"deliveries at {len(logins)} users; the 200/50 ratio should be <= 1.3)"
    )
    print(f"peak RSS per process         {max(rss, default=0):>7.1f} MB max, {sum(rss):.0f} MB for all users")
    by_kind = ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items()))
    print(f"feed events written          {sum(kinds.values()):>10,}   ({by_kind})")
    print(f"errors shown to users        {sum(len(v) for v in errors.values()):>10,}")
    for login, errs in list(errors.items())[:5]:
        print(f"  {login}: {errs[:3]}")
    for line in why:
        print(line)
    print(
        "load average before / after (1/5/15 min)  {:.2f} {:.2f} {:.2f} / {:.2f} {:.2f} {:.2f} on {} cores{}".format(
            *load_before,
            *load_after,
            os.cpu_count(),
            "  (busy machine: other jobs share it)"
            if max(load_before[0], load_after[0]) > (os.cpu_count() or 1)
            else "",
        )
    )
    print(
        f"SOAK {backend} users={len(logins)} cpu_per_1000={per_1000:.3f} p50={pct(latencies, 50):.1f} "
        f"p95={pct(latencies, 95):.1f} p99={pct(latencies, 99):.1f} lost={len(lost)} dup={duplicated} "
        f"leaked={len(leaked)} load={load_after[0]:.1f}"
    )
    return ok and not errors


def explain_lost(
    store: Store,
    lost: set[tuple[int, str]],
    sent_at: dict[int, tuple[int, str, int]],
    stored_at: dict[int, int],
    diag: dict[str, tuple[int, int, int, str, list[tuple[int, int, int, int]], list[int]]],
) -> list[str]:
    """Why each lost (message, receiver) pair was lost, from what the receiver's follower recorded."""
    mids = sorted({mid for mid, _ in lost})
    with store.reading() as conn:
        ev = schema.events.c
        event_of = dict(conn.execute(select(ev.ref_id, ev.id).where(ev.kind == "message", ev.ref_id.in_(mids))).all())
    lines = [f"lost deliveries, one line each ({len(lost)}):"]
    returned_sets: dict[str, set[int]] = {}
    for mid, login in sorted(lost):
        cid, author, t0 = sent_at[mid]
        first_id, last_id, stopped_ns, died, batches, returned = diag[login]
        if login not in returned_sets:
            returned_sets[login] = set(returned)
        eid = event_of.get(mid)
        if eid is None:
            lines.append(f"  message {mid} (conv {cid}, by {author}) -> {login}: no message event stored")
            continue
        seen = eid in returned_sets[login]
        # The batch whose range (after, last] covers the event: the read that should have returned it.
        over = next(((a, f, la, t) for a, f, la, t in batches if a < eid <= la), None)
        jump = (
            f"; jumped over it: batch after={over[0]} returned {over[1]}..{over[2]} "
            f"{(over[3] - t0) / 1e6:+.1f} ms after the post began, "
            f"{(over[3] - stored_at[mid]) / 1e6:+.1f} ms after post() returned"
            if over and not seen
            else ""
        )
        lines.append(
            f"  message {mid} (event {eid}, conv {cid}, by {author}) -> {login}: posted "
            f"{(t0 - stopped_ns) / 1e9:+.2f} s relative to the receiver's stop (post() took "
            f"{(stored_at[mid] - t0) / 1e6:.1f} ms); receiver followed events {first_id}..{last_id}; "
            f"event {'returned (filtered out by rights)' if seen else 'never returned'}; "
            f"follower {'died: ' + died if died else 'ran to the end'}{jump}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="how long users post (default 300)")
    parser.add_argument("--users", type=int, default=50, help="simulated users, a multiple of 10 (default 50)")
    parser.add_argument(
        "--processes", type=int, default=0, help="processes the users are spread over (default: 10 users each)"
    )
    parser.add_argument("--post-every", type=float, default=5.0, help="mean seconds between a user's posts")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.seconds <= 0 or not 0 <= args.processes <= 50 or args.post_every <= 0:
        parser.error("--seconds and --post-every must be positive, --processes 1..50")
    if args.users < USERS_PER_COMPANY or args.users % USERS_PER_COMPANY:
        parser.error(f"--users must be a positive multiple of {USERS_PER_COMPANY}")

    ok = True
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="cw_soak_") as tmp:
            ok &= soak("sqlite", f"sqlite:///{Path(tmp) / 'soak.db'}", args)
    if args.backend in ("postgresql", "both"):
        try:
            with throwaway_pg_database(args.pg_admin_url, prefix="cw_soak") as url:
                ok &= soak("postgresql", url, args)
        except psycopg.OperationalError as exc:
            print(f"postgresql skipped: unreachable at {args.pg_admin_url}: {exc}".strip())
    print(
        "load average at the end (1/5/15 min): {:.2f} {:.2f} {:.2f} on {} cores".format(
            *os.getloadavg(), os.cpu_count()
        )
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
