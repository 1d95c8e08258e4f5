"""Soak test: 50 (``--users``) simulated users posting and reading for minutes, each following the live feed.

The users live in a few OS processes (default 10 users per process), as dashboard kernels would: in each process
one asyncio loop runs, per user, a ``Service``, the scoped feed a page follows (``Store.feed(read_scope)``, as
``VisibleEvents`` opens it: LISTEN on the user's own topics on PostgreSQL, inotify on the user's own doorbells on
SQLite, ``changes_for`` reads of the user's audience only) followed with ``await feed.wait(...)`` and filtered by
``Service.visible``, and a posting task. Each process is one "server": it starts its own feed relay
(``python -m conferencing_widgets.store.relay``, as ``conferencing serve`` does) and its pages are woken through it,
so PostgreSQL holds one LISTEN connection per process, not per page (``--no-relay``: every page LISTENs itself, the
per-kernel fallback; 200 users then exceed a 100-connection server; ``--servers N``: N relays shared by all the
processes, as N servers would each run one for their many kernels). A user:

- posts into one of their conversations at random intervals (mean ``--post-every`` seconds, default 5);
- on every message event the feed shows them (``Service.visible``), records when it arrived; for the conversation
  they have open, catches up as the message stream does (``messages_after`` the last shown) and marks it read once
  the burst is over (``Coalescer``, as the page's ``ReadMarks`` does);
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
delivered messages (user + system time of the worker processes and their relays while they post and follow,
summed; the PostgreSQL server's own CPU is not in it); the relays' wake-ups (bytes written to pages) per delivery;
PostgreSQL's connections to the soak database (sampled every 2 s during the run: max and the LISTENing ones); the
load average before and after (the machine may be shared: read the figures beside it).

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
import contextlib
import multiprocessing
import os
import queue
import random
import resource
import shutil
import subprocess
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
from conferencing_widgets.store import relay, schema
from conferencing_widgets.testing import throwaway_pg_database, wait_until
from conferencing_widgets.ui.coalesce import Coalescer

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
    read_later: Coalescer[int] = field(init=False)
    """As the page's ``ReadMarks``: what the stream showed is marked read once per burst, a moment later."""

    def __post_init__(self) -> None:
        self.read_later = Coalescer(self._mark_read)

    def _mark_read(self, shown: list[int]) -> None:
        try:
            self.service.mark_read(self.open_conversation, max(shown))
        except ConferencingError as exc:
            self.errors.append(f"mark read: {exc}")


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
            try:  # the message stream: catch up after the last message shown, then mark read a moment later
                while True:
                    page = user.service.messages_after(user.open_conversation, user.shown[-1] if user.shown else 0)
                    user.shown += [m.id for m in page]
                    if len(page) < 500:
                        break
                if user.shown:
                    user.read_later.add([user.shown[-1]])
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
    relay_proc = None
    if args.get("relay_socket"):  # a relay of the parent's, shared by several processes (``--servers``)
        os.environ[relay.ENV_SOCKET] = args["relay_socket"]
    elif args.get("relay_dir"):
        relay_proc = start_relay(url, args["relay_dir"])
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
    relay_cpu0 = proc_cpu_seconds(relay_proc.pid) if relay_proc is not None else 0.0
    asyncio.run(run())
    cpu_used = cpu_seconds() - cpu0
    relay_counts: dict[str, int] = {}
    if relay_proc is not None:
        relay_counts = relay.relay_stats(Path(os.environ[relay.ENV_SOCKET]))
    for f in feeds:
        f.close()
    store.close()
    relay_cpu = stop_relay(relay_proc, relay_cpu0) if relay_proc is not None else 0.0
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
                "cpu_s": cpu_used + relay_cpu,
                "relay_cpu_s": relay_cpu,
                "relay": relay_counts,
            },
        )
    )


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU of another process so far (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def start_relay(url: str, folder: str, name: str = "") -> subprocess.Popen[bytes]:
    """This process's feed relay, as ``conferencing serve`` starts one per server; its pages find it through
    ``CONFERENCING_RELAY_SOCKET`` (set here, before any feed opens). ``name``: a relay the parent starts for
    several processes (``--servers``), its socket then ``relay-<name>.sock`` and the environment left alone."""
    sock = Path(folder) / f"relay-{name or os.getpid()}.sock"
    if not name:
        os.environ[relay.ENV_SOCKET] = str(sock)
    with open(sock.with_suffix(".log"), "wb") as log_file:  # read when it does not come up
        proc = subprocess.Popen(
            [sys.executable, "-m", "conferencing_widgets.store.relay", "--socket", str(sock), "--store", url],
            stderr=log_file,
        )
    # Generous: on a machine at load 20 a Python process took 8 s only to import the relay.
    try:
        wait_until(lambda: relay.probe(sock, timeout=0.5), 180, "the feed relay")
        wait_until(lambda: _relay_connects(sock) >= 1, 180, "the feed relay's connection")
    except AssertionError as exc:
        proc.kill()
        raise AssertionError(f"{exc}; its log: {sock.with_suffix('.log').read_text(errors='replace')}") from None
    return proc


def _relay_connects(sock: Path) -> int:
    try:
        return relay.relay_stats(sock).get("connects", 0)
    except OSError:
        return 0  # slow to answer on a loaded machine: asked again


def stop_relay(proc: subprocess.Popen[bytes], cpu0: float) -> float:
    """Stop the relay; the CPU seconds it used since ``cpu0`` (its reading when the soak said go)."""
    cpu = proc_cpu_seconds(proc.pid) - cpu0
    proc.terminate()
    try:
        proc.wait(30)  # a loaded machine (load 18 was seen) can take seconds to run its shutdown
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return cpu


# -- the soak -------------------------------------------------------------------------------------------------


def connections_short(store: Store, users: int, processes: int, relayed: bool) -> str:
    """Why PostgreSQL cannot hold this soak's connections, or "" when it can.

    Through the relays each process ("server") holds one LISTEN connection and its pool. Without them
    (``--no-relay``) every page (here: every user) holds its own LISTEN connection: at 200 users that is more than
    this server's 100 connections, and the soak would only spam "too many clients" and starve everyone else.
    """
    if store.backend != "postgresql":
        return ""
    with store.engine.connect() as conn:
        allowed = int(conn.execute(text("SHOW max_connections")).scalar_one())
        used = int(conn.execute(text("SELECT count(*) FROM pg_stat_activity")).scalar_one())
    listeners = processes if relayed else users  # one per relay, or one per page
    needed = listeners + 2 * processes  # and at least two pooled connections per process
    free = allowed - used - 5  # superuser_reserved_connections and a little room for the parent
    if needed <= free:
        return ""
    per = "relay" if relayed else "user"
    return f"needs about {needed} connections (one LISTEN per {per} + pools), the server has {free} free of {allowed}"


def pg_connections(store: Store) -> int:
    """Connections to the soak's database now, not counting this one."""
    with store.reading() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        )


