"""Events name their audience: ``audience_login`` for private events, and indexes for a page's catch-up query.

Revision ID: 0006
Revises: 0005

A page reads only the events of its readable conversations, its own private events and (vendor staff) the
directory events; ``ix_events_conversation`` and ``ix_events_audience`` serve those branches by ``(key, id)``.
Existing read marks and account events get their audience from ``payload.login``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("audience_login", sa.String(64), nullable=True))
    bind = op.get_bind()
    events = sa.table(
        "events", sa.column("id"), sa.column("kind"), sa.column("payload", sa.JSON), sa.column("audience_login")
    )
    rows = bind.execute(sa.select(events.c.id, events.c.payload).where(events.c.kind.in_(("read", "user")))).all()
    for row in rows:
        login = (row.payload or {}).get("login")
        if isinstance(login, str):
            bind.execute(sa.update(events).where(events.c.id == row.id).values(audience_login=login))
    op.create_index("ix_events_conversation", "events", ["conversation_id", "id"])
    op.create_index("ix_events_audience", "events", ["audience_login", "id"])


def downgrade() -> None:
    op.drop_index("ix_events_audience", table_name="events")
    op.drop_index("ix_events_conversation", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("audience_login")
