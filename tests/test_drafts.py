"""Drafts (issue 13, slice C): kept per (user, conversation) on the server, for posters only, cleared on send.

Service rules on both backends, then the Messages area without a browser (the composer's messages).
"""

from __future__ import annotations

import pytest
from support import World, load_xss_payloads

from conferencing_widgets.core.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from conferencing_widgets.session import Session
from conferencing_widgets.ui import ConferencingApp


def session(world: World, login: str, **settings: object) -> Session:
    return Session.of_service(world.service(login, **settings))


def test_a_draft_is_per_user_and_conversation_and_follows_to_another_session(seeded: World) -> None:
    chat, direct = seeded.acme_case_chat, seeded.acme_direct
    alice = session(seeded, "alice")
    assert alice.drafts.get(chat) == ""
    assert alice.drafts.save(chat, "half a thought") == "half a thought"
    alice.drafts.save(direct, "for the team")
    other_device = session(seeded, "alice")
    assert other_device.drafts.get(chat) == "half a thought"
    assert other_device.drafts.get(direct) == "for the team"
    assert session(seeded, "adam").drafts.get(chat) == "", "drafts are private to their author"
    alice.drafts.save(chat, "changed my mind")
    assert other_device.drafts.get(chat) == "changed my mind"
    alice.drafts.save(chat, "   \n")
    assert other_device.drafts.get(chat) == "", "a blank box keeps no draft"
    assert seeded.snapshot()["drafts"] == 1


def test_posting_clears_the_authors_draft_only(seeded: World) -> None:
    chat = seeded.acme_case_chat
    alice, adam = session(seeded, "alice"), session(seeded, "adam")
    alice.drafts.save(chat, "almost done")
    adam.drafts.save(chat, "adam's own")
    alice.chat.post(chat, "done")
    assert alice.drafts.get(chat) == ""
    assert adam.drafts.get(chat) == "adam's own"
    adam.drafts.clear(chat)
    assert adam.drafts.get(chat) == ""


def test_only_people_who_may_post_keep_drafts_and_nothing_leaks(seeded: World) -> None:
    chat = seeded.acme_case_chat
    session(seeded, "alice").drafts.save(chat, "secret plan")
    before = seeded.snapshot()
    with pytest.raises(NotFound):
        session(seeded, "bella").drafts.save(chat, "probe")  # another company: not even that it exists
    with pytest.raises(NotFound):
        session(seeded, "bella").drafts.get(chat)
    with pytest.raises(PermissionDenied):
        session(seeded, "erik").drafts.save(chat, "reads, may not post")
    with pytest.raises(PermissionDenied):
        session(seeded, "dora").drafts.save(seeded.acme_direct, "disabled account")
    for bad in (0, -1, 2**63, "1; DROP TABLE drafts", None, True):
        with pytest.raises(NotFound):
            session(seeded, "alice").drafts.save(bad, "x")  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            session(seeded, "alice").drafts.clear(bad)  # type: ignore[arg-type]
    assert seeded.snapshot() == before


def test_drafts_are_bounded_and_hostile_text_stays_text(seeded: World) -> None:
    chat = seeded.acme_case_chat
    alice = session(seeded, "alice", max_message_chars=100)
    before = seeded.snapshot()
    with pytest.raises(LimitExceeded, match="limit is 100"):
        alice.drafts.save(chat, "x" * 101)
    with pytest.raises(InvalidInput):
        alice.drafts.save(chat, b"bytes")  # type: ignore[arg-type]
    assert seeded.snapshot() == before
    assert alice.drafts.save(chat, "x" * 100) == "x" * 100
    roomy = session(seeded, "alice")
    for payload in load_xss_payloads():
        assert roomy.drafts.save(chat, payload) == payload.replace("\x00", "")
        assert roomy.drafts.get(chat) == payload.replace("\x00", "") or not payload.replace("\x00", "").strip()


def test_the_messages_area_saves_restores_and_clears_drafts(seeded: World) -> None:
    chat, direct = seeded.acme_case_chat, seeded.acme_direct
    app = ConferencingApp(seeded.service("alice"), live=False)
    composer = app.messages.composer
    app.open_conversation(chat)
    assert composer.draft_key == chat and composer.value == ""
    # The browser sends the text under the conversation it was typed in, even after the switch arrived.
    composer._on_custom(composer, {"type": "draft", "key": chat, "text": "<img src=x onerror=alert(1)> half"}, [])
    app.open_conversation(direct)
    assert composer.draft_key == direct and composer.value == ""
    composer._on_custom(composer, {"type": "draft", "key": direct, "text": "team note"}, [])
    # A reload (a new page for the same user) restores the draft of the conversation it opens.
    again = ConferencingApp(seeded.service("alice"), live=False)
    again.open_conversation(chat)
    assert again.messages.composer.value == "<img src=x onerror=alert(1)> half"
    again.open_conversation(direct)
    assert again.messages.composer.value == "team note"
    assert again.messages.send("team note, sent")
    assert session(seeded, "alice").drafts.get(direct) == ""
    # A draft message for a conversation the user may not post in is dropped without an error or a row.
    before = seeded.snapshot()
    composer._on_custom(composer, {"type": "draft", "key": seeded.borg_case_chat, "text": "probe"}, [])
    composer._on_custom(composer, {"type": "draft", "key": "1", "text": "wrong type"}, [])
    assert seeded.snapshot() == before
    # Read-only viewers get no draft box content.
    erik = ConferencingApp(seeded.service("erik"), live=False)
    erik.open_conversation(chat)
    assert erik.messages.composer.value == "" and erik.messages.composer.disabled
