"""The composer's "Internal note" toggle and the ``note`` rows, without a browser (the browser test is
``tests/browser/test_internal_notes.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conferencing_widgets import MessageKind, Service, Settings, Store
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.ui import ConferencingApp

pytestmark = pytest.mark.filterwarnings("ignore:Widget.widgets is deprecated")


@pytest.fixture()
def demo_store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'ui.db'}")
    seed_demo(store)
    yield store
    store.close()


def app_for(store: Store, login: str) -> ConferencingApp:
    return ConferencingApp(Service(store, login, Settings()), live=False)


def chat_titled(store: Store, title: str) -> int:
    scope = ReadScope(login="ada.admin", all_case_chats=True, notes=True)
    return next(s.conversation.id for s in store.inbox(scope, limit=500) if s.conversation.title == title)


def test_toggle_makes_the_next_message_a_note_for_staff_only(demo_store: Store) -> None:
    chat = chat_titled(demo_store, "Spindle vibration")
    tom, alice = app_for(demo_store, "tom.tech"), app_for(demo_store, "alice")
    tom.open_conversation(chat)
    alice.open_conversation(chat)
    toggle = tom.messages.note_toggle
    assert toggle.layout.display == "" and "cw-note-toggle" in toggle._dom_classes
    assert alice.messages.note_toggle.layout.display == "none", "customers are never offered notes"
    toggle.value = True
    assert tom.messages.send("Old firmware, check before promising anything.")
    note = tom.messages.stream.window[-1]
    assert note["kind"] == MessageKind.NOTE.value
    assert toggle.value is False, "only the next message is a note"
    assert tom.messages.send("We will call you at 10:00.")
    assert tom.messages.stream.window[-1]["kind"] == MessageKind.TEXT.value
    alice.messages.catch_up()
    texts = " ".join(r["html"] for r in alice.messages.stream.window)
    assert "We will call you" in texts and "Old firmware" not in texts
    assert all(r["kind"] != MessageKind.NOTE.value for r in alice.messages.stream.window)
    # Replying to a note switches the toggle on: the reply quotes the note, so it must be one too.
    tom.messages.stream.message_action("reply", note["id"])
    assert toggle.value is True
    assert tom.messages.send("Agreed.")
    assert tom.messages.stream.window[-1]["kind"] == MessageKind.NOTE.value


def test_no_toggle_in_a_direct_chat(demo_store: Store) -> None:
    tom = app_for(demo_store, "tom.tech")
    direct = next(s.conversation.id for s in tom.service.history(kind="direct"))
    tom.open_conversation(direct)
    assert tom.messages.note_toggle.layout.display == "none"
