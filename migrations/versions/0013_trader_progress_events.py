"""Progress events for traders (issue 19, item 5)

A trader chooses which events its notification URL receives (`trader_subscriptions.events`, a
JSON array of event types; NULL: decisions only, as before). A notification row is a decision
(`kind` 'decision', its body the decision in the trail) or a progress event (`kind` its type,
`payload` the event's JSON, since it is nowhere else).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 07:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trader_subscriptions") as batch:
        batch.add_column(sa.Column("events", sa.Text(), nullable=True))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(32), nullable=False, server_default="decision")
        )
        batch.add_column(sa.Column("payload", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("payload")
        batch.drop_column("kind")
    with op.batch_alter_table("trader_subscriptions") as batch:
        batch.drop_column("events")
