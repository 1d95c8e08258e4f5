"""Idle pages: 200 open but idle pages beside 10 active users, on each backend (issue 12).

Each page is what a dashboard kernel holds: its own ``Store`` (engine and pool) and its own targeted feed
(``VisibleEvents`` of its user, waited on with ``await``), so connections and wake-ups are counted per page as in
Voilà. Pages live in a few OS processes (default 4 x 50), as kernels on one machine would. On PostgreSQL a feed
relay (``store/relay.py``) runs beside them on both backends, as ``conferencing serve`` starts it (``--no-relay``:
none), and every page is woken through it: one LISTEN connection (PostgreSQL) or one inotify instance (SQLite).

World: 20 customer companies of 10 idle users each (one direct chat per company, in which nobody posts), and one
active company of 10 users sharing a direct chat, each posting at random (mean ``--post-every`` s).

One run, two phases of ``--seconds`` each, same active users and posting rate:

- phase A: the active users alone;
- then the idle pages come up (and settle: their pooled connections are released after ``CONFERENCING_POOL_IDLE``);
- phase B: the active users beside the 200 idle pages.

Printed: the idle pages' total CPU over phase B (% of one core, from ``/proc/<pid>/stat``; goal < 1 %), the relay's
CPU, the active users' delivery p50/p99 in each phase (from just before ``post`` to the reader's ``wait``
returning, ``CLOCK_MONOTONIC`` ns) and the ratio B/A (goal <= 1.2), PostgreSQL's connection count to the database
(``pg_stat_activity``, max of samples during phase B), and the load average.

Usage::

    .venv/bin/python benchmarks/idle_pages.py                       # both backends, 30 s phases
    .venv/bin/python benchmarks/idle_pages.py --backend postgresql --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from conferencing_widgets import ConversationKind, Role, Service, Store
from conferencing_widgets.chat.events import VisibleEvents
from conferencing_widgets.store import relay
from conferencing_widgets.testing import throwaway_pg_database, wait_until

IDLE_COMPANIES = 20
IDLE_PER_COMPANY = 10
ACTIVE_USERS = 10
TICK = os.sysconf("SC_CLK_TCK")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its threads so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def build_world(store: Store) -> tuple[list[str], list[str], int]:
    store.create_schema()
    store.add_group(id="vendor", name="MachTool Service", is_vendor=True)
    idle: list[str] = []
    for c in range(IDLE_COMPANIES):
        gid = f"idle{c}"
        store.add_group(id=gid, name=f"Idle company {c}")
        people = [f"{gid}u{i}" for i in range(IDLE_PER_COMPANY)]
        for p in people:
            store.add_user(login=p, display_name=p, group_id=gid, role=Role.CUSTOMER)
        Service(store, people[0]).create_conversation(kind=ConversationKind.DIRECT, title="Quiet", members=people[1:])
        idle += people
    store.add_group(id="busy", name="Busy company")
    active = [f"busy{i}" for i in range(ACTIVE_USERS)]
    for p in active:
        store.add_user(login=p, display_name=p, group_id="busy", role=Role.CUSTOMER)
    chat = Service(store, active[0]).create_conversation(kind=ConversationKind.DIRECT, title="Busy", members=active[1:])
    return idle, active, chat.id


# -- processes ------------------------------------------------------------------------------------------------


def idle_main(url: str, logins: list[str], gap: float, out: Any, stop: Any) -> None:
    """Pages that are open and idle: each its own Store and feed, waiting. They open ``gap`` seconds apart, as
    visitors arrive (200 pages opening at once would each hold a pooled connection for ``POOL_IDLE`` s)."""
    pages: list[Store] = []
    sources: list[VisibleEvents] = []

    async def run() -> None:
        async def follow(src: VisibleEvents) -> None:
            after = src.last_id()
            while True:
                _, after = await src.wait(after)

        tasks = []
        for login in logins:
            st = Store(url)
            pages.append(st)
            sources.append(VisibleEvents(Service(st, login)))
            tasks.append(asyncio.ensure_future(follow(sources[-1])))
            await asyncio.sleep(gap)
        await asyncio.sleep(0.5)
        out.put(("ready", os.getpid()))
        while not stop.is_set():
            await asyncio.sleep(0.2)
        for t in tasks:
            t.cancel()

    asyncio.run(run())
    wakeups = sum(getattr(s._feed._waker, "wakeups", 0) for s in sources if s._feed is not None)
    out.put(("idle-done", wakeups))
    for s in sources:
        s.close()
    for st in pages:
        st.close()


def active_main(url: str, logins: list[str], chat: int, post_every: float, out: Any, stop: Any) -> None:
    """Ten users posting into their chat and following it; reports (sent ns, received ns) per delivery."""
    rng = random.Random(7)
    users = [(login, Service(Store(url), login)) for login in logins]
    sent: dict[int, int] = {}
    received: list[tuple[int, int]] = []  # (message id, arrival ns)

    async def run() -> None:
        async def follow(svc: Service) -> None:
            src = VisibleEvents(svc)
            after = src.last_id()
            try:
                while not stop.is_set():
                    events, after = await src.wait(after)
                    now = time.monotonic_ns()
                    received.extend((e.ref_id or 0, now) for e in events if e.kind == "message" and e.ref_id)
            finally:
                src.close()

        async def post(login: str, svc: Service) -> None:
            i = 0
            while not stop.is_set():
                await asyncio.sleep(rng.expovariate(1 / post_every))
                t = time.monotonic_ns()
                msg = svc.post(chat, f"{login} {i}")
                sent[msg.id] = t
                i += 1

        followers = [asyncio.ensure_future(follow(svc)) for _, svc in users]
        await asyncio.sleep(0.5)
        out.put(("ready", os.getpid()))
        posters = [asyncio.ensure_future(post(login, svc)) for login, svc in users]
        while not stop.is_set():
            await asyncio.sleep(0.1)
        await asyncio.sleep(2.0)  # let the last deliveries arrive
        for t in followers + posters:
            t.cancel()

    asyncio.run(run())
    out.put(("done", [(sent[m], r) for m, r in received if m in sent]))


# -- one backend ------------------------------------------------------------------------------------------------


def receive(out: Any, procs: list[Any], timeout: float) -> Any:
    """The next message from the workers; fails at once when one of them died."""
    import queue

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return out.get(timeout=1)
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise SystemExit(f"a worker died (exit code {dead[0].exitcode}); see its traceback above") from None
    raise SystemExit("the workers did not answer in time")


def pg_connections(store: Store) -> int:
    with store.reading() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                {"d": make_url(store.url).database},
            ).scalar_one()
        )


def run_backend(backend: str, url: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    store = Store(url)
    idle, active, chat = build_world(store)
    store.close()
    relay_proc = None
    if not args.no_relay:
        sock = tmp / f"relay-{backend}.sock"
        os.environ[relay.ENV_SOCKET] = str(sock)
        relay_proc = subprocess.Popen(
            [sys.executable, "-m", "conferencing_widgets.store.relay", "--socket", str(sock), "--store", url],
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: relay.probe(sock, timeout=0.2), 30, "the relay")
        wait_until(lambda: relay.relay_stats(sock)["connects"] >= 1, 30, "the relay's PostgreSQL connection")
    ctx = multiprocessing.get_context("spawn")
    out, stop_active, stop_idle = ctx.Queue(), ctx.Event(), ctx.Event()
    active_proc = ctx.Process(target=active_main, args=(url, active, chat, args.post_every, out, stop_active))
    active_proc.start()
    assert receive(out, [active_proc], 120)[0] == "ready"
    a_start = time.monotonic_ns()
    time.sleep(args.seconds)
    a_end = time.monotonic_ns()
    log(f"{backend}: phase A done; starting {len(idle)} idle pages")

    chunks = [idle[i :: args.processes] for i in range(args.processes)]
    gap = args.processes / args.open_rate
    idle_procs = [ctx.Process(target=idle_main, args=(url, c, gap, out, stop_idle)) for c in chunks]
    for p in idle_procs:
        p.start()
    for _ in idle_procs:
        kind, _pid = receive(out, [active_proc, *idle_procs], 600)
        assert kind == "ready"
    settle = float(os.environ.get("CONFERENCING_POOL_IDLE", "30")) + 3
    log(f"{backend}: idle pages up; settling {settle:.0f} s (pooled connections are released when idle)")
    time.sleep(settle)

    probe = Store(url) if backend == "postgresql" else None
    pids = [p.pid for p in idle_procs if p.pid is not None]
    per_proc0 = {p: cpu_seconds(p) for p in pids}
    cpu0 = sum(per_proc0.values())
    relay_cpu0 = cpu_seconds(relay_proc.pid) if relay_proc else 0.0
    relay_counts0 = relay.relay_stats(Path(os.environ[relay.ENV_SOCKET])) if relay_proc else {}
    b_start = time.monotonic_ns()
    conns: list[int] = []
    while time.monotonic_ns() - b_start < args.seconds * 1e9:
        if probe is not None:
            conns.append(pg_connections(probe))
        time.sleep(min(2.0, args.seconds / 5))
    b_end = time.monotonic_ns()
    per_proc1 = {p: cpu_seconds(p) for p in pids}
    cpu1 = sum(per_proc1.values())
    relay_cpu1 = cpu_seconds(relay_proc.pid) if relay_proc else 0.0
    load = os.getloadavg()
    relay_counts = relay.relay_stats(Path(os.environ[relay.ENV_SOCKET])) if relay_proc else {}
    for k in ("notifies", "wakes"):
        if k in relay_counts:
            relay_counts[k] -= relay_counts0.get(k, 0)

    stop_active.set()
    kind, deliveries = receive(out, [active_proc], 120)
    assert kind == "done"
    stop_idle.set()
    idle_wakeups = 0
    for _ in idle_procs:
        kind, n = receive(out, idle_procs, 120)
        idle_wakeups += n if kind == "idle-done" else 0
    for p in [active_proc, *idle_procs]:
        p.join(60)
    if probe is not None:
        probe.close()
    if relay_proc is not None:
        relay_proc.terminate()
        relay_proc.wait(10)

    def lat(lo: int, hi: int) -> list[float]:
        return [(r - s) / 1e6 for s, r in deliveries if lo <= s < hi]

    wall = (b_end - b_start) / 1e9
    os.environ.pop(relay.ENV_SOCKET, None)
    la, lb = lat(a_start, a_end), lat(b_start, b_end)
    return {
        "backend": backend,
        "idle_pages": len(idle),
        "idle_cpu_pct": 100 * (cpu1 - cpu0) / wall,
        "relay_cpu_pct": 100 * (relay_cpu1 - relay_cpu0) / wall,
        "a": (len(la), pct(la, 50), pct(la, 99)),
        "b": (len(lb), pct(lb, 50), pct(lb, 99)),
        "connections": max(conns) if conns else None,
        "per_process_cpu_s": [round(per_proc1[p] - per_proc0[p], 3) for p in pids],
        "idle_wakeups": idle_wakeups,
        "relay": relay_counts,
        "load": load,
    }


def report(r: dict[str, Any]) -> None:
    (na, a50, a99), (nb, b50, b99) = r["a"], r["b"]
    ratio = b99 / a99 if a99 else float("nan")
    print(f"\n== {r['backend']}: {r['idle_pages']} idle pages + {ACTIVE_USERS} active users ==", flush=True)
    print(f"idle pages' CPU, total        {r['idle_cpu_pct']:6.2f} % of a core   (goal < 1 %)")
    print(f"  per idle process (CPU s)    {r['per_process_cpu_s']}; idle pages' wake-ups: {r['idle_wakeups']}")
    if r["relay"]:
        print(f"feed relay CPU                {r['relay_cpu_pct']:6.2f} % of a core")
        print(f"relay counters in phase B     {r['relay']}  (notifies/wakes during phase B)")
    else:
        print("feed relay                    none (--no-relay): every page has its own waker")
    print(f"delivery without idle pages   n={na:5d}  p50 {a50:6.1f} ms  p99 {a99:6.1f} ms")
    print(f"delivery with idle pages      n={nb:5d}  p50 {b50:6.1f} ms  p99 {b99:6.1f} ms")
    print(f"p99 ratio with / without      {ratio:6.2f}            (goal <= 1.2)")
    if r["connections"] is not None:
        print(f"PostgreSQL connections (max)  {r['connections']:6d}            (relay + pools; pages hold none idle)")
    print("load average                  {:.2f} {:.2f} {:.2f}".format(*r["load"]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--processes", type=int, default=4, help="processes holding the idle pages")
    parser.add_argument("--post-every", type=float, default=2.0, help="mean seconds between an active user's posts")
    parser.add_argument("--open-rate", type=float, default=10.0, help="idle pages opened per second")
    parser.add_argument("--no-relay", action="store_true", help="no feed relay: each page has its own waker")
    args = parser.parse_args()
    os.environ.setdefault("CONFERENCING_POOL_IDLE", "2")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cw_idle_") as tmp:
        for backend in backends:
            if backend == "sqlite":
                results.append(run_backend(backend, f"sqlite:///{tmp}/idle.db", args, Path(tmp)))
            else:
                with throwaway_pg_database(prefix="cw_idle") as url:
                    results.append(run_backend(backend, url, args, Path(tmp)))
            report(results[-1])


if __name__ == "__main__":
    main()
