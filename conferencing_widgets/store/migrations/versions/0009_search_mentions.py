"""Search and mentions: ``message_mentions`` and the full-text index of message bodies.

Revision ID: 0009
Revises: 0008

``message_mentions`` holds the ``@login`` references of each message. The full-text index
(``store/search_schema.py``) is an FTS5 table with triggers on SQLite and a GIN expression index on PostgreSQL;
both follow ``messages.body``, so edits and deletes keep it current without further calls. Existing messages
are indexed here.
"""

import sqlalchemy as sa
from alembic import op

from conferencing_widgets.store import search_schema
from conferencing_widgets.store.schema import Id

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "message_mentions",
        sa.Column("message_id", Id, sa.ForeignKey("messages.id"), primary_key=True),
        sa.Column("login", sa.String(64), sa.ForeignKey("users.login"), primary_key=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), nullable=False),
    )
    op.create_index("ix_message_mentions_login", "message_mentions", ["login", "conversation_id", "message_id"])
    search_schema.create(op.get_bind())


def downgrade() -> None:
    search_schema.drop(op.get_bind())
    op.drop_index("ix_message_mentions_login", table_name="message_mentions")
    op.drop_table("message_mentions")
