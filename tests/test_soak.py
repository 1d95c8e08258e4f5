"""The soak benchmark's own accounting (``benchmarks/soak.py``): a delivery it reports lost must really be lost.

Issue 17: the soak lost a few deliveries now and then on both backends. Its diagnostics showed every lost pair was
one of the first messages, and its event id was at or below the receiver's starting position: each process read
``last_event_id()`` for itself when it came up, so a process that came up after another had already posted
followed from past those messages. The soak now reads the start position once, before any process starts.
"""

from __future__ import annotations

import importlib.util
import queue
import sys
import threading
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from conferencing_widgets import Service, Store

pytestmark = pytest.mark.timeout(120)

SOAK = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


def load_soak() -> ModuleType:
    name = "cw_soak_benchmark"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SOAK)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_a_soak_process_coming_up_late_still_receives_the_first_messages(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    soak = load_soak()
    monkeypatch.setattr(soak, "DRAIN_SECONDS", 1.0)
    convs = soak.build_world(store)
    world_end = store.last_event_id()  # what the parent hands every process
    case_chat = convs["co0u0"][0]
    # Another soak process is up already and posts before this one has come up.
    early = Service(store, "co0u0").post(case_chat, "posted before the second process came up")

    out: queue.Queue[tuple[str, object]] = queue.Queue()
    go = threading.Event()
    go.set()
    start_at = SimpleNamespace(value=time.monotonic())
    args = {"seconds": 0.3, "post_every": 0.1, "after": world_end}
    soak.process_main(store.url, ["co0u1", "tech0"], convs, args, out, go, start_at)

    assert out.get_nowait()[0] == "ready"
    kind, report = out.get_nowait()
    assert kind == "done"
    assert isinstance(report, dict) and not report["errors"]
    for login in ("co0u1", "tech0"):
        got = [mid for mid, _cid, _t in report["received"][login]]
        assert got.count(early.id) == 1, f"{login} never received message {early.id}"
        first_after, *_ = report["diag"][login]
        assert first_after == world_end
