"""Charges an agency assessed, kept with its case (issue 20)

An agency's answer may carry structured charges (duty, VAT, excise, fees: minor units, currency,
legal basis, due day, KBK). The case keeps them as JSON, as it keeps its reasons and conditions;
the decision lists them and the payment order is made from them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 04:10:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("charges", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("charges")
