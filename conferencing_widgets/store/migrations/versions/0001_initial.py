"""Initial schema: groups, users, cases, conversations, messages, files, boards, calls, events.

Revision ID: 0001
Revises:
"""

from alembic import op

from conferencing_widgets.store.schema import metadata

revision = "0001"
down_revision = None


def upgrade() -> None:
    # The first revision is the schema module as of this release; later revisions use explicit ops.
    metadata.create_all(bind=op.get_bind())


def downgrade() -> None:
    metadata.drop_all(bind=op.get_bind())
