"""The typing line under the stream (issue 13, slice C): composer messages signal typing; the line shows others.

Without a browser: the composer's custom messages stand for the browser, ``signal_follower.refresh()`` for a
wake-up of the live follower (the follower itself is tested in ``tests/test_signals.py``).
"""

from __future__ import annotations

from support import World

from conferencing_widgets.core.i18n import set_language
from conferencing_widgets.ui import ConferencingApp
from conferencing_widgets.ui.typing import seen_text, typing_text


def test_typing_text_names_and_plurals() -> None:
    set_language("en")
    assert typing_text([]) == ""
    assert typing_text(["Tom Becker"]) == "Tom Becker is typing…"
    assert typing_text(["Alice", "Tom"]) == "Alice and Tom are typing…"
    assert typing_text(["A", "B", "C"]) == "A, B and C are typing…"
    assert typing_text(["A", "B", "C", "D"]) == "Several people are typing…"
    assert seen_text([]) == "" and seen_text(["Alice", "Tom"]) == "Seen by Alice, Tom"


def test_typing_is_shown_to_readers_and_cleared_on_send(seeded: World) -> None:
    chat = seeded.acme_case_chat
    alice = ConferencingApp(seeded.service("alice"), live=False)
    adam = ConferencingApp(seeded.service("adam"), live=False)
    erik = ConferencingApp(seeded.service("erik"), live=False)
    for app in (alice, adam, erik):
        app.open_conversation(chat)
    events = seeded.store.last_event_id()
    composer = alice.messages.composer
    composer._on_custom(composer, {"type": "typing", "active": True}, [])
    for app in (adam, erik):
        app.messages.signal_follower.refresh()
        assert app.messages.status.typing.text == "Alice Moreau is typing…"
        assert app.messages.status.typing.live == "polite" and app.messages.status.typing.css_class == "cw-typing"
    alice.messages.signal_follower.refresh()
    assert alice.messages.status.typing.text == "", "never your own"
    assert alice.messages.send("sent")
    adam.messages.signal_follower.refresh()
    assert adam.messages.status.typing.text == "", "sending ends the typing signal"
    composer._on_custom(composer, {"type": "typing", "active": True}, [])
    composer._on_custom(composer, {"type": "typing", "active": False}, [])  # emptied the box
    adam.messages.signal_follower.refresh()
    assert adam.messages.status.typing.text == ""
    assert seeded.store.last_event_id() == events + 1, "only the message wrote an event; typing wrote none"
    # A read-only viewer's typing messages signal nothing.
    ecomp = erik.messages.composer
    ecomp._on_custom(ecomp, {"type": "typing", "active": True}, [])
    adam.messages.signal_follower.refresh()
    assert adam.messages.status.typing.text == ""
    # Opening another conversation clears the line and follows that one.
    composer._on_custom(composer, {"type": "typing", "active": True}, [])
    adam.messages.signal_follower.refresh()
    assert adam.messages.status.typing.text
    adam.open_conversation(seeded.acme_direct)
    assert adam.messages.status.typing.text == ""
