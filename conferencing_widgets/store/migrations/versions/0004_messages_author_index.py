"""Index messages by (author, created_at): the per-user posting rate counts the last minute's messages in the store.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"

INDEX = "ix_messages_author_created"


def upgrade() -> None:
    op.create_index(INDEX, "messages", ["author", "created_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="messages")
