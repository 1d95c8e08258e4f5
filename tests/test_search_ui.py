"""Search and mentions in the widgets, without a browser: badge, Mentions filter, autocomplete, results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def app_for(store: Store, login: str) -> ConferencingApp:
    return ConferencingApp(Service(store, login, Settings(posts_per_minute=10_000)), live=False)


def case_chat(store: Store, title: str = "Spindle vibration") -> int:
    scope = ReadScope(login="ada.admin", all_case_chats=True)
    return next(s.conversation.id for s in store.inbox(scope) if s.conversation.title == title)


def sent(widget: Any) -> list[dict[str, Any]]:
    """Capture the custom messages a widget sends from now on."""
    out: list[dict[str, Any]] = []
    widget.send = lambda content, buffers=None: out.append(content)
    return out


def test_mention_renders_badges_and_filters_the_history(demo_store: Store) -> None:
    alice, tom = app_for(demo_store, "alice"), app_for(demo_store, "tom.tech")
    cid = case_chat(demo_store)
    alice.open_conversation(cid)
    assert alice.messages.send("@tom.tech please check <img src=x onerror=alert(1)>") is True
    row = alice.messages.stream.window[-1]
    assert '<span class="cw-mention">@Tom Becker</span>' in row["html"] and "<img" not in row["html"]
    tom.refresh()
    tom.history.refresh()
    assert tom.history.mentions_for(cid) == 1 and alice.history.mentions_for(cid) == 0
    tom.history.mentions_filter.value = True
    assert [t["id"] for t in tom.history.direct.tiles + tom.history.cases.tiles] == [cid]
    tom.open_conversation(cid)
    assert tom.history.mentions_for(cid) == 0  # read: the badge goes
    assert tom.messages.stream.window[-1]["mentions_me"]


def test_mentioning_a_non_member_is_refused_in_the_composer(demo_store: Store) -> None:
    alice = app_for(demo_store, "alice")
    cid = case_chat(demo_store)
    alice.open_conversation(cid)
    before = demo_store.message_count(cid)
    assert alice.messages.send("@bella.borg look") is False
    assert "is not a member of this conversation" in alice.messages.composer.error
    assert alice.messages.composer.value == "@bella.borg look" and demo_store.message_count(cid) == before


def test_autocomplete_offers_members_only(demo_store: Store) -> None:
    alice = app_for(demo_store, "alice")
    alice.open_conversation(case_chat(demo_store))
    out = sent(alice.messages.composer)
    items = alice.messages.composer.answer_mention_query("to", seq=3)
    assert [i["login"] for i in items] == ["tom.tech"]
    assert out[-1] == {"type": "mention_candidates", "prefix": "to", "seq": 3, "items": items}
    assert all(i["login"] != "alice" for i in alice.messages.composer.answer_mention_query(""))
    assert alice.messages.composer.answer_mention_query("bella") == []


def test_search_shows_results_and_opens_one_in_context(demo_store: Store) -> None:
    alice = app_for(demo_store, "alice")
    cid = case_chat(demo_store)
    target = demo_store.post_message(NewMessage(conversation_id=cid, body="Wrzeciona <b>drgają</b>"), author="alice")[0]
    for i in range(80):
        demo_store.post_message(NewMessage(conversation_id=cid, body=f"filler {i}"), author="tom.tech")
    search = alice.history.search
    search.search("wrzeciono")
    assert [r["message_id"] for r in search.results] == [target.id] and search.error == ""
    assert search.results[0]["snippet"] == "<mark>Wrzeciona</mark> &lt;b&gt;drgają&lt;/b&gt;"
    out = sent(alice.messages.stream)
    search.open_result(cid, target.id)
    assert alice.conversation is not None and alice.conversation.id == cid
    ids = [r["id"] for r in alice.messages.stream.window]
    assert target.id in ids and ids[-1] < demo_store.latest_messages(cid, limit=1)[0].id  # a window around it
    assert out[-1]["type"] == "reset" and out[-1]["focus"] == target.id
    search.search("")
    assert "Nothing to search for" in search.error and search.results == []
    search.search('" * NEAR( :')  # FTS syntax is just words: no hit, no error
    assert search.results == [] and search.searched and search.error == ""


def test_search_pages_on(demo_store: Store) -> None:
    alice = app_for(demo_store, "alice")
    cid = case_chat(demo_store)
    for i in range(25):
        demo_store.post_message(NewMessage(conversation_id=cid, body=f"torque value {i}"), author="alice")
    search = alice.history.search
    search.search("torque")
    assert len(search.results) == 20 and search.has_more
    search.search("torque", more=True)
    ids = [r["message_id"] for r in search.results]
    assert len(ids) == 25 and ids == sorted(ids, reverse=True) and not search.has_more
