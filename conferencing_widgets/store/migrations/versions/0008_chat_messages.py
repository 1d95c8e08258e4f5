"""Replies, edits and reactions: ``messages.reply_to_id``, ``message_versions`` and ``message_reactions``.

Revision ID: 0008
Revises: 0007

Earlier bodies of an edited message go to ``message_versions``; deleting a message empties its body and drops its
versions and reactions (only the tombstone stays).
"""

import sqlalchemy as sa
from alembic import op

from conferencing_widgets.store.schema import Id, UTCDateTime

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("reply_to_id", Id, nullable=True))
    op.create_table(
        "message_versions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("message_id", Id, sa.ForeignKey("messages.id"), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("written_at", UTCDateTime, nullable=False),
        sa.Column("replaced_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_message_versions_message", "message_versions", ["message_id", "id"])
    op.create_table(
        "message_reactions",
        sa.Column("message_id", Id, sa.ForeignKey("messages.id"), primary_key=True),
        sa.Column("login", sa.String(64), sa.ForeignKey("users.login"), primary_key=True),
        sa.Column("emoji", sa.String(64), primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("message_reactions")
    op.drop_index("ix_message_versions_message", table_name="message_versions")
    op.drop_table("message_versions")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("reply_to_id")
