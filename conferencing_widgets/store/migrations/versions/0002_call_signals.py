"""Built-in video call: WebRTC signalling messages and when a participant left a call.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from conferencing_widgets.store.schema import Id, UTCDateTime

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("call_participants") as batch:
        batch.add_column(sa.Column("left_at", UTCDateTime, nullable=True))
    op.create_table(
        "call_signals",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("call_id", Id, sa.ForeignKey("calls.id"), nullable=False),
        sa.Column("from_login", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("from_session", sa.String(64), nullable=False),
        sa.Column("to_login", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("to_session", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_call_signals_to", "call_signals", ["call_id", "to_login", "id"])


def downgrade() -> None:
    op.drop_index("ix_call_signals_to", table_name="call_signals")
    op.drop_table("call_signals")
    with op.batch_alter_table("call_participants") as batch:
        batch.drop_column("left_at")
