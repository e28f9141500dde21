"""Lease generation (fencing token) on outbox and notification rows

Every claim increments the row's lease_generation and carries the new value; every later write of
that claim is fenced with it (UPDATE ... WHERE id = ? AND claimed_by = ? AND lease_generation = ?),
so a worker whose lease expired and whose row was claimed again cannot clear the live lease or send
the delivery a second time.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 00:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("outbox", "notifications"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("lease_generation", sa.Integer(), nullable=False, server_default="0")
            )


def downgrade() -> None:
    for table in ("outbox", "notifications"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("lease_generation")
