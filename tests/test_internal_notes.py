"""Internal notes in case chats (issue 14): vendor staff write them, only vendor staff ever read them.

Every leak path is checked on both backends: the stream and its paging, single-message reads, replies, reactions,
edits and deletions, the feed (topics, the targeted catch-up query and the service filter), search, unread counts
and the history tile, mentions, read receipts, the response clocks, exports and transcripts. A refused note writes
nothing.
"""

from __future__ import annotations

import pytest
from support import World

from conferencing_widgets import InvalidInput, MessageKind, NotFound, PermissionDenied, Service
from conferencing_widgets.cases.store import posts
from conferencing_widgets.chat.receipts import Receipts
from conferencing_widgets.core import policy
from conferencing_widgets.export import api as export
from conferencing_widgets.store import audience
from conferencing_widgets.transcript.render import for_service

SECRET = "Customer is on the old firmware; do not promise a free spindle."


def _note(world: World, text: str = SECRET, login: str = "tom") -> int:
    return world.service(login).post_note(world.acme_case_chat, text).id


def _texts(messages: list) -> list[str]:
    return [m.body for m in messages]


def test_staff_read_a_note_customers_never_do(seeded: World) -> None:
    chat = seeded.acme_case_chat
    alice, tom, erik = seeded.service("alice"), seeded.service("tom"), seeded.service("erik")
    note = tom.post_note(chat, SECRET)
    assert note.kind is MessageKind.NOTE
    public = tom.post(chat, "We will call you at 10:00.")
    for staff in (tom, erik):  # a member technician, and an engineer who reads every case chat
        assert SECRET in _texts(staff.messages(chat))
        assert SECRET in _texts(staff.messages_after(chat, 0))
        assert staff.readable_message(note.id)[0].body == SECRET
    assert SECRET not in _texts(alice.messages(chat))
    assert SECRET not in _texts(alice.messages_after(chat, 0))
    assert public.body in _texts(alice.messages_after(chat, 0))
    assert SECRET not in _texts(alice.messages_around(public.id))
    assert alice.messages_by_id(chat, [note.id, public.id]).keys() == {public.id}
    with pytest.raises(NotFound):
        alice.readable_message(note.id)
    with pytest.raises(NotFound):
        alice.message_versions(note.id)
    extras = alice.message_extras(chat, tom.messages(chat))  # even handed the note, the customer's rows drop it
    assert note.id not in extras.originals and note.id not in extras.actions


def test_a_customer_page_is_full_even_when_notes_sit_between(seeded: World) -> None:
    """Paging filters in SQL: a page is still ``limit`` public messages, notes never take a slot."""
    chat = seeded.acme_case_chat
    tom, alice = seeded.service("tom", posts_per_minute=1000), seeded.service("alice")
    for i in range(6):
        tom.post_note(chat, f"note {i}")
        tom.post(chat, f"public {i}")
    page = alice.messages(chat, limit=4)
    assert _texts(page) == ["public 2", "public 3", "public 4", "public 5"]
    older = alice.messages(chat, limit=4, before_id=page[0].id)
    seeded_texts = ["The spindle vibrates above 6000 rpm.", "Please send the vibration log."]
    assert _texts(older) == [*seeded_texts, "public 0", "public 1"]


def test_who_may_write_a_note_and_nothing_is_written_when_refused(seeded: World) -> None:
    before = seeded.snapshot()
    with pytest.raises(PermissionDenied):  # a customer, by a tampered request
        seeded.service("alice").post(seeded.acme_case_chat, SECRET, kind=MessageKind.NOTE)
    with pytest.raises(PermissionDenied):
        seeded.service("alice").post(seeded.acme_case_chat, SECRET, kind="note")  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):  # a direct chat has no customers to hide a note from
        seeded.service("tom").post_note(seeded.vendor_direct, SECRET)
    with pytest.raises(PermissionDenied):  # an engineer reads the chat but is no member: no post, no note
        seeded.service("erik").post_note(seeded.acme_case_chat, SECRET)
    with pytest.raises(NotFound):  # tina may not even read ACME's case chat
        seeded.service("tina").post_note(seeded.acme_case_chat, SECRET)
    with pytest.raises(InvalidInput):
        seeded.service("tom").post(seeded.acme_case_chat, SECRET, kind="whisper")  # type: ignore[arg-type]
    assert seeded.snapshot() == before
    assert not seeded.service("alice").can_write_note(seeded.acme_case_chat)
    assert seeded.service("tom").can_write_note(seeded.acme_case_chat)
    assert not seeded.service("tom").can_write_note(seeded.vendor_direct)


def test_replies_reactions_edits_on_a_note(seeded: World) -> None:
    chat = seeded.acme_case_chat
    alice, tom = seeded.service("alice"), seeded.service("tom")
    note = _note(seeded)
    before = seeded.snapshot()
    with pytest.raises(InvalidInput):  # a customer cannot quote a note it cannot see
        alice.post(chat, "What note?", reply_to=note)
    with pytest.raises(InvalidInput, match="internal"):  # a public reply would quote the note to the customer
        tom.post(chat, "Agreed", reply_to=note)
    with pytest.raises(NotFound):
        alice.react(note, "👍")
    with pytest.raises(NotFound):
        alice.edit_message(note, "tampered")
    with pytest.raises(NotFound):
        alice.delete_message(note)
    assert seeded.snapshot() == before
    reply = tom.post_note(chat, "Agreed, internal.", reply_to=note)
    assert reply.reply_to_id == note
    tom.react(note, "👍")
    tom.edit_message(note, SECRET + " (edited)")
    events = seeded.store.changes(after=before["last_event_id"])
    assert events and all(e.payload.get("internal") is True for e in events), [e.kind for e in events]
    assert alice.visible(events) == []
    assert SECRET not in str(alice.messages(chat))


