"""The Messages area's reply, edit, delete, reactions and jump without a browser (issue 13, slice A)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conferencing_widgets import Service, Settings, Store
from conferencing_widgets.core.model import NewMessage
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.ui import ConferencingApp


@pytest.fixture()
def demo_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'ui.db'}")
    seed_demo(store)
    yield store
    store.close()


def app_for(store: Store, login: str, **settings: object) -> ConferencingApp:
    return ConferencingApp(Service(store, login, Settings(**settings)), live=False)


def spindle(store: Store) -> int:
    return next(
        s.conversation.id
        for s in store.inbox(ReadScope(login="ada.admin", all_case_chats=True))
        if s.conversation.title == "Spindle vibration"
    )


def row(app: ConferencingApp, message_id: int) -> dict:
    return next(r for r in app.messages.stream.window if r["id"] == message_id)


def test_reply_mode_posts_a_reply_and_esc_cancels(demo_store: Store) -> None:
    alice = app_for(demo_store, "alice")
    alice.open_conversation(spindle(demo_store))
    tom_row = next(r for r in alice.messages.stream.window if r["author"] == "Tom Becker")
    alice.messages.stream.message_action("reply", tom_row["id"])
    composer = alice.messages.composer
    assert composer.mode == "reply" and composer.mode_text.startswith("Replying to Tom Becker: ")
    composer._on_custom(composer, {"type": "cancel"}, [])  # Esc
    assert composer.mode == "" and composer.target_id == 0
    alice.messages.stream.message_action("reply", tom_row["id"])
    assert alice.messages.send("Yes, balanced yesterday.")
    mine = alice.messages.stream.window[-1]
    assert mine["reply"]["id"] == tom_row["id"] and mine["reply"]["author"] == "Tom Becker"
    assert composer.mode == ""


def test_a_send_means_the_mode_the_page_showed_at_enter(demo_store: Store) -> None:
    """The page enters reply mode before Python hears of it, and Python may leave it meanwhile (a reopen): the
    send's own mode decides, and a send that names none keeps Python's."""
    alice = app_for(demo_store, "alice")
    alice.open_conversation(spindle(demo_store))
    tom_row = next(r for r in alice.messages.stream.window if r["author"] == "Tom Becker")
    composer = alice.messages.composer
    assert composer.mode == ""
    fast_reply = {"type": "send", "text": "Fast reply", "mode": "reply", "target_id": tom_row["id"]}
    composer._on_custom(composer, fast_reply, [])
    fast = alice.messages.stream.window[-1]
    assert "Fast reply" in fast["html"] and fast["reply"]["id"] == tom_row["id"]
    alice.messages.stream.message_action("reply", tom_row["id"])
    composer._on_custom(composer, {"type": "send", "text": "Plain after all", "mode": "", "target_id": 0}, [])
    plain = alice.messages.stream.window[-1]
    assert "Plain after all" in plain["html"] and plain["reply"] is None and composer.mode == ""
    alice.messages.stream.message_action("reply", tom_row["id"])
    junks = [{"mode": "reply", "target_id": True}, {"mode": "delete", "target_id": 1}]
    junks.append({"mode": "reply", "target_id": 0})
    for junk in junks:
        composer._adopt_sent_mode(junk)  # nonsense from a page changes nothing
        assert composer.mode == "reply" and composer.target_id == tom_row["id"]
    composer._on_custom(composer, {"type": "send", "text": "From code"}, [])
    assert alice.messages.stream.window[-1]["reply"]["id"] == tom_row["id"]


def test_up_arrow_edits_the_last_own_message_and_others_see_it_live(demo_store: Store) -> None:
    cid = spindle(demo_store)
    alice, tom = app_for(demo_store, "alice"), app_for(demo_store, "tom.tech")
    alice.open_conversation(cid)
    tom.open_conversation(cid)
    assert alice.messages.send("draft with a typo")
    last = alice.messages.stream.window[-1]["id"]
    tom.refresh()
    # Edit mode puts a half-written draft aside and gives it back on cancel (Esc).
    alice.messages.composer.value = "half-written next message"
    alice.messages.composer.edit_last()
    assert alice.messages.composer.value == "draft with a typo"
    alice.messages.composer.cancel_mode()
    assert alice.messages.composer.value == "half-written next message"
    alice.messages.composer.value = ""
    alice.messages.composer.edit_last()
    composer = alice.messages.composer
    assert composer.mode == "edit" and composer.target_id == last and composer.value == "draft with a typo"
    assert alice.messages.send("draft without a typo")
    assert row(alice, last)["edited"] and "without a typo" in row(alice, last)["html"]
    assert len([r for r in alice.messages.stream.window if "typo" in r["html"]]) == 1  # edited, not posted
    tom.refresh()
    assert row(tom, last)["edited"] and "without a typo" in row(tom, last)["html"]
    # "edited" shows the earlier versions to readers (sanitised HTML, newest first).
    sent: list[dict] = []
    tom.messages.stream.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    tom.messages.stream.message_action("versions", last)
    assert sent[-1]["type"] == "versions" and sent[-1]["id"] == last
    assert [v["html"] for v in sent[-1]["versions"]] == ["<p>draft with a typo</p>"]


def test_delete_and_react_are_live_and_only_offered_where_allowed(demo_store: Store) -> None:
    cid = spindle(demo_store)
    alice, tom, erik = app_for(demo_store, "alice"), app_for(demo_store, "tom.tech"), app_for(demo_store, "erik.eng")
    for app in (alice, tom, erik):
        app.open_conversation(cid)
    alice.messages.send("please delete me")
    mid = alice.messages.stream.window[-1]["id"]
    tom.refresh()
    erik.refresh()
    assert row(tom, mid)["actions"] == ["reply", "react"]
    assert row(erik, mid)["actions"] == []  # reads the case chat, may not post
    tom.messages.stream.message_action("react", mid, "🎉")
    alice.refresh()
    assert row(alice, mid)["reactions"] == [{"emoji": "🎉", "count": 1, "who": "Tom Becker", "mine": False}]
    # A tampered request (delete someone else's message) shows an error and changes nothing.
    tom.messages.stream.message_action("delete", mid)
    assert "your own" in tom.messages.error.value and not row(tom, mid)["deleted"]
    tom.messages.stream.message_action("react", mid, "<img src=x onerror=alert(1)>")
    assert "one emoji" in tom.messages.error.value
    alice.messages.stream.message_action("delete", mid)
    assert row(alice, mid)["deleted"] and "message deleted" in row(alice, mid)["html"]
    tom.refresh()
    assert row(tom, mid)["deleted"] and row(tom, mid)["reactions"] == [] and "please" not in str(row(tom, mid))


def test_jump_to_an_original_pages_back(demo_store: Store) -> None:
    cid = spindle(demo_store)
    tom = Service(demo_store, "tom.tech")
    first = tom.post(cid, "the original, long ago")
    for i in range(30):
        demo_store.post_message(NewMessage(conversation_id=cid, body=f"filler {i}"), author="tom.tech")
    tom.post(cid, "about that", reply_to=first.id)
    alice = app_for(demo_store, "alice", page_size=10)
    alice.open_conversation(cid)
    assert first.id not in {r["id"] for r in alice.messages.stream.window}
    sent: list[dict] = []
    alice.messages.stream.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    reply = alice.messages.stream.window[-1]
    alice.messages.stream.message_action("jump", reply["reply"]["id"])
    ids = [r["id"] for r in alice.messages.stream.window]
    assert first.id in ids and ids[-1] == reply["id"] and ids == sorted(ids)
    assert sent[-1] == {"type": "highlight", "id": first.id}
