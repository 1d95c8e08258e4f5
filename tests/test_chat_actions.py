"""Reply, edit, delete and reactions (issue 13, slice A) through the service, on both backends.

Rules: own messages only (admins delete any message they read), reactions need read and post rights, a reply is to
a message of the same conversation, an over-long edit is refused. Every refusal is typed and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support import World, load_xss_payloads

from conferencing_widgets import ConferencingError, InvalidInput, LimitExceeded, NotFound, PermissionDenied
from conferencing_widgets.chat.emoji import QUICK_REACTIONS, clean_emoji, is_single_emoji
from conferencing_widgets.core import policy
from conferencing_widgets.core.events import MESSAGE_CHANGE_EVENTS
from conferencing_widgets.core.markup import render_markdown
from conferencing_widgets.export import api as export
from conferencing_widgets.transcript import render as transcript
from conferencing_widgets.ui.rows import message_rows, version_rows

PAYLOADS = load_xss_payloads()


def refused(world: World, error: type[ConferencingError], action: Callable[[], Any], match: str | None = None) -> None:
    """``action`` raises exactly ``error`` and leaves every table and the event feed unchanged."""
    before = world.snapshot()
    with pytest.raises(ConferencingError, match=match) as info:
        action()
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value).__name__}: {info.value}"
    assert world.snapshot() == before


# -- reply --------------------------------------------------------------------------------------------------


def test_reply_quotes_a_message_of_the_same_conversation(seeded: World) -> None:
    alice, tom = seeded.service("alice"), seeded.service("tom")
    first = alice.post(seeded.acme_case_chat, "Spindle hums at 8000 rpm\nsecond line")
    reply = tom.post(seeded.acme_case_chat, "Check the bearing", reply_to=first.id)
    assert reply.reply_to_id == first.id
    assert seeded.store.get_message(reply.id).reply_to_id == first.id
    row = message_rows(alice, [reply], {})[0]
    quote = {"id": first.id, "author": "Alice Moreau", "text": "Spindle hums at 8000 rpm", "deleted": False}
    assert row["reply"] == quote
    alice.delete_message(first.id)
    row = message_rows(alice, [reply], {})[0]
    assert row["reply"]["deleted"] and row["reply"]["text"] == "message deleted" and "Spindle" not in str(row)


def test_bad_replies_are_refused(seeded: World) -> None:
    alice, bella = seeded.service("alice"), seeded.service("bella")
    other = bella.post(seeded.borg_case_chat, "Borg's own message")
    mine = alice.post(seeded.acme_direct, "gone soon")
    alice.delete_message(mine.id)
    for target in (other.id, 10**30, -1, "abc", 1.5, True, mine.id):
        refused(seeded, InvalidInput, lambda t=target: alice.post(seeded.acme_direct, "re", reply_to=t))


# -- edit ---------------------------------------------------------------------------------------------------


def test_edit_keeps_versions_for_readers_and_marks_edited(seeded: World) -> None:
    alice, erik, bella = seeded.service("alice"), seeded.service("erik"), seeded.service("bella")
    m = alice.post(seeded.acme_case_chat, "first text")
    after = seeded.store.last_event_id()
    edited = alice.edit_message(m.id, "second text")
    edited = alice.edit_message(m.id, "third text")
    assert edited.body == "third text" and edited.edited_at is not None
    assert [v.body for v in alice.message_versions(m.id)] == ["first text", "second text"]
    # Engineers read every case chat, so they may see the history too; another company may not.
    assert [v.body for v in erik.message_versions(m.id)] == ["first text", "second text"]
    refused(seeded, NotFound, lambda: bella.message_versions(m.id))
    events = [e for e in seeded.store.changes(after=after) if e.kind == "message_edited"]
    assert [(e.conversation_id, e.ref_id) for e in events] == [(seeded.acme_case_chat, m.id)] * 2
    assert message_rows(alice, [edited], {})[0]["edited"] is True
    # The same text again is no edit.
    before = seeded.snapshot()
    alice.edit_message(m.id, "third text")
    assert seeded.snapshot() == before


def test_bad_edits_are_refused(seeded: World) -> None:
    alice, adam, erik, bella = (seeded.service(x) for x in ("alice", "adam", "erik", "bella"))
    m = alice.post(seeded.acme_case_chat, "mine")
    refused(seeded, PermissionDenied, lambda: adam.edit_message(m.id, "hijacked"), match="your own")
    refused(seeded, PermissionDenied, lambda: erik.edit_message(m.id, "hijacked"))
    refused(seeded, NotFound, lambda: bella.edit_message(m.id, "hijacked"))
    refused(seeded, NotFound, lambda: alice.edit_message(10**30, "x"))
    refused(seeded, NotFound, lambda: alice.edit_message("1; DROP TABLE messages", "x"))  # type: ignore[arg-type]
    refused(seeded, LimitExceeded, lambda: alice.edit_message(m.id, "x" * 20_001))
    refused(seeded, InvalidInput, lambda: alice.edit_message(m.id, "  \n "))
    refused(seeded, InvalidInput, lambda: alice.edit_message(m.id, None))  # type: ignore[arg-type]
    alice.delete_message(m.id)
    refused(seeded, InvalidInput, lambda: alice.edit_message(m.id, "back"), match="deleted")


def test_not_found_says_the_same_for_missing_and_unreadable(seeded: World) -> None:
    bella = seeded.service("bella")
    hidden = seeded.service("alice").post(seeded.acme_direct, "private")
    words = []
    for mid in (hidden.id, hidden.id + 1000):
        with pytest.raises(NotFound) as info:
            bella.edit_message(mid, "x")
        words.append(str(info.value).replace(str(mid), "N"))
    assert words[0] == words[1]


# -- delete -------------------------------------------------------------------------------------------------


def test_delete_leaves_a_tombstone_without_text_versions_or_reactions(seeded: World) -> None:
    alice, adam = seeded.service("alice"), seeded.service("adam")
    m = alice.post(seeded.acme_direct, "secret typo")
    alice.edit_message(m.id, "secret fixed")
    adam.react(m.id, "👍")
    after = seeded.store.last_event_id()
    gone = alice.delete_message(m.id)
    assert gone.deleted and gone.body == "" and gone.author == "alice" and gone.created_at == m.created_at
    assert seeded.store.message_versions(m.id) == [] and seeded.store.reactions_of(seeded.acme_direct, [m.id]) == {}
    assert [e.kind for e in seeded.store.changes(after=after)] == ["message_deleted"]
    row = message_rows(adam, [gone], {})[0]
    assert row["deleted"] and row["reactions"] == [] and row["actions"] == [] and "secret" not in str(row)
    assert "message deleted" in row["html"]
    # Deleting again is a no-op.
    before = seeded.snapshot()
    alice.delete_message(m.id)
    assert seeded.snapshot() == before
    # Nothing of the text in exports and transcripts.
    frames = export.frames(seeded.store, service=alice)
    assert "secret" not in frames["messages"]["body"].str.cat()
    for fmt in ("md", "html"):
        assert "secret" not in transcript.for_service(alice, seeded.acme_direct, fmt=fmt)


def test_only_the_author_deletes_except_admins_who_read_the_chat(seeded: World) -> None:
    alice, adam, erik, ada, bella = (seeded.service(x) for x in ("alice", "adam", "erik", "ada", "bella"))
    in_case = alice.post(seeded.acme_case_chat, "case message")
    in_direct = alice.post(seeded.acme_direct, "direct message")
    refused(seeded, PermissionDenied, lambda: adam.delete_message(in_case.id))
    refused(seeded, PermissionDenied, lambda: erik.delete_message(in_case.id))  # engineers read, not moderate
    refused(seeded, NotFound, lambda: bella.delete_message(in_case.id))
    refused(seeded, NotFound, lambda: ada.delete_message(in_direct.id))  # an admin cannot read this direct chat
    assert ada.delete_message(in_case.id).deleted  # moderation, although ada is no member
    event = seeded.store.changes(after=0)[-1]
    assert event.kind == "message_deleted" and event.payload == {"by": "ada"}


# -- reactions ----------------------------------------------------------------------------------------------


def test_reactions_toggle_and_say_who(seeded: World) -> None:
    alice, adam, tom = seeded.service("alice"), seeded.service("adam"), seeded.service("tom")
    m = alice.post(seeded.acme_case_chat, "fixed it")
    assert tom.react(m.id, "👍") and adam.react(m.id, "👍") and alice.react(m.id, "🎉")
    assert alice.react(m.id, " 🇵🇱 ")  # typed in, with spaces around
    chips = message_rows(alice, [m], {})[0]["reactions"]
    assert chips == [
        {"emoji": "👍", "count": 2, "who": "Tom Becker, Adam Fischer", "mine": False},
        {"emoji": "🎉", "count": 1, "who": "Alice Moreau", "mine": True},
        {"emoji": "🇵🇱", "count": 1, "who": "Alice Moreau", "mine": True},
    ]
    assert not tom.react(m.id, "👍")  # a second click takes it back
    assert [r.logins for r in alice.reactions(seeded.acme_case_chat, [m.id])[m.id]][0] == ("adam",)
    kinds = [e.kind for e in seeded.store.changes(after=0) if e.ref_id == m.id and e.kind != "message"]
    assert kinds == ["reactions_changed"] * 5


def test_bad_reactions_are_refused(seeded: World) -> None:
    alice, erik, bella = seeded.service("alice"), seeded.service("erik"), seeded.service("bella")
    m = alice.post(seeded.acme_case_chat, "react to me")
    refused(seeded, NotFound, lambda: bella.react(m.id, "👍"))  # cannot read the conversation
    refused(seeded, PermissionDenied, lambda: erik.react(m.id, "👍"))  # reads, but may not post
    for bad in ("", " ", "ok", "👍👍", "<b>👍</b>", "👍 ok", "\u200d", "1", "a" * 10_000, None, 5, "\x00"):
        refused(seeded, InvalidInput, lambda b=bad: alice.react(m.id, b))  # type: ignore[arg-type]
    alice.delete_message(m.id)
    refused(seeded, InvalidInput, lambda: alice.react(m.id, "👍"), match="deleted")


def test_emoji_validation() -> None:
    for ok in (*QUICK_REACTIONS, "👨‍👩‍👧‍👦", "🇵🇱", "1️⃣", "👍🏽", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "❤"):
        assert is_single_emoji(ok), ok
    for bad in ("a", "👍👍", "🇵", "👍\u200d", "", "<", "&#128077;", ":+1:"):
        assert not is_single_emoji(bad), bad


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xss_catalogue_never_becomes_a_reaction(payload: str) -> None:
    with pytest.raises(InvalidInput):
        clean_emoji(payload)


def test_xss_catalogue_through_edits_and_reply_quotes(seeded: World) -> None:
    """Edited bodies render through the same sanitiser; quotes are plain text (set with textContent)."""
    from test_markup import assert_safe_html

    alice, adam = seeded.service("alice"), seeded.service("adam")
    original = alice.post(seeded.acme_direct, "to be edited")
    reply = adam.post(seeded.acme_direct, "re", reply_to=original.id)
    refused = 0
    for payload in PAYLOADS:
        if not payload.strip():
            continue
        try:
            edited = alice.edit_message(original.id, payload)
        except InvalidInput as exc:  # "@keyframes" and the like read as a mention of a non-member: refused
            assert "not a member" in str(exc)
            refused += 1
            continue
        rows = message_rows(adam, [edited, reply], {})
        assert rows[0]["html"] == render_markdown(edited.body)
        assert_safe_html(rows[0]["html"])
        assert_safe_html(version_rows(alice.message_versions(original.id)[-1:])[0]["html"])
        # The quote follows the edit, as plain text of the first line (the stream sets it with textContent).
        assert rows[1]["reply"]["id"] == original.id and not rows[1]["reply"]["deleted"]
        assert "\n" not in rows[1]["reply"]["text"]
    assert refused <= len(PAYLOADS) // 10, "only payloads that look like mentions are refused"


# -- live, actions, window, export, transcript --------------------------------------------------------------


def test_change_events_reach_exactly_the_readers(seeded: World) -> None:
    alice, adam = seeded.service("alice"), seeded.service("adam")
    m = alice.post(seeded.acme_case_chat, "hello")
    after = seeded.store.last_event_id()
    alice.edit_message(m.id, "hello again")
    adam.react(m.id, "👀")
    alice.delete_message(m.id)
    events = seeded.store.changes(after=after)
    assert {e.kind for e in events} == MESSAGE_CHANGE_EVENTS
    for login, sees in {"adam": True, "tom": True, "erik": True, "bella": False, "tina": False}.items():
        assert len(seeded.service(login).visible(events)) == (3 if sees else 0), login
    scope_events, _pos = seeded.store.changes_for(policy.read_scope(seeded.store.get_user("bella")), after=after)
    assert scope_events == []


def test_actions_are_computed_per_viewer(seeded: World) -> None:
    alice, erik, ada = seeded.service("alice"), seeded.service("erik"), seeded.service("ada")
    m = alice.post(seeded.acme_case_chat, "hi")
    assert alice.message_actions(seeded.acme_case_chat, [m]) == {m.id: ("reply", "edit", "delete", "react")}
    assert seeded.service("adam").message_actions(seeded.acme_case_chat, [m]) == {m.id: ("reply", "react")}
    assert erik.message_actions(seeded.acme_case_chat, [m]) == {m.id: ()}
    assert ada.message_actions(seeded.acme_case_chat, [m]) == {m.id: ("delete",)}


def test_messages_around_an_older_message(seeded: World) -> None:
    alice = seeded.service("alice", page_size=10)
    ids = [alice.post(seeded.acme_direct, f"m{i}").id for i in range(40)]
    around = alice.messages_around(ids[5])
    assert [m.id for m in around] == ids[0:11]
    assert [m.id for m in alice.messages_around(ids[20], before=3, after=2)] == ids[17:23]
    with pytest.raises(NotFound):
        seeded.service("bella").messages_around(ids[5])
    assert seeded.store.messages_around(seeded.borg_case_chat, ids[5]) == []


def test_export_and_transcript_show_replies_edits_and_reactions(seeded: World) -> None:
    alice, tom = seeded.service("alice"), seeded.service("tom")
    first = alice.post(seeded.acme_case_chat, "Spindle hums")
    reply = tom.post(seeded.acme_case_chat, "Which speed?", reply_to=first.id)
    alice.edit_message(first.id, "Spindle hums at 8000 rpm")
    tom.react(first.id, "👍")
    alice.react(first.id, "👍")
    msgs = export.frames(seeded.store, service=alice)["messages"].set_index("id")
    assert msgs.loc[reply.id, "reply_to_id"] == first.id
    assert bool(msgs.loc[first.id, "edited"]) and not bool(msgs.loc[reply.id, "edited"])
    assert msgs.loc[first.id, "body"] == "Spindle hums at 8000 rpm"
    assert sorted(msgs.loc[first.id, "reactions"].split(" ")) == ["👍:alice", "👍:tom"]
    assert msgs.loc[reply.id, "reactions"] == ""
    md = transcript.for_service(alice, seeded.acme_case_chat, fmt="md")
    assert "*In reply to Alice Moreau (alice): Spindle hums at 8000 rpm*" in md
    assert "Reactions: 👍 2 (Tom Becker (tom), Alice Moreau (alice))" in md and "*edited*" in md
    html = transcript.for_service(alice, seeded.acme_case_chat, fmt="html")
    assert "In reply to Alice Moreau (alice): Spindle hums at 8000 rpm" in html and "👍 2" in html