def test_feed_audience_of_a_note(seeded: World) -> None:
    chat = seeded.acme_case_chat
    store = seeded.store
    start = store.last_event_id()
    note = _note(seeded)
    public = seeded.service("tom").post(chat, "Public answer.")
    topics = audience.event_topics(
        "message", conversation_id=chat, private_to=audience.STAFF_ONLY, payload={}, case_chat=True
    )
    assert topics == {audience.staff_topic(chat), audience.CASES}, "a customer's page is never even woken"
    customer_scope = policy.read_scope(store.get_user("alice"))
    staff_scope = policy.read_scope(store.get_user("tom"))
    assert audience.staff_topic(chat) not in audience.scope_topics(customer_scope, store.member_of("alice"))
    assert audience.staff_topic(chat) in audience.scope_topics(staff_scope, store.member_of("tom"))
    seen, _pos = store.changes_for(customer_scope, after=start)
    assert [e.ref_id for e in seen if e.kind == "message"] == [public.id]
    for login in ("tom", "erik"):  # a member, and an engineer reading every case chat
        seen, _pos = store.changes_for(policy.read_scope(store.get_user(login)), after=start)
        assert note in [e.ref_id for e in seen if e.kind == "message"], login
    # Defence in depth: even handed the raw events, the customer's service drops the note's.
    raw = store.changes(after=start)
    assert [e.ref_id for e in seeded.service("alice").visible(raw) if e.kind == "message"] == [public.id]


def test_unread_tile_and_receipts_skip_notes_for_customers(seeded: World) -> None:
    chat = seeded.acme_case_chat
    alice, tom, adam = seeded.service("alice"), seeded.service("tom"), seeded.service("adam")
    alice.mark_read(chat)
    tile_before = {s.conversation.id: s for s in alice.history()}[chat]
    _note(seeded)
    assert alice.unread(chat) == 0
    tile = {s.conversation.id: s for s in alice.history()}[chat]
    assert tile.unread == 0 and tile.last_message is not None and SECRET not in tile.last_message.body
    assert tile.last_activity_at == tile_before.last_activity_at, "a note does not move the customer's tile"
    assert alice.summary(chat).unread == 0 and SECRET not in str(alice.summary(chat))
    # Staff count it (the author has read it by writing it) and a staff "mark all read" covers it.
    erik = seeded.service("erik")
    assert erik.unread(chat) >= 1
    erik.mark_read(chat)
    assert erik.unread(chat) == 0
    # "Seen by" names the latest public message, never the note.
    seen = Receipts(alice).seen_by(chat)
    assert seen.message_id == tile.last_message.id
    adam.mark_read(chat)
    assert Receipts(tom).seen_by(chat).message_id == tile.last_message.id


def test_mentions_in_a_note_never_notify_a_customer(seeded: World) -> None:
    chat = seeded.acme_case_chat
    tom, alice = seeded.service("tom"), seeded.service("alice")
    seeded.store.add_members(chat, ["erik"])
    note = tom.post_note(chat, "@alice is on old firmware, @erik please check.")
    assert seeded.store.mentions_of([note.id]) == {note.id: ["erik"]}
    assert alice.unread_mentions([chat]).get(chat, 0) == 0
    assert seeded.service("erik").unread_mentions([chat]).get(chat, 0) == 1
    tom.edit_message(note.id, "@alice @erik edited")
    assert seeded.store.mentions_of([note.id]) == {note.id: ["erik"]}


def test_search_finds_notes_for_staff_only(seeded: World) -> None:
    _note(seeded)
    assert seeded.service("alice").search("firmware") == []
    assert [h["message_id"] for h in seeded.service("tom").search("firmware")]
    assert [h["message_id"] for h in seeded.service("erik").search("firmware")]


def test_response_clocks_ignore_notes(seeded: World) -> None:
    case_id = seeded.acme_case.id
    before = posts(seeded.store, [case_id])[case_id]
    _note(seeded)
    assert posts(seeded.store, [case_id])[case_id] == before, "a note is no answer to the customer"


def test_exports_and_transcripts(seeded: World) -> None:
    store = seeded.store
    note = _note(seeded)
    customer = export.frames(service=Service(store, "alice"), only=["messages"])["messages"]
    assert note not in set(customer["id"]) and not customer["internal"].any()
    assert SECRET not in " ".join(customer["body"])
    staff = export.frames(service=Service(store, "erik"), only=["messages"])["messages"]
    row = staff[staff["id"] == note]
    assert list(row["internal"]) == [True] and list(row["body"]) == [SECRET]
    handed_on = export.frames(service=Service(store, "erik"), only=["messages"], notes=False)["messages"]
    assert note not in set(handed_on["id"])
    everything = export.frames(store, only=["messages"])["messages"]  # the operator's full export
    assert note in set(everything["id"])
    for fmt in ("md", "html"):
        assert SECRET not in for_service(Service(store, "alice"), "SR-1001", fmt=fmt)
        staff_text = for_service(Service(store, "tom"), "SR-1001", fmt=fmt)
        assert SECRET in staff_text and ("internal note" in staff_text or "Internal" in staff_text)
        assert SECRET not in for_service(Service(store, "tom"), "SR-1001", fmt=fmt, notes=False)
