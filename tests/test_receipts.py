"""Read receipts (issue 13, slice C): "seen by" from the read marks, readers only, with the Zulip-style opt-out.

Live: a page that marks a message read sends an ephemeral ``seen`` signal (no events row, nothing that stays),
and the other pages re-read ``seen_by``. Both backends.
"""

from __future__ import annotations

import pytest
from support import World

from conferencing_widgets.core.errors import NotFound
from conferencing_widgets.session import Session
from conferencing_widgets.ui import ConferencingApp


def session(world: World, login: str) -> Session:
    return Session.of_service(world.service(login))


def test_seen_by_lists_the_others_who_read_the_latest_message(seeded: World) -> None:
    chat = seeded.acme_case_chat  # alice, adam, tom; the latest message is tom's
    alice, adam, tom, erik = (session(seeded, x) for x in ("alice", "adam", "tom", "erik"))
    latest = tom.chat.messages(chat)[-1].id
    assert tom.receipts.seen_by(chat).names == []
    alice.chat.mark_read(chat)
    erik.chat.mark_read(chat)  # an engineer reads every case chat: a reader, so his receipt counts
    seen = tom.receipts.seen_by(chat)
    assert seen.message_id == latest and seen.names == ["Alice Moreau", "Erik Lindqvist"]
    assert alice.receipts.seen_by(chat).names == ["Erik Lindqvist"], "never yourself, never the author"
    assert adam.receipts.seen_by(chat).names == ["Alice Moreau", "Erik Lindqvist"]
    # A new message resets the line until people read it.
    adam.chat.post(chat, "newer")
    assert tom.receipts.seen_by(chat).names == []
    alice.chat.mark_read(chat)
    assert tom.receipts.seen_by(chat).names == ["Alice Moreau"]


def test_turning_receipts_off_sends_none_and_sees_none(seeded: World) -> None:
    chat = seeded.acme_case_chat
    alice, adam, tom = (session(seeded, x) for x in ("alice", "adam", "tom"))
    alice.chat.mark_read(chat)
    adam.chat.mark_read(chat)
    alice.preferences.set("receipts", "off")
    assert tom.receipts.seen_by(chat).names == ["Adam Fischer"], "alice's receipt is no longer shared"
    assert alice.receipts.seen_by(chat).names == [], "and she sees none either"
    latest = tom.chat.messages(chat)[-1].id
    assert not alice.receipts.announce(chat, latest), "no seen signal from an opted-out user"
    assert seeded.store.signals(chat, kind="seen") == []
    alice.preferences.set("receipts", "on")
    assert tom.receipts.seen_by(chat).names == ["Adam Fischer", "Alice Moreau"]


def test_receipts_reach_only_readers_and_never_write_an_event(seeded: World) -> None:
    chat = seeded.acme_case_chat
    alice, bella, tom = (session(seeded, x) for x in ("alice", "bella", "tom"))
    latest = tom.chat.messages(chat)[-1].id
    events = seeded.store.last_event_id()
    assert alice.receipts.announce(chat, latest)
    assert not alice.receipts.announce(chat, latest), "announced once per read mark"
    assert seeded.store.last_event_id() == events, "the seen signal writes no events row"
    with pytest.raises(NotFound):
        bella.receipts.seen_by(chat)  # another company: not even that the conversation exists
    with pytest.raises(NotFound):
        bella.receipts.announce(chat, latest)
    watch = tom.signals.watch()
    try:
        watch.follow(chat)
        assert watch.state().seen == [("alice", latest)]
    finally:
        watch.close()
    # A removed reader's old mark no longer shows: bella's mark in acme's chat (forged in the store) is ignored.
    seeded.store.mark_read("bella", chat, latest)
    assert "Bella Kovac" not in tom.receipts.seen_by(chat).names


def test_the_seen_line_updates_live_under_the_stream(seeded: World) -> None:
    chat = seeded.acme_case_chat
    tom = ConferencingApp(seeded.service("tom"), live=False)
    tom.open_conversation(chat)
    assert tom.messages.status.seen.text == "" and tom.messages.status.seen.css_class == "cw-seen"
    alice = ConferencingApp(seeded.service("alice"), live=False)
    alice.open_conversation(chat)  # marks read and signals "seen"
    tom.messages.signal_follower.refresh()
    assert tom.messages.status.seen.text == "Seen by Alice Moreau"
    assert tom.messages.send("one more")
    assert tom.messages.status.seen.text == "", "nobody has seen the new message yet"
    alice.refresh()  # alice's page gets the message and marks it read
    tom.messages.signal_follower.refresh()
    assert tom.messages.status.seen.text == "Seen by Alice Moreau"
