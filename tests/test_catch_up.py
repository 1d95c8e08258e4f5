"""A live page's catch-up (``Service.new_messages_with_extras``): the new messages and what their rows show, read
with one rights check, on both backends. It must see exactly what ``messages_after`` and ``message_extras`` see."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from support import World

from conferencing_widgets import NotFound, PermissionDenied
from conferencing_widgets.core.model import Message
from conferencing_widgets.ui.rows import message_rows


def test_the_catch_up_sees_what_the_two_reads_see_notes_and_all(seeded: World) -> None:
    chat = seeded.acme_case_chat
    alice, tom, erik = seeded.service("alice"), seeded.service("tom"), seeded.service("erik")
    start = max((m.id for m in tom.messages(chat)), default=0)
    question = alice.post(chat, "The spindle is loud again.")
    note = tom.post_note(chat, "Old firmware: do not promise a free spindle.")
    answer = tom.post(chat, "We will call you at 10:00.", reply_to=question.id)
    tom.react(question.id, "👍")
    for reader in (alice, tom, erik):
        new, extras = reader.new_messages_with_extras(chat, start)
        assert [m.id for m in new] == [m.id for m in reader.messages_after(chat, start)]
        assert extras == reader.message_extras(chat, new)
    customer_ids = [m.id for m in alice.new_messages_with_extras(chat, start)[0]]
    assert customer_ids == [question.id, answer.id], "a customer's catch-up never carries the note"
    assert note.id in [m.id for m in erik.new_messages_with_extras(chat, start)[0]]
    new, extras = alice.new_messages_with_extras(chat, start)
    assert [r.emoji for r in extras.reactions[question.id]] == ["👍"]
    assert extras.originals[question.id].body == question.body


def test_another_company_catches_up_on_nothing(seeded: World) -> None:
    with pytest.raises((NotFound, PermissionDenied)):
        seeded.service("bella").new_messages_with_extras(seeded.acme_case_chat, 0)
    with pytest.raises((NotFound, PermissionDenied)):
        seeded.service("alice").new_messages_with_extras(10**9, 0)


def test_a_one_message_catch_up_is_a_few_statements(seeded: World) -> None:
    """Rights, the messages, then reactions, mentions and people; the authors' company is read once a minute."""
    chat = seeded.acme_direct
    alice, adam = seeded.service("alice"), seeded.service("adam")
    last = adam.post(chat, "warm-up").id
    new, extras = alice.new_messages_with_extras(chat, 0)
    message_rows(alice, new, {}, extras)  # reads the group once
    adam.post(chat, "Counted: hello @alice")
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(seeded.store.engine, "before_cursor_execute", count)
    try:
        new, extras = alice.new_messages_with_extras(chat, last)
        rows = message_rows(alice, new, {}, extras)
    finally:
        event.remove(seeded.store.engine, "before_cursor_execute", count)
    assert [r["id"] for r in rows] == [m.id for m in new] and len(new) == 1
    assert isinstance(new[0], Message)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 5, statements
    assert not [s for s in statements if s.lstrip().upper().startswith("BEGIN")], "one-statement reads need no BEGIN"
