"""A user's own choices (language, read receipts): ``user_preferences``, one row per key.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "user_preferences",
        sa.Column("login", sa.String(64), sa.ForeignKey("users.login"), primary_key=True),
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_preferences")
