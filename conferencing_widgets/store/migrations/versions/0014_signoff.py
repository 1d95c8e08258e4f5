"""Customer sign-off of a resolved case and its sealed record bundle, one row per version.

Revision ID: 0014
Revises: 0012 (the lead re-chains it at merge)
"""

import sqlalchemy as sa
from alembic import op

from conferencing_widgets.store.schema import Id, UTCDateTime

revision = "0014"
down_revision = "0012"


def upgrade() -> None:
    op.create_table(
        "case_signoffs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("case_id", Id, sa.ForeignKey("service_cases.id"), nullable=False),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("requested_at", UTCDateTime, nullable=False),
        sa.Column("signed_by", sa.String(64), sa.ForeignKey("users.login"), nullable=True),
        sa.Column("signer_name", sa.String(200), nullable=True),
        sa.Column("signed_at", UTCDateTime, nullable=True),
        sa.Column("signature_sha256", sa.String(64), nullable=True),
        sa.Column("bundle_attachment_id", Id, sa.ForeignKey("attachments.id"), nullable=True),
        sa.Column("manifest_attachment_id", Id, sa.ForeignKey("attachments.id"), nullable=True),
        sa.UniqueConstraint("case_id", "version", name="uq_case_signoffs_version"),
    )


def downgrade() -> None:
    op.drop_table("case_signoffs")
