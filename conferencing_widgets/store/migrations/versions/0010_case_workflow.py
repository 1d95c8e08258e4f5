"""Case workflow: a status history per case, a priority column, and the new status names.

Revision ID: 0010
Revises: 0009

Statuses are now open -> waiting_on_customer <-> waiting_on_vendor -> resolved -> closed. Stored values of the
old names are renamed: ``in_progress`` becomes ``waiting_on_vendor`` (the vendor was working on it, so the ball
was with the vendor) and ``waiting_for_customer`` becomes ``waiting_on_customer``. Existing cases get priority
``normal`` and no history (their clocks count from their messages only). The downgrade maps the names back.
"""

import sqlalchemy as sa
from alembic import op

from conferencing_widgets.store.schema import Id, UTCDateTime

revision = "0010"
down_revision = "0009"

RENAMES = {"in_progress": "waiting_on_vendor", "waiting_for_customer": "waiting_on_customer"}


def _rename(mapping: dict[str, str]) -> None:
    cases = sa.table("service_cases", sa.column("status", sa.String))
    for old, new in mapping.items():
        op.get_bind().execute(sa.update(cases).where(cases.c.status == old).values(status=new))


def upgrade() -> None:
    with op.batch_alter_table("service_cases") as batch:
        batch.add_column(sa.Column("priority", sa.String(16), nullable=False, server_default="normal"))
    op.create_table(
        "case_status_history",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("case_id", Id, sa.ForeignKey("service_cases.id"), nullable=False),
        sa.Column("from_status", sa.String(32), nullable=False),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("by_login", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.create_index("ix_case_status_history_case", "case_status_history", ["case_id", "id"])
    _rename(RENAMES)


def downgrade() -> None:
    _rename({new: old for old, new in RENAMES.items()})
    op.drop_index("ix_case_status_history_case", table_name="case_status_history")
    op.drop_table("case_status_history")
    with op.batch_alter_table("service_cases") as batch:
        batch.drop_column("priority")
