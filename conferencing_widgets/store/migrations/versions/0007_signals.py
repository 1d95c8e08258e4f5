"""Ephemeral signals (typing, presence): a small upserted table, never events.

Revision ID: 0007
Revises: 0006

One row per (conversation, user, kind), so the table is bounded by open conversations times their members; rows
expire by ``expires_at`` and writers delete expired ones. On PostgreSQL the table is UNLOGGED: no WAL for
keystroke-rate writes, and emptied after a crash, which is right for signals that expire within seconds anyway.
"""

import sqlalchemy as sa
from alembic import op

from conferencing_widgets.store.schema import Id, UTCDateTime

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "signals",
        sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), primary_key=True),
        sa.Column("login", sa.String(64), sa.ForeignKey("users.login"), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("data", sa.JSON, nullable=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE signals SET UNLOGGED")


def downgrade() -> None:
    op.drop_table("signals")
