"""Guarantees offered as security for an application's payment (issue 20 item 3)

Each offer a declarant made and what customs answered: accepted (the application is released,
secured) or refused with customs' reason code; `discharged_at` once the order was paid after
all. At most one accepted, undischarged guarantee per application is enforced by the service
under the application's row lock.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 09:30:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "guarantees",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "application_id", sa.String(40), sa.ForeignKey("applications.id"), nullable=False
        ),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("guarantor_bin", sa.String(12), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("owed_minor", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),  # accepted | refused
        sa.Column("reason_code", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_guarantees_application_id", "guarantees", ["application_id"])


def downgrade() -> None:
    op.drop_index("ix_guarantees_application_id", table_name="guarantees")
    op.drop_table("guarantees")
