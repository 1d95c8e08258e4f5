"""Initial schema: groups, users, cases, conversations, messages, files, boards, calls, events.

Revision ID: 0001
Revises:

Frozen DDL of the schema as it was at this revision: later revisions add to it (0002 call signals and
``call_participants.left_at``, 0003 whiteboard actions, ``strokes.removed_by`` and ``whiteboards.revision``,
0004 ``ix_messages_author_created``, 0005 ``author`` in ``ix_messages_conversation``). Only the column types
come from ``schema.py``, so ids and timestamps render exactly as the tables the store queries; Python-side
``default=`` values live there too, as they never reach the DDL.
"""

import sqlalchemy as sa
from alembic import op

from conferencing_widgets.store.schema import Id, UTCDateTime

revision = "0001"
down_revision = None

# Parents before children, so every foreign key names a table that exists; dropped in reverse.
TABLES = [
    "groups",
    "users",
    "service_cases",
    "case_technicians",
    "conversations",
    "members",
    "messages",
    "read_marks",
    "attachments",
    "whiteboards",
    "strokes",
    "calls",
    "call_participants",
    "events",
]


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("is_vendor", sa.Boolean, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("login", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("group_id", sa.String(64), sa.ForeignKey("groups.id"), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_index("ix_users_group_id", "users", ["group_id"])
    op.create_table(
        "service_cases",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("group_id", sa.String(64), sa.ForeignKey("groups.id"), nullable=False),
        sa.Column("machine_model", sa.String(100), nullable=False),
        sa.Column("machine_serial", sa.String(100), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        # Unnamed, like ``unique=True`` in schema.py: PostgreSQL names it service_cases_number_key.
        sa.UniqueConstraint("number"),
    )
    op.create_index("ix_service_cases_group_id", "service_cases", ["group_id"])
    op.create_table(
        "case_technicians",
        sa.Column("case_id", Id, sa.ForeignKey("service_cases.id"), primary_key=True),
        sa.Column("login", sa.String(64), sa.ForeignKey("users.login"), primary_key=True),
    )
    op.create_table(
        "conversations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("case_id", Id, sa.ForeignKey("service_cases.id"), nullable=True),
        sa.Column("created_by", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_message_id", Id, nullable=True),
        sa.Column("last_activity_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_conversations_case_id", "conversations", ["case_id"])
    op.create_index("ix_conversations_activity", "conversations", ["last_activity_at", "id"])
    op.create_table(
        "members",
        sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), primary_key=True),
        sa.Column("login", sa.String(64), sa.ForeignKey("users.login"), primary_key=True),
        sa.Column("joined_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_members_login", "members", ["login", "conversation_id"])
    op.create_table(
        "messages",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("author", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref_id", Id, nullable=True),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("edited_at", UTCDateTime, nullable=True),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.UniqueConstraint("author", "client_id", name="uq_messages_client_id"),
    )
    # Revision 0005 adds ``author`` to this index.
    op.create_index("ix_messages_conversation", "messages", ["conversation_id", "id"])
    op.create_table(
        "read_marks",
        sa.Column("login", sa.String(64), sa.ForeignKey("users.login"), primary_key=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), primary_key=True),
        sa.Column("last_read_id", Id, nullable=False),
    )
    op.create_table(
        "attachments",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("uploader", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_attachments_sha256", "attachments", ["sha256"])
    op.create_index("ix_attachments_conversation", "attachments", ["conversation_id", "id"])
    op.create_table(
        "whiteboards",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("created_by", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("background_attachment_id", Id, nullable=True),
    )
    op.create_index("ix_whiteboards_conversation_id", "whiteboards", ["conversation_id"])
    op.create_table(
        "strokes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("whiteboard_id", Id, sa.ForeignKey("whiteboards.id"), nullable=False),
        sa.Column("author", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("shape", sa.String(16), nullable=False),
        sa.Column("points", sa.JSON, nullable=False),
        sa.Column("color", sa.String(16), nullable=False),
        sa.Column("width", sa.Float, nullable=False),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
    )
    op.create_index("ix_strokes_board", "strokes", ["whiteboard_id", "id"])
    op.create_table(
        "calls",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("room", sa.String(128), nullable=False),
        sa.Column("started_by", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("room"),
    )
    op.create_index("ix_calls_conversation_id", "calls", ["conversation_id"])
    op.create_table(
        "call_participants",
        sa.Column("call_id", Id, sa.ForeignKey("calls.id"), primary_key=True),
        sa.Column("login", sa.String(64), sa.ForeignKey("users.login"), primary_key=True),
        sa.Column("joined_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("conversation_id", Id, nullable=True),
        sa.Column("ref_id", Id, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes with it.
    for name in reversed(TABLES):
        op.drop_table(name)
