"""The kinds of feed events: one vocabulary for the stores that write them and the views that react to them.

Values are the strings stored in ``events.kind``; never rename one (old rows keep theirs).
"""

from __future__ import annotations

from enum import Enum


class EventKind(str, Enum):
    """What an event in the append-only events table reports."""

    GROUP = "group"
    USER = "user"
    CASE = "case"
    CONVERSATION = "conversation"
    MEMBERS = "members"
    MESSAGE = "message"
    MESSAGE_EDITED = "message_edited"
    """A message's body was edited (ref_id is the message)."""
    MESSAGE_DELETED = "message_deleted"
    """A message became a tombstone (ref_id is the message)."""
    REACTIONS_CHANGED = "reactions_changed"
    """A reaction was added to or removed from a message (ref_id is the message)."""
    READ = "read"
    """A read mark moved (private to its user)."""
    ATTACHMENT = "attachment"
    CALL = "call"
    CALL_SIGNAL = "call_signal"
    """WebRTC signalling between the pages of one call."""
    WHITEBOARD = "whiteboard"
    """A board was created or its background changed."""
    WB_STROKE = "wb_stroke"
    """A stroke was added (ref_id is the stroke)."""
    WB_CHANGE = "wb_change"
    """Strokes were hidden or brought back by an erase, clear, undo or redo (ref_id is the board)."""
    WB_PROGRESS = "wb_progress"
    """A stroke in progress (transient; deleted when the stroke is stored)."""


WHITEBOARD_EVENTS = frozenset(
    k.value for k in (EventKind.WHITEBOARD, EventKind.WB_STROKE, EventKind.WB_CHANGE, EventKind.WB_PROGRESS)
)

MESSAGE_CHANGE_EVENTS = frozenset(
    k.value for k in (EventKind.MESSAGE_EDITED, EventKind.MESSAGE_DELETED, EventKind.REACTIONS_CHANGED)
)
"""Events after which a message already shown is re-rendered in place (audience: its conversation)."""
