"""Index messages by (author, created_at): the per-user posting rate counts the last minute's messages in the store.

Revision ID: 0004
Revises: 0003

Revision 0001 creates the tables of whatever ``schema.metadata`` holds when it runs, so on a fresh database the
index below already exists; on a database made by an older release it does not. Both cases are handled by looking
first.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"

INDEX = "ix_messages_author_created"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if INDEX not in {ix["name"] for ix in inspector.get_indexes("messages")}:
        op.create_index(INDEX, "messages", ["author", "created_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="messages")
