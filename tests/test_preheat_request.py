"""A preheated kernel reads its visitor's request from Voilà's ``voila/query/<kernel id>`` socket
(``voila.dashboard.request_query_string``). A socket that closes before the request came is opened again, so a
pool kernel whose wait was cut still serves its visitor instead of showing "this link has no access token"."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from conferencing_widgets.voila import dashboard


@pytest.fixture()
def query_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A stand-in for Voilà's request socket: closes the first ``cut`` connections unanswered, then answers."""
    state: dict[str, Any] = {"cut": 2, "connections": 0, "paths": []}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    loop = asyncio.new_event_loop()
    ready, stop = threading.Event(), asyncio.Event()

    async def handler(ws: Any) -> None:
        state["connections"] += 1
        state["paths"].append(ws.request.path)
        if state["connections"] <= state["cut"]:
            await ws.close()
            return
        await ws.send(json.dumps({"QUERY_STRING": "token=abc&board=7", "HTTP_ACCEPT_LANGUAGE": "pl"}))

    async def serve() -> None:
        async with websockets.serve(handler, "127.0.0.1", port):
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    assert ready.wait(10)
    for key, value in {
        "VOILA_PREHEAT": "True",
        "VOILA_APP_IP": "127.0.0.1",
        "VOILA_APP_PORT": str(port),
        "VOILA_SERVER_URL": "/",
        "VOILA_KERNEL_ID": "kernel-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("QUERY_STRING", raising=False)
    monkeypatch.delenv("VOILA_WS_BASE_URL", raising=False)
    monkeypatch.setattr(dashboard.time, "sleep", lambda _s: None)  # the retry pause, not the test's business
    yield state
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    os.environ.pop("HTTP_ACCEPT_LANGUAGE", None)


def test_a_cut_wait_is_opened_again_and_the_visitor_is_served(query_server: dict[str, Any]) -> None:
    assert dashboard.request_query_string() == "token=abc&board=7"
    assert query_server["connections"] == 3 and set(query_server["paths"]) == {"/voila/query/kernel-1"}
    assert os.environ["HTTP_ACCEPT_LANGUAGE"] == "pl"


def test_after_every_attempt_fails_the_request_is_empty(
    query_server: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    query_server["cut"] = 100
    assert dashboard.request_query_string() == ""
    assert query_server["connections"] == dashboard.REQUEST_ATTEMPTS
    assert "attempt 5" in caplog.text
