"""The video feature's widgets without a browser: the cw-video button, call rows, area 3, and the call page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from support import World

from conferencing_widgets import Service, Settings, Store
from conferencing_widgets.calls import store as call_store
from conferencing_widgets.calls.service import CallService
from conferencing_widgets.core.identity import make_token, parse_duration
from conferencing_widgets.ui import ConferencingApp
from conferencing_widgets.ui.calls.button import VideoButton
from conferencing_widgets.ui.calls.html import format_duration
from conferencing_widgets.ui.calls.page import CallRedirect, CallSession, call_page
from conferencing_widgets.voila.dashboard import call_dashboard

SECRET = "ui-secret"
JITSI = Settings(secret=SECRET, jitsi_url="http://127.0.0.1:9/meet")
BUILTIN = JITSI.replace(video_provider="builtin")


@pytest.fixture()
def world(sqlite_store: Store, seed: Callable[[Store], World]) -> World:
    return seed(sqlite_store)


def app_for(world: World, login: str, settings: Settings = JITSI) -> ConferencingApp:
    app = ConferencingApp(Service(world.store, login, settings), live=False)
    app.open_conversation(world.acme_case_chat)
    return app


def sent_by(widget: Any) -> list[dict[str, Any]]:
    """Record the custom messages a widget sends to the browser (they still go out)."""
    sent: list[dict[str, Any]] = []
    original = widget.send

    def record(content: dict[str, Any], buffers: Any = None) -> None:
        sent.append(content)
        original(content, buffers)

    widget.send = record
    return sent


def call_row(app: ConferencingApp) -> dict[str, Any]:
    return next(r for r in reversed(app.messages.stream.window) if r["kind"] == "call")


def test_button_replaces_cw_video_and_follows_rights(world: World) -> None:
    alice, erik = app_for(world, "alice"), app_for(world, "erik")
    button = alice.messages.video
    assert isinstance(button, VideoButton) and "cw-video" in button._dom_classes
    assert button in alice.messages.toolbar.children
    assert sum("cw-video" in getattr(c, "_dom_classes", ()) for c in alice.messages.toolbar.children) == 1
    assert not button.disabled
    assert erik.messages.video.disabled  # engineers read the case chat but are no members
    info = alice.video.info
    assert info in alice.messages.extras.children and "cw-video-info" in info._dom_classes
    assert f'href="{Settings().video_info_url}" target="_blank" rel="noopener noreferrer"' in info.value
    hostile = app_for(world, "alice", JITSI.replace(video_info_url="javascript:alert(1)"))
    assert hostile.video.info.value == "" and hostile.video.info not in hostile.messages.extras.children
    fresh = ConferencingApp(Service(world.store, "alice", JITSI), live=False)
    assert fresh.messages.video.disabled  # no conversation open yet


def test_click_starts_call_and_others_see_join_live(world: World) -> None:
    alice, tom, erik = app_for(world, "alice"), app_for(world, "tom"), app_for(world, "erik")
    button = alice.messages.video
    sent = sent_by(button)
    button._handle_custom_msg({"type": "start", "req": 1}, [])  # what the browser sends from the click
    (opened,) = sent
    room = call_store.get_call(world.store, opened["call"]).room
    assert opened["type"] == "open" and opened["req"] == 1
    assert opened["url"].startswith(f"http://127.0.0.1:9/meet/{room}")
    assert call_row(alice)["mine"]  # the starter's stream shows the call at once
    tom.refresh()
    erik.refresh()
    join = call_row(tom)["html"]
    link = re.search(r'<a class="cw-call-join" href="([^"]+)" target="_blank" rel="noopener">Join</a>', join)
    assert link is not None and "/voila/render/call.ipynb?call=" in link.group(1)
    assert room not in join
    readonly = call_row(erik)["html"]
    assert "live" in readonly and "cw-call-join" not in readonly and "token=" not in readonly
    assert room not in readonly and "call.ipynb" not in readonly


def test_leave_end_update_rows_and_media_section(world: World) -> None:
    alice, tom = app_for(world, "alice"), app_for(world, "tom")
    info = alice.messages.video.click()
    tom.refresh()
    assert "cw-call-end" not in call_row(tom)["html"]  # Tom has not taken part yet
    tom.video.calls.join(info.call.id)
    tom.refresh()
    alice.refresh()
    html = call_row(tom)["html"]
    assert "cw-call-leave" in html and "cw-call-end" in html and "Tom Becker" in html
    # Tom presses End call in his row (the stream sends ("call-end", id) to Python).
    tom.messages.stream._handle_custom_msg({"type": "action", "action": "call-end", "id": info.call.id}, [])
    assert "ended" in call_row(tom)["html"] and "cw-call-join" not in call_row(tom)["html"]
    alice.refresh()
    ended = call_row(alice)["html"]
    assert "ended" in ended and "cw-call-join" not in ended and "Alice Moreau, Tom Becker" in ended
    media = alice.details.sections["media"].value
    assert "cw-media-call" in media and "Alice Moreau, Tom Becker" in media
    assert re.search(r"\d+ s</span>", media)  # the duration


def test_closing_the_window_leaves_and_a_lone_starter_ends_the_call(world: World) -> None:
    alice, tom = app_for(world, "alice"), app_for(world, "tom")
    info = alice.messages.video.click()
    tom.refresh()
    assert "cw-call-join" in call_row(tom)["html"]
    alice.messages.video._handle_custom_msg({"type": "closed", "call": info.call.id}, [])
    assert not call_store.get_call(world.store, info.call.id).live
    tom.refresh()
    assert "cw-call-join" not in call_row(tom)["html"]


def test_refused_start_shows_error_and_writes_nothing(world: World) -> None:
    app = app_for(world, "alice", JITSI.replace(jitsi_url="ftp://nowhere"))
    before = world.snapshot()
    sent = sent_by(app.messages.video)
    app.messages.video._handle_custom_msg({"type": "start", "req": 7}, [])
    assert sent == [{"type": "error", "req": 7, "message": sent[0]["message"]}]
    assert "CONFERENCING_JITSI_URL" in app.messages.error.value
    assert world.snapshot() == before


def test_blocked_window_is_explained_in_the_area(world: World) -> None:
    app = app_for(world, "alice")
    app.messages.video._handle_custom_msg({"type": "blocked", "message": "<b>ignored</b>"}, [])
    assert "blocked the call window" in app.messages.error.value and "<b>" not in app.messages.error.value


def test_start_video_from_code_uses_the_feature(world: World) -> None:
    app = app_for(world, "alice")
    sent = sent_by(app.messages.video)
    app.messages.start_video()
    assert sent and sent[0]["type"] == "open-now" and app.messages.error.value == ""


def test_format_duration() -> None:
    assert [format_duration(parse_duration(x)) for x in ("45", "12m", "65m")] == ["45 s", "12 min", "1 h 05 min"]
    assert format_duration(None) == "live"


# -- call page ------------------------------------------------------------------------------------


def query(login: str, call_id: int | str) -> str:
    return f"call={call_id}&token={make_token(login, SECRET, parse_duration('1h'))}"


def test_call_dashboard_refuses_bad_links_and_outsiders(world: World) -> None:
    call = app_for(world, "alice").video.calls.start(world.acme_case_chat).call
    settings = JITSI.replace(store=world.store.url)
    assert "cw-denied" in call_dashboard("call=1&token=forged", settings=settings)._dom_classes
    assert "cw-denied" in call_dashboard(query("alice", "x"), settings=settings)._dom_classes
    assert "cw-denied" in call_dashboard(query("alice", 999), settings=settings)._dom_classes
    bella = call_dashboard(query("bella", call.id), settings=settings)  # another company: not even readable
    erik = call_dashboard(query("erik", call.id), settings=settings)  # reader, not member
    assert "cw-denied" in bella._dom_classes and "cw-denied" in erik._dom_classes
    assert call_store.get_call(world.store, call.id).participants == ("alice",)


def test_jitsi_call_page_records_join_and_forwards(world: World) -> None:
    call = app_for(world, "alice").video.calls.start(world.acme_case_chat).call
    page = call_page(CallService(Service(world.store, "tom", JITSI)), call.id)
    redirect = next(c for c in page.children if isinstance(c, CallRedirect))
    assert redirect.url.startswith(f"http://127.0.0.1:9/meet/{call_store.get_call(world.store, call.id).room}")
    assert call_store.get_call(world.store, call.id).participants == ("alice", "tom")
    app_for(world, "tom").video.calls.end(call.id)
    ended = call_page(CallService(Service(world.store, "tom", JITSI)), call.id)
    assert "cw-call-ended" in ended._dom_classes


def test_builtin_call_pages_relay_signals_through_the_store(world: World) -> None:
    call = app_for(world, "alice", BUILTIN).video.calls.start(world.acme_case_chat).call
    pages = {x: call_page(CallService(Service(world.store, x, BUILTIN)), call.id, live=False) for x in ("alice", "tom")}
    a: CallSession = pages["alice"].call_session  # type: ignore[attr-defined]
    t: CallSession = pages["tom"].call_session  # type: ignore[attr-defined]
    a_sent, t_sent = sent_by(a.widget), sent_by(t.widget)
    assert a.widget.names["tom"] == "Tom Becker" and a.widget.ice_servers == []
    a.widget._handle_custom_msg({"type": "join"}, [])
    t.widget._handle_custom_msg({"type": "join"}, [])
    assert a_sent[-1] == {"type": "joined", "others": []} and t_sent[-1] == {"type": "joined", "others": ["alice"]}
    t.widget._handle_custom_msg({"type": "signal", "to": "alice", "kind": "offer", "data": {"sdp": "o"}}, [])
    a.refresh()
    (signals,) = [m for m in a_sent if m["type"] == "signals"]
    assert [(s["from"], s["from_session"], s["kind"], s["data"]) for s in signals["items"]] == [
        ("tom", t.session, "offer", {"sdp": "o"})
    ]
    a.widget._handle_custom_msg(
        {"type": "signal", "to": "tom", "to_session": t.session, "kind": "answer", "data": {"sdp": "a"}}, []
    )
    t.refresh()
    assert [m["items"][0]["kind"] for m in t_sent if m["type"] == "signals"] == ["answer"]
    # A refused signal shows its error on the page and stores nothing.
    before = world.snapshot()
    t.widget._handle_custom_msg({"type": "signal", "to": "adam", "kind": "offer", "data": {}}, [])
    assert "not in this call" in t.widget.error and world.snapshot() == before
    # Hang up: Alice would be alone, so the call ends on both pages.
    t.widget._handle_custom_msg({"type": "hangup"}, [])
    a.refresh()
    assert not call_store.get_call(world.store, call.id).live
    assert a_sent[-1]["type"] == "ended" and a.widget.state == "ended" and t.widget.state == "ended"
