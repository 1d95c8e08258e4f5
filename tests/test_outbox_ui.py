"""The outbox and honest reconnects, Python side (issue 16): what the kernel does with the browser's outbox.

Without a browser: the composer's custom messages stand for the browser (``tests/browser/test_outbox.py`` drives
the real page). The browser keeps the entries; Python posts each once per client id and answers with
``outbox_result``; the service checks the rights as for any post.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from support import World

from conferencing_widgets.core.i18n import set_language
from conferencing_widgets.core.identity import make_token
from conferencing_widgets.store import Store
from conferencing_widgets.ui import ConferencingApp
from conferencing_widgets.ui.connection import ConnectionBanner
from conferencing_widgets.ui.messages import outbox_scope
from conferencing_widgets.voila.dashboard import CONVERSATION_PARAM, conferencing_dashboard


def sent_to_browser(widget: Any) -> list[dict[str, Any]]:
    """Record the custom messages a widget sends to its view."""
    out: list[dict[str, Any]] = []
    widget.send = lambda content, buffers=None: out.append(content)
    return out


def outbox_message(composer: Any, conversation_id: Any, text: Any, client_id: Any, **extra: Any) -> None:
    content = {"type": "outbox", "conversation_id": conversation_id, "text": text, "client_id": client_id, **extra}
    composer._on_custom(composer, content, [])


def bodies(world: World, conversation_id: int, text: str) -> int:
    return sum(m.body == text for m in world.service("alice").messages(conversation_id))


def test_an_outbox_entry_is_posted_once_per_client_id_and_acknowledged(seeded: World) -> None:
    set_language("en")
    app = ConferencingApp(seeded.service("alice"), live=False)
    app.open_conversation(seeded.acme_case_chat)
    composer = app.messages.composer
    answers = sent_to_browser(composer)
    stream = sent_to_browser(app.messages.stream)
    outbox_message(composer, seeded.acme_case_chat, "Typed in the basement", "c1")
    assert answers == [{"type": "outbox_result", "client_id": "c1", "ok": True, "error": ""}]
    assert [r["html"] for m in stream if m["type"] == "append" for r in m["rows"]][-1].count("Typed in the basement")
    # Resent after a lost answer or a reload: still one message, acknowledged again so the browser forgets it.
    outbox_message(composer, seeded.acme_case_chat, "Typed in the basement", "c1")
    assert answers[-1]["ok"] is True
    assert bodies(seeded, seeded.acme_case_chat, "Typed in the basement") == 1


def test_an_entry_for_another_of_my_conversations_is_posted_there(seeded: World) -> None:
    app = ConferencingApp(seeded.service("alice"), live=False)
    app.open_conversation(seeded.acme_case_chat)
    answers = sent_to_browser(app.messages.composer)
    outbox_message(app.messages.composer, seeded.acme_direct, "For the direct chat", "c2")
    assert answers[-1]["ok"] is True
    assert bodies(seeded, seeded.acme_direct, "For the direct chat") == 1
    assert all("For the direct chat" not in r["html"] for r in app.messages.stream.window)


def test_a_refused_entry_reports_its_error_and_writes_nothing(seeded: World) -> None:
    set_language("en")
    app = ConferencingApp(seeded.service("alice"), live=False)
    composer = app.messages.composer
    answers = sent_to_browser(composer)
    before = seeded.snapshot()
    # Not her conversation (a stale or tampered outbox), an empty text, a bad client id.
    outbox_message(composer, seeded.borg_case_chat, "Not yours", "c3")
    outbox_message(composer, seeded.acme_case_chat, "   ", "c4")
    outbox_message(composer, seeded.acme_case_chat, "Hello", "x" * 65)
    assert [a["ok"] for a in answers] == [False, False, False]
    assert all(a["error"] for a in answers)
    assert seeded.snapshot() == before
    # Malformed messages are ignored, not answered.
    outbox_message(composer, "1", "text", "c5")
    outbox_message(composer, True, "text", "c5")
    outbox_message(composer, seeded.acme_case_chat, None, "c5")
    assert len(answers) == 3


def test_a_note_kept_offline_stays_a_note_and_never_reaches_the_customer(seeded: World) -> None:
    app = ConferencingApp(seeded.service("tom"), live=False)
    app.open_conversation(seeded.acme_case_chat)
    answers = sent_to_browser(app.messages.composer)
    outbox_message(app.messages.composer, seeded.acme_case_chat, "Bearing worn, quote a new one", "n1", note=True)
    outbox_message(app.messages.composer, seeded.acme_case_chat, "Bearing worn, quote a new one", "n1", note=True)
    assert [a["ok"] for a in answers] == [True, True]
    staff = [m for m in seeded.service("tom").messages(seeded.acme_case_chat) if "Bearing" in m.body]
    assert [m.kind.value for m in staff] == ["note"]
    assert all("Bearing" not in m.body for m in seeded.service("alice").messages(seeded.acme_case_chat))


def test_a_customer_cannot_smuggle_a_note_through_the_outbox(seeded: World) -> None:
    app = ConferencingApp(seeded.service("alice"), live=False)
    answers = sent_to_browser(app.messages.composer)
    before = seeded.snapshot()
    outbox_message(app.messages.composer, seeded.acme_case_chat, "Staff only?", "n2", note=True)
    assert answers[-1]["ok"] is False and answers[-1]["error"]
    assert seeded.snapshot() == before


def test_a_reply_kept_offline_is_posted_once_as_a_reply(seeded: World) -> None:
    first = seeded.service("alice").messages(seeded.acme_case_chat)[0]
    app = ConferencingApp(seeded.service("tom"), live=False)
    answers = sent_to_browser(app.messages.composer)
    for _ in range(2):
        outbox_message(app.messages.composer, seeded.acme_case_chat, "Since when?", "r1", reply_to=first.id)
    replies = [m for m in seeded.service("alice").messages(seeded.acme_case_chat) if m.body == "Since when?"]
    assert [m.reply_to_id for m in replies] == [first.id] and [a["ok"] for a in answers] == [True, True]
    # A reply to a message of another conversation (a tampered entry) is refused and writes nothing.
    elsewhere = seeded.service("tom").post(seeded.vendor_direct, "Van at the depot")
    before = seeded.snapshot()
    outbox_message(app.messages.composer, seeded.acme_case_chat, "Elsewhere", "r2", reply_to=elsewhere.id)
    assert answers[-1]["ok"] is False and seeded.snapshot() == before


def test_an_edit_kept_offline_is_saved_once_and_only_on_ones_own_message(seeded: World) -> None:
    mine = seeded.service("alice").post(seeded.acme_case_chat, "Vibration at 6000 rpm")
    theirs = seeded.service("alice").messages(seeded.acme_case_chat)[1]  # Tom's question
    app = ConferencingApp(seeded.service("alice"), live=False)
    app.open_conversation(seeded.acme_case_chat)
    answers = sent_to_browser(app.messages.composer)
    for _ in range(2):  # resent after a lost answer: one new version, not two
        outbox_message(app.messages.composer, seeded.acme_case_chat, "Vibration at 6500 rpm", "e1", edit_of=mine.id)
    assert [a["ok"] for a in answers] == [True, True]
    assert [v.body for v in seeded.service("alice").message_versions(mine.id)] == ["Vibration at 6000 rpm"]
    assert any("6500 rpm" in r["html"] for r in app.messages.stream.window)
    before = seeded.snapshot()
    outbox_message(app.messages.composer, seeded.acme_case_chat, "Hijacked", "e2", edit_of=theirs.id)
    assert answers[-1]["ok"] is False and "own" in answers[-1]["error"] and seeded.snapshot() == before
    # Ids of the wrong type are dropped: the entry is then a plain new message.
    outbox_message(app.messages.composer, seeded.acme_case_chat, "Typed id", "e3", edit_of=True, reply_to="1")
    assert answers[-1]["ok"] is True and bodies(seeded, seeded.acme_case_chat, "Typed id") == 1


def test_send_answers_carry_the_client_id(seeded: World) -> None:
    app = ConferencingApp(seeded.service("alice"), live=False)
    app.open_conversation(seeded.acme_case_chat)
    answers = sent_to_browser(app.messages.composer)
    app.messages.composer._on_custom(app.messages.composer, {"type": "send", "text": "hi", "client_id": "k1"}, [])
    app.messages.composer._on_custom(app.messages.composer, {"type": "send", "text": " ", "client_id": "k2"}, [])
    assert [(a["type"], a["client_id"]) for a in answers] == [("sent", "k1"), ("failed", "k2")]


def test_outbox_scope_is_per_user_and_names_no_one(seeded: World) -> None:
    alice = ConferencingApp(seeded.service("alice"), live=False)
    adam = ConferencingApp(seeded.service("adam"), live=False)
    assert alice.messages.composer.outbox_scope == outbox_scope("alice")
    assert outbox_scope("alice") != outbox_scope("adam") == adam.messages.composer.outbox_scope
    assert "alice" not in outbox_scope("alice") and len(outbox_scope("alice")) == 24


def test_the_app_keeps_the_open_conversation_for_the_url(seeded: World) -> None:
    app = ConferencingApp(seeded.service("alice"), live=False)
    assert isinstance(app.connection, ConnectionBanner) and app.connection.url_param == ""
    assert app.connection.strings["Reconnecting…"] == "Reconnecting…"
    app.open_conversation(seeded.acme_direct)
    assert app.connection.conversation_id == seeded.acme_direct
    app.open_conversation(seeded.borg_case_chat)  # refused: the URL keeps the open one
    assert app.connection.conversation_id == seeded.acme_direct


def test_polish_words_of_the_banner(seeded: World) -> None:
    set_language("pl")
    try:
        banner = ConnectionBanner()
        assert banner.strings["Reconnecting…"] == "Ponowne łączenie…"
        assert banner.strings["Reload"] == "Wczytaj ponownie"
        app = ConferencingApp(seeded.service("alice"), live=False)
        strings = app.messages.composer.strings
        assert strings["Sending…"] == "Wysyłanie…" and strings["Retry"] == "Ponów" and strings["Discard"] == "Odrzuć"
    finally:
        set_language("en")


@pytest.fixture()
def dashboard_env(seeded: World, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("CONFERENCING_STORE", seeded.store.url)
    monkeypatch.setenv("CONFERENCING_SECRET", "s3cret")
    return seeded.store


def test_the_dashboard_opens_the_conversation_of_its_url(seeded: World, dashboard_env: Store) -> None:
    token = make_token("alice", "s3cret", timedelta(hours=1))
    app = conferencing_dashboard(f"token={token}&{CONVERSATION_PARAM}={seeded.acme_direct}")
    assert isinstance(app, ConferencingApp)
    assert app.connection.url_param == CONVERSATION_PARAM
    assert app.conversation is not None and app.conversation.id == seeded.acme_direct
    app.close()
    # Rights are still the service's: someone else's conversation in the URL opens nothing and shows no data.
    other = conferencing_dashboard(f"token={token}&{CONVERSATION_PARAM}={seeded.borg_case_chat}")
    assert isinstance(other, ConferencingApp) and other.conversation is None
    assert other.messages.stream.window == [] and other.messages.error.value
    other.close()
    for junk in ("abc", "-1", ""):
        page = conferencing_dashboard(f"token={token}&{CONVERSATION_PARAM}={junk}")
        assert isinstance(page, ConferencingApp) and page.conversation is None
        page.close()
