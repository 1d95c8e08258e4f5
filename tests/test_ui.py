"""Widget tests without a browser: drive each area through its methods (create, send, open, load older)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conferencing_widgets import ConversationKind, Service, Settings, Store
from conferencing_widgets.core.model import NewMessage
from conferencing_widgets.core.policy import ReadScope
from conferencing_widgets.demo import seed_demo
from conferencing_widgets.ui import ConferencingApp
from conferencing_widgets.voila.dashboard import conferencing_dashboard


@pytest.fixture()
def demo_store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'ui.db'}")
    seed_demo(store)
    yield store
    store.close()


def app_for(store: Store, login: str, **settings: object) -> ConferencingApp:
    return ConferencingApp(Service(store, login, Settings(**settings)), live=False)


def case_chat(store: Store, title: str = "Spindle vibration") -> int:
    return next(
        s.conversation.id
        for s in store.inbox(ReadScope(login="ada.admin", all_case_chats=True))
        if s.conversation.title == title
    )


def test_history_sections_and_badges(demo_store: Store) -> None:
    app = app_for(demo_store, "alice")
    direct = [t["title"] for t in app.history.direct.tiles]
    cases = [t["title"] for t in app.history.cases.tiles]
    assert direct == ["ACME maintenance team"]
    assert "Spindle vibration" in cases and "Coolant pressure" not in cases  # Borg's case is not Alice's
    spindle = next(t for t in app.history.cases.tiles if t["title"] == "Spindle vibration")
    assert spindle["case"].startswith("SR-2026-00042")
    assert spindle["unread"] == 1  # Tom's last message came after Alice's
    assert spindle["last_author"] == "Tom Becker"


def test_open_marks_read_and_fills_areas(demo_store: Store) -> None:
    app = app_for(demo_store, "alice")
    cid = case_chat(demo_store)
    app.history.open_conversation(cid)
    assert [r["author"] for r in app.messages.stream.window][:2] == ["Alice Moreau", "Tom Becker"]
    tom_row = next(r for r in app.messages.stream.window if r["author"] == "Tom Becker")
    assert tom_row["group"] == "MachTool Service GmbH"  # the other side's group is named
    assert "SR-2026-00042" in app.details.case.value and "VMC-850" in app.details.case.value
    assert "Tom Becker" in app.details.members.value
    assert app.history.unread_for(cid) == 0
    assert not app.messages.composer.disabled


def test_send_clears_box_and_keeps_text_on_failure(demo_store: Store) -> None:
    app = app_for(demo_store, "alice", max_message_chars=50)
    cid = case_chat(demo_store)
    app.open_conversation(cid)
    app.messages.composer.value = "The log is attached **now**."
    assert app.messages.send() is True
    assert app.messages.composer.value == ""
    last = app.messages.stream.window[-1]
    assert last["mine"] and "<strong>now</strong>" in last["html"]
    assert demo_store.latest_messages(cid, limit=1)[0].body == "The log is attached **now**."
    too_long = "x" * 51
    assert app.messages.send(too_long) is False
    assert app.messages.composer.value == too_long  # nothing lost
    assert "limit is 50" in app.messages.composer.error
    assert demo_store.latest_messages(cid, limit=1)[0].body == "The log is attached **now**."


def test_same_client_id_posts_once(demo_store: Store) -> None:
    app = app_for(demo_store, "alice")
    cid = case_chat(demo_store)
    app.open_conversation(cid)
    before = demo_store.message_count(cid)
    app.messages.composer.send_text("retry me", "client-123")
    app.messages.composer.send_text("retry me", "client-123")
    assert demo_store.message_count(cid) == before + 1


def test_live_update_between_two_apps(demo_store: Store) -> None:
    alice = app_for(demo_store, "alice")
    tom = app_for(demo_store, "tom.tech")
    cid = case_chat(demo_store)
    alice.open_conversation(cid)
    tom.open_conversation(cid)
    tom.messages.send("Pressure sensor replaced.")
    alice.refresh()
    assert alice.messages.stream.window[-1]["html"].count("Pressure sensor replaced.") == 1
    # A message in another conversation raises that tile's badge instead.
    direct = next(t["id"] for t in alice.history.direct.tiles)
    demo_store.post_message(NewMessage(conversation_id=direct, body="ping"), author="adam")
    alice.refresh()
    assert alice.history.unread_for(direct) == 2


def test_load_older_pages_back(demo_store: Store) -> None:
    app = app_for(demo_store, "alice", page_size=5)
    cid = case_chat(demo_store)
    for i in range(12):
        demo_store.post_message(NewMessage(conversation_id=cid, body=f"m{i}"), author="tom.tech")
    app.open_conversation(cid)
    assert len(app.messages.stream.window) == 5 and app.messages.stream.has_older
    total = len(demo_store.latest_messages(cid, limit=10_000, notes=False))  # a customer sees no internal notes
    for _ in range(total // 5 + 1):  # the demo chat's length changes; page back to its first message
        app.messages.stream.load_older()
    ids = [r["id"] for r in app.messages.stream.window]
    assert ids == sorted(ids) and len(ids) == total
    assert not app.messages.stream.has_older


def test_new_conversation_dialog_offers_only_addable_people(demo_store: Store) -> None:
    alice = app_for(demo_store, "alice")
    adam = app_for(demo_store, "adam")
    dialog = alice.history.dialog
    dialog.show()
    offered = {login for _name, login in dialog.members.options}
    assert offered == {"adam"}  # own company only; no vendor staff, no other customers
    dialog.kind.value = ConversationKind.DIRECT.value
    dialog.title.value = "Night shift"
    dialog.members.value = ("adam",)
    conv = dialog.create()
    assert conv is not None and alice.conversation is not None and alice.conversation.id == conv.id
    adam.refresh()
    assert "Night shift" in [t["title"] for t in adam.history.direct.tiles]


def test_form_fields_send_their_value_when_left_not_per_keystroke(demo_store: Store) -> None:
    # Per-keystroke updates are throttled per model and a button's click overtakes them (CI once created "K");
    # a field sent on blur reaches the kernel before the click of the button that acts on it.
    tom = app_for(demo_store, "tom.tech")
    signoff = tom.cases.signoff
    fields = [tom.history.dialog.title, signoff.summary_input, signoff.name]
    assert [f.continuous_update for f in fields] == [False, False, False]


def test_opening_a_conversation_tells_the_page_however_it_was_opened(demo_store: Store) -> None:
    # Narrow screens switch to the Messages tab on this message: tiles, the dialog, search results and mentions.
    alice = app_for(demo_store, "alice")
    sent: list[object] = []
    alice.accessibility.send = sent.append  # type: ignore[method-assign]
    alice.history.dialog.show()
    alice.history.dialog.kind.value = ConversationKind.DIRECT.value
    alice.history.dialog.title.value = "Tablet shift"
    alice.history.dialog.members.value = ("adam",)
    conv = alice.history.dialog.create()
    assert conv is not None and sent == [{"type": "opened"}]
    cid = case_chat(demo_store)
    alice.open_message(cid, demo_store.latest_messages(cid, limit=1)[0].id)  # a search result or a mention
    assert sent == [{"type": "opened"}] * 2
    alice.open_conversation(10**9)  # not readable: nothing opens, the page is not told
    assert sent == [{"type": "opened"}] * 2


def test_dialog_shows_refusal_and_writes_nothing(demo_store: Store) -> None:
    alice = app_for(demo_store, "alice")
    dialog = alice.history.dialog
    dialog.show()
    dialog.title.value = "   "
    before = demo_store.last_event_id()
    assert dialog.create() is None
    assert "title is empty" in dialog.error.value
    assert demo_store.last_event_id() == before


def test_engineer_reads_case_chat_but_cannot_post(demo_store: Store) -> None:
    erik = app_for(demo_store, "erik.eng")
    cid = case_chat(demo_store)
    assert cid in [t["id"] for t in erik.history.cases.tiles]
    erik.open_conversation(cid)
    assert erik.messages.composer.disabled and erik.messages.video.disabled
    assert erik.messages.send("hello") is False
    assert "not a member" in erik.messages.composer.error


def test_engineer_joins_a_case_chat_to_answer(demo_store: Store) -> None:
    erik, alice = app_for(demo_store, "erik.eng"), app_for(demo_store, "alice")
    cid = case_chat(demo_store)
    erik.open_conversation(cid)
    assert erik.messages.join.layout.display == ""
    erik.messages.join.click()
    assert erik.messages.join.layout.display == "none" and not erik.messages.composer.disabled
    assert erik.messages.send("Engineering here: please send the spindle run-out.") is True
    alice.open_conversation(cid)
    assert alice.messages.stream.window[-1]["author"] == "Erik Lindqvist"
    # A customer never gets the button, and their own chats need no joining.
    assert alice.messages.join.layout.display == "none"


def test_plus_menu_entries_say_when_unavailable(demo_store: Store) -> None:
    app = app_for(demo_store, "alice")
    app.open_conversation(case_chat(demo_store))
    app.messages._plus_handlers.clear()
    app.messages._video_handler = None
    app.messages.plus_action("upload")
    assert "not available" in app.messages.error.value


def test_dashboard_denies_bad_tokens(demo_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFERENCING_STORE", demo_store.url)
    monkeypatch.setenv("CONFERENCING_SECRET", "s3cret")
    for query in ("", "token=", "token=abc", "token=eyJ1IjoiYWxpY2UifQ.forged"):
        page = conferencing_dashboard(query)
        assert "cw-denied" in page._dom_classes
    from datetime import timedelta

    from conferencing_widgets.core.identity import make_token

    ok = conferencing_dashboard("token=" + make_token("alice", "s3cret", timedelta(hours=1)))
    assert "cw-app" in ok._dom_classes
    ok.close()


def test_reading_the_request_does_not_import_voila_into_the_kernel() -> None:
    # voila.utils drags jupyter_server, jupyterlab_server and nbconvert (~45 MB) into every dashboard kernel.
    import subprocess
    import sys

    code = (
        "import sys; from conferencing_widgets.voila.dashboard import request_query_string as r; "
        "print(r(), 'voila.utils' in sys.modules)"
    )
    env = {"PATH": "/usr/bin:/bin", "QUERY_STRING": "token=abc&x=1", "VOILA_PREHEAT": "False"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["token=abc&x=1", "False"]
