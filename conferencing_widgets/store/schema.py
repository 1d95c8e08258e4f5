"""The one schema, in SQLAlchemy Core, shared by SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

from conferencing_widgets.store import search_schema

metadata = MetaData()

MAX_ID = 2**63 - 1
"""The largest id either backend can store (signed 64 bits)."""


class RowId(TypeDecorator[int]):
    """Row ids and references to them: 64-bit on PostgreSQL, INTEGER (which autoincrements) on SQLite.

    The one range check of every id that reaches a query, from a page, a link or a caller: an integer beyond
    64 bits binds as the nearest storable id, which no row holds in practice, so a lookup says ``NotFound``
    and ``id > huge`` finds nothing, instead of the driver raising ``OverflowError`` (SQLite) or
    ``DataError`` (PostgreSQL).
    """

    impl = BigInteger
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(Integer() if dialect.name == "sqlite" else BigInteger())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, int) and not -MAX_ID - 1 <= value <= MAX_ID:
            return MAX_ID if value > 0 else -MAX_ID - 1
        return value


Id = RowId()


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes: ``timestamptz`` on PostgreSQL, integer microseconds on SQLite.

    Integers keep SQLite ordering exact and make the Arrow export a cheap cast.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if dialect.name == "sqlite":
            return int(value.timestamp() * 1_000_000)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, int):
            return datetime.fromtimestamp(value / 1_000_000, tz=UTC)
        aware: datetime = value.astimezone(UTC)
        return aware


groups = Table(
    "groups",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("is_vendor", Boolean, nullable=False, default=False),
)

users = Table(
    "users",
    metadata,
    Column("login", String(64), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("group_id", String(64), ForeignKey("groups.id"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

user_preferences = Table(
    # A user's own choices (language, read receipts), one row per key; absent means the default (revision 0011).
    "user_preferences",
    metadata,
    Column("login", String(64), ForeignKey("users.login"), primary_key=True),
    Column("key", String(32), primary_key=True),
    Column("value", String(200), nullable=False),
)

service_cases = Table(
    "service_cases",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("title", String(300), nullable=False),
    Column("group_id", String(64), ForeignKey("groups.id"), nullable=False, index=True),
    Column("machine_model", String(100), nullable=False, default=""),
    Column("machine_serial", String(100), nullable=False, default=""),
    Column("status", String(32), nullable=False, default="open"),
    Column("created_at", UTCDateTime, nullable=False),
    # low, normal, high or urgent: picks the response-clock targets (revision 0010).
    Column("priority", String(16), nullable=False, default="normal", server_default="normal"),
)

case_status_history = Table(
    # Every status change of a case (revision 0010): the response clocks pause and resume from it.
    "case_status_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", Id, ForeignKey("service_cases.id"), nullable=False),
    Column("from_status", String(32), nullable=False),
    Column("to_status", String(32), nullable=False),
    Column("by_login", String(64), ForeignKey("users.login"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    # True when a customer's reply flipped "waiting on customer" to "waiting on vendor".
    Column("automatic", Boolean, nullable=False, default=False, server_default="0"),
    Index("ix_case_status_history_case", "case_id", "id"),
)

case_technicians = Table(
    "case_technicians",
    metadata,
    Column("case_id", Id, ForeignKey("service_cases.id"), primary_key=True),
    Column("login", String(64), ForeignKey("users.login"), primary_key=True),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("title", String(300), nullable=False),
    Column("case_id", Id, ForeignKey("service_cases.id"), nullable=True, index=True),
    Column("created_by", String(64), ForeignKey("users.login"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Denormalised so the history list needs no scan of messages.
    Column("last_message_id", Id, nullable=True),
    Column("last_activity_at", UTCDateTime, nullable=False),
    Index("ix_conversations_activity", "last_activity_at", "id"),
)

members = Table(
    "members",
    metadata,
    Column("conversation_id", Id, ForeignKey("conversations.id"), primary_key=True),
    Column("login", String(64), ForeignKey("users.login"), primary_key=True),
    Column("joined_at", UTCDateTime, nullable=False),
    Index("ix_members_login", "login", "conversation_id"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False),
    Column("author", String(64), ForeignKey("users.login"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("body", Text, nullable=False),
    Column("kind", String(16), nullable=False, default="text"),
    Column("ref_id", Id, nullable=True),
    Column("client_id", String(64), nullable=True),
    Column("edited_at", UTCDateTime, nullable=True),
    Column("deleted", Boolean, nullable=False, default=False),
    # The message this one replies to, always of the same conversation (revision 0008).
    Column("reply_to_id", Id, nullable=True),
    # ``author`` makes the capped unread count (messages after my read mark, not mine) an index-only scan, and
    # ``kind`` keeps it one for customers, whose counts leave internal notes out (revision 0015).
    Index("ix_messages_conversation", "conversation_id", "id", "author", "kind"),
    # The per-user posting rate counts an author's messages of the last minute (revision 0004).
    Index("ix_messages_author_created", "author", "created_at"),
    UniqueConstraint("author", "client_id", name="uq_messages_client_id"),
)

message_versions = Table(
    # Earlier bodies of edited messages (revision 0008): one row per replaced body, with the time it was written.
    # Deleting a message deletes its versions too (only the tombstone stays).
    "message_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("written_at", UTCDateTime, nullable=False),
    Column("replaced_at", UTCDateTime, nullable=False),
    Index("ix_message_versions_message", "message_id", "id"),
)

message_reactions = Table(
    # One row per (message, user, emoji) (revision 0008); clicking the same reaction again removes it.
    "message_reactions",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id"), primary_key=True),
    Column("login", String(64), ForeignKey("users.login"), primary_key=True),
    Column("emoji", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# The full-text index of message bodies follows ``messages.body`` (revision 0009, ``store/search_schema.py``):
# SQLite FTS5 with triggers, PostgreSQL a GIN expression index. Created with the table, as the migration does.
event.listen(messages, "after_create", lambda _t, conn, **_kw: search_schema.create(conn))

message_mentions = Table(
    # ``@login`` references of a message (revision 0009), written in the post transaction; only members.
    # ``conversation_id`` is denormalised so "unread mentions per conversation" is one index range per user.
    "message_mentions",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id"), primary_key=True),
    Column("login", String(64), ForeignKey("users.login"), primary_key=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False),
    Index("ix_message_mentions_login", "login", "conversation_id", "message_id"),
)

read_marks = Table(
    "read_marks",
    metadata,
    Column("login", String(64), ForeignKey("users.login"), primary_key=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), primary_key=True),
    Column("last_read_id", Id, nullable=False),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False),
    Column("uploader", String(64), ForeignKey("users.login"), nullable=False),
    Column("name", String(512), nullable=False),
    Column("media_type", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_attachments_conversation", "conversation_id", "id"),
)

whiteboards = Table(
    "whiteboards",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False, index=True),
    Column("title", String(300), nullable=False),
    Column("created_by", String(64), ForeignKey("users.login"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("background_attachment_id", Id, nullable=True),
    # Bumped by every change of the board's scene (revision 0003): thumbnail caches are keyed by it.
    Column("revision", Integer, nullable=False, default=0, server_default="0"),
)

strokes = Table(
    "strokes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("whiteboard_id", Id, ForeignKey("whiteboards.id"), nullable=False),
    Column("author", String(64), ForeignKey("users.login"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("shape", String(16), nullable=False),
    Column("points", JSON, nullable=False),
    Column("color", String(16), nullable=False),
    Column("width", Float, nullable=False),
    Column("text", String(500), nullable=False, default=""),
    Column("deleted", Boolean, nullable=False, default=False),
    # The whiteboard action (erase, clear, or the undo of an add) that hid the stroke; NULL while visible
    # (revision 0003). Undoing exactly that action brings it back, so no undo touches what others hid.
    Column("removed_by", Id, nullable=True),
    Index("ix_strokes_board", "whiteboard_id", "id"),
)

whiteboard_actions = Table(
    # Per-user undo/redo stacks of the whiteboards (revision 0003): one row per add, erase or clear.
    # state: done (undoable), undone (redoable), dropped (a newer action cleared the redo stack).
    "whiteboard_actions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("whiteboard_id", Id, ForeignKey("whiteboards.id"), nullable=False),
    Column("author", String(64), ForeignKey("users.login"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("stroke_ids", JSON, nullable=False),
    Column("state", String(8), nullable=False, default="done"),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_whiteboard_actions_author", "whiteboard_id", "author", "id"),
)

calls = Table(
    "calls",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False, index=True),
    Column("provider", String(32), nullable=False),
    Column("room", String(128), nullable=False, unique=True),
    Column("started_by", String(64), ForeignKey("users.login"), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
)

call_participants = Table(
    "call_participants",
    metadata,
    Column("call_id", Id, ForeignKey("calls.id"), primary_key=True),
    Column("login", String(64), ForeignKey("users.login"), primary_key=True),
    Column("joined_at", UTCDateTime, nullable=False),
    # NULL while the participant is in the call; set on leave (revision 0002).
    Column("left_at", UTCDateTime, nullable=True),
)

call_signals = Table(
    # WebRTC signalling of the built-in call (offers, answers, ICE candidates): transient, deleted when the
    # call ends (revision 0002).
    "call_signals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("call_id", Id, ForeignKey("calls.id"), nullable=False),
    Column("from_login", String(64), ForeignKey("users.login"), nullable=False),
    Column("from_session", String(64), nullable=False),
    Column("to_login", String(64), ForeignKey("users.login"), nullable=False),
    Column("to_session", String(64), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_call_signals_to", "call_id", "to_login", "id"),
)

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("conversation_id", Id, nullable=True),
    Column("ref_id", Id, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    # Set for a private event (a read mark, an account change): only this user's page reads it.
    Column("audience_login", String(64), nullable=True),
    Index("ix_events_conversation", "conversation_id", "id"),
    Index("ix_events_audience", "audience_login", "id"),
)

signals = Table(
    # Ephemeral signals (typing, presence): one row per (conversation, user, kind), upserted, expiring by
    # ``expires_at`` (readers ignore expired rows, writers delete them). Never an event. UNLOGGED on PostgreSQL
    # (revision 0007): nothing here must survive a crash.
    "signals",
    metadata,
    Column("conversation_id", Id, ForeignKey("conversations.id"), primary_key=True),
    Column("login", String(64), ForeignKey("users.login"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("data", JSON, nullable=True),
)

drafts = Table(
    # Text typed and not sent, per (user, conversation): kept on the server so it follows the user to another
    # page or device; cleared on send (revision 0012).
    "drafts",
    metadata,
    Column("login", String(64), ForeignKey("users.login"), primary_key=True),
    Column("conversation_id", Id, ForeignKey("conversations.id"), primary_key=True),
    Column("body", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

case_signoffs = Table(
    # A customer's sign-off of a resolved case (revision 0014): asked for by vendor staff (the request columns),
    # then signed once (the signed_* columns and the sealed bundle's two files). A new resolve and sign-off after
    # a reopen is a new row with the next version; a sealed row is never updated again.
    "case_signoffs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("case_id", Id, ForeignKey("service_cases.id"), nullable=False),
    Column("conversation_id", Id, ForeignKey("conversations.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("summary", Text, nullable=False),
    Column("requested_by", String(64), ForeignKey("users.login"), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("signed_by", String(64), ForeignKey("users.login"), nullable=True),
    Column("signer_name", String(200), nullable=True),
    Column("signed_at", UTCDateTime, nullable=True),
    Column("signature_sha256", String(64), nullable=True),
    Column("bundle_attachment_id", Id, ForeignKey("attachments.id"), nullable=True),
    Column("manifest_attachment_id", Id, ForeignKey("attachments.id"), nullable=True),
    UniqueConstraint("case_id", "version", name="uq_case_signoffs_version"),
)