def soak(backend: str, url: str, args: argparse.Namespace, users: int) -> tuple[bool, float]:
    """One soak of ``users`` users; whether it was clean, and its CPU seconds per 1,000 deliveries."""
    load_before = os.getloadavg()
    store = Store(url)
    short = connections_short(store, users, args.processes or max(1, users // USERS_PER_PROCESS), not args.no_relay)
    if short:
        print(f"== {backend}: {users} users: SKIPPED: {short} ==")
        print(f"SOAK {backend} users={users} skipped: {short}")
        store.close()
        return False, float("nan")
    convs = build_world(store, users)
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
    relay_dir = "" if args.no_relay else tempfile.mkdtemp(prefix="cw_soak_relay_")
    child_args = {
        "seconds": args.seconds,
        "post_every": args.post_every,
        "after": store.last_event_id(),
        "relay_dir": relay_dir,
    }
    # ``--servers N``: N relays for all the processes (N servers, each running many page kernels), instead of one
    # relay per process.
    shared = [start_relay(url, relay_dir, f"server{k}") for k in range(args.servers if relay_dir else 0)]
    sockets = [str(Path(relay_dir) / f"relay-server{k}.sock") for k in range(len(shared))]
    go, start_at = ctx.Event(), ctx.Value("d", 0.0)
    procs = [
        ctx.Process(
            target=process_main,
            args=(
                url,
                g,
                convs,
                {**child_args, "relay_socket": sockets[i % len(sockets)] if sockets else ""},
                out,
                go,
                start_at,
            ),
        )
        for i, g in enumerate(groups)
    ]
    log(f"{backend}: {len(logins)} users in {len(procs)} processes, {args.seconds:.0f} s of posting ...")
    for p in procs:
        p.start()
    results: list[dict[str, Any]] = []
    ready = 0
    shared_channels = 0
    shared_cpu0: list[float] = []
    conns: list[int] = []  # PostgreSQL connections to the soak database, sampled while the users run
    deadline = time.monotonic() + args.seconds + DRAIN_SECONDS + 600
    while len(results) < len(procs):
        try:
            kind, payload = out.get(timeout=2.0)
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                code = dead[0].exitcode
                raise SystemExit(f"a soak process died (exit code {code}); see its traceback above") from None
            if time.monotonic() > deadline:
                raise SystemExit("the soak's processes did not report in time") from None
            if go.is_set() and store.backend == "postgresql":
                conns.append(pg_connections(store))
            if go.is_set() and sockets:  # the shared relays' channels while the pages follow
                with contextlib.suppress(OSError):
                    followed = sum(relay.relay_stats(Path(sock)).get("channels", 0) for sock in sockets)
                    shared_channels = max(shared_channels, followed)
            continue
        if kind == "ready":
            ready += 1
            if ready == len(procs):
                shared_cpu0 = [proc_cpu_seconds(r.pid) for r in shared]
                start_at.value = time.monotonic()
                go.set()
        elif kind == "done":
            results.append(payload)
    for p in procs:
        p.join(30)
    shared_counts = [relay.relay_stats(Path(sock)) for sock in sockets]
    shared_cpu = sum(stop_relay(r, c0) for r, c0 in zip(shared, shared_cpu0, strict=True))
    if relay_dir:
        shutil.rmtree(relay_dir, ignore_errors=True)

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
    cpu_total = sum(r["cpu_s"] for r in results) + shared_cpu
    relay_cpu = sum(r["relay_cpu_s"] for r in results) + shared_cpu
    counts_of_relays = [r["relay"] for r in results] + shared_counts
    relay_wakes = sum(c.get("wakes", 0) for c in counts_of_relays)
    relay_channels = sum(c.get("channels", 0) for c in counts_of_relays) + shared_channels
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
    if args.no_relay:
        print("feed relays                  none (--no-relay): every page wakes on its own LISTEN / doorbells")
    else:
        print(
            f"feed relays                  {len(shared) or len(procs):>10}   "
            f"({'shared by the processes' if shared else 'one per process'}; "
            f"{relay_cpu:.1f} s CPU of the total above, "
            f"{relay_wakes:,} wake-ups sent = {relay_wakes / max(1, len(delivered)):.2f} per delivery, "
            f"{relay_channels:,} channels followed)"
        )
    if conns:
        print(
            f"PostgreSQL connections       {max(conns):>10}   max of {len(conns)} samples during the run "
            f"(median {pct([float(c) for c in conns], 50):.0f}; {users} pages)"
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
        f"leaked={len(leaked)} pg_conns={max(conns) if conns else '-'} load={load_after[0]:.1f}"
    )
    return ok and not errors, per_1000


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
    parser.add_argument(
        "--users",
        default="50",
        help="simulated users, a multiple of 10, or a comma list run one after another (default 50; 50,200 prints "
        "the CPU ratio)",
    )
    parser.add_argument(
        "--processes", type=int, default=0, help="processes the users are spread over (default: 10 users each)"
    )
    parser.add_argument("--post-every", type=float, default=5.0, help="mean seconds between a user's posts")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--servers",
        type=int,
        default=0,
        help="feed relays shared by all processes, as N servers would run them (default 0: one per process)",
    )
    parser.add_argument(
        "--no-relay", action="store_true", help="no feed relay: every page LISTENs (or watches doorbells) itself"
    )
    parser.add_argument("--pg-admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.seconds <= 0 or not 0 <= args.processes <= 50 or args.post_every <= 0:
        parser.error("--seconds and --post-every must be positive, --processes 1..50")
    try:
        counts = [int(u) for u in str(args.users).split(",")]
    except ValueError:
        parser.error("--users takes numbers, e.g. 50 or 50,200")
    if any(u < USERS_PER_COMPANY or u % USERS_PER_COMPANY for u in counts):
        parser.error(f"--users must be positive multiples of {USERS_PER_COMPANY}")

    ok = True
    per_1000: dict[tuple[str, int], float] = {}
    for users in counts:
        if args.backend in ("sqlite", "both"):
            with tempfile.TemporaryDirectory(prefix="cw_soak_") as tmp:
                good, per_1000["sqlite", users] = soak("sqlite", f"sqlite:///{Path(tmp) / 'soak.db'}", args, users)
                ok &= good
        if args.backend in ("postgresql", "both"):
            try:
                with throwaway_pg_database(args.pg_admin_url, prefix="cw_soak") as url:
                    good, per_1000["postgresql", users] = soak("postgresql", url, args, users)
                    ok &= good
            except psycopg.OperationalError as exc:
                print(f"postgresql skipped: unreachable at {args.pg_admin_url}: {exc}".strip())
    if len(counts) > 1:
        lo, hi = min(counts), max(counts)
        for backend in ("sqlite", "postgresql"):
            if (backend, lo) in per_1000 and (backend, hi) in per_1000:
                a, b = per_1000[backend, lo], per_1000[backend, hi]
                print(
                    f"CPU per 1,000 deliveries {backend}: {a:.2f} s at {lo} users, {b:.2f} s at {hi} users, "
                    f"ratio {b / a:.2f} (goal <= 1.3)"
                )
    print(
        "load average at the end (1/5/15 min): {:.2f} {:.2f} {:.2f} on {} cores".format(
            *os.getloadavg(), os.cpu_count()
        )
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
