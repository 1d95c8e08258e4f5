"""Whiteboards: per-user undo/redo actions, who hid a stroke, and a revision counter per board.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from conferencing_widgets.store.schema import Id, UTCDateTime

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    # The server default fills the boards that already exist (and stays, as in schema.py).
    with op.batch_alter_table("whiteboards") as batch:
        batch.add_column(sa.Column("revision", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("strokes") as batch:
        batch.add_column(sa.Column("removed_by", Id, nullable=True))
    op.create_table(
        "whiteboard_actions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("whiteboard_id", Id, sa.ForeignKey("whiteboards.id"), nullable=False),
        sa.Column("author", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("stroke_ids", sa.JSON, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_whiteboard_actions_author", "whiteboard_actions", ["whiteboard_id", "author", "id"])
    # Strokes drawn before this revision have no action: they stay visible and simply cannot be undone.


def downgrade() -> None:
    op.drop_index("ix_whiteboard_actions_author", table_name="whiteboard_actions")
    op.drop_table("whiteboard_actions")
    with op.batch_alter_table("strokes") as batch:
        batch.drop_column("removed_by")
    with op.batch_alter_table("whiteboards") as batch:
        batch.drop_column("revision")
