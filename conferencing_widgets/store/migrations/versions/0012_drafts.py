"""Drafts: the text a user typed and has not sent, one row per (user, conversation).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from conferencing_widgets.store.schema import Id, UTCDateTime

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("login", sa.String(64), sa.ForeignKey("users.login"), primary_key=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("drafts")
