"""Payment orders superseded by a re-assessment (issue 20): more than one order per application

An amendment that changes what the agencies assessed supersedes the application's order with a new
one (a new reference) that is credited with what the old one received. The unique application_id
becomes a unique index over the orders not superseded (one order in force per application);
`supersedes`/`superseded_by` link the two and `credited_minor` is the credit carried over.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 09:40:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

CURRENT = sa.text("status <> 'superseded'")
# 0011 made the constraint unnamed: PostgreSQL named it, SQLite's batch mode names it so.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _drop_unique(batch: object, dialect: str) -> None:
    name = (
        "payment_orders_application_id_key"
        if dialect == "postgresql"
        else "uq_payment_orders_application_id"
    )
    batch.drop_constraint(name, type_="unique")  # type: ignore[attr-defined]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("payment_orders", naming_convention=NAMING) as batch:
        _drop_unique(batch, dialect)
        batch.add_column(sa.Column("supersedes", sa.String(32), nullable=True))
        batch.add_column(sa.Column("superseded_by", sa.String(32), nullable=True))
        batch.add_column(
            sa.Column("credited_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_index(
        "ux_payment_orders_in_force",
        "payment_orders",
        ["application_id"],
        unique=True,
        sqlite_where=CURRENT,
        postgresql_where=CURRENT,
    )


def downgrade() -> None:
    op.drop_index("ux_payment_orders_in_force", table_name="payment_orders")
    with op.batch_alter_table("payment_orders") as batch:
        batch.drop_column("credited_minor")
        batch.drop_column("superseded_by")
        batch.drop_column("supersedes")
        batch.create_unique_constraint("uq_payment_orders_application_id", ["application_id"])
