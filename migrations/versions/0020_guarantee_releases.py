"""Customs' ReleaseGuarantee made durable (issue 20): a queue of releases, and when one was done

A guarantee customs reserved that the application no longer needs (withdrawn, or paid or released
before the offer could be stored) gets one `guarantee_releases` row in the transaction that made it
unnecessary; a delivery loop asks customs, retrying with backoff until customs answers. The
guarantee's `released_at` says when customs answered that it holds no reservation.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 12:40:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("guarantees") as batch:
        batch.add_column(sa.Column("released_at", WHEN, nullable=True))
    op.create_table(
        "guarantee_releases",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "guarantee_id", BigId, sa.ForeignKey("guarantees.id"), nullable=False, unique=True
        ),
        sa.Column(
            "application_id", sa.String(40), sa.ForeignKey("applications.id"), nullable=False
        ),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("answer", sa.String(16), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("available_at", WHEN, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("lease_until", WHEN, nullable=True),
        sa.Column("lease_generation", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("done_at", WHEN, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_guarantee_releases_ready", "guarantee_releases", ["done_at", "available_at"]
    )
    op.create_index(
        "ix_guarantee_releases_application_id", "guarantee_releases", ["application_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_guarantee_releases_application_id", table_name="guarantee_releases")
    op.drop_index("ix_guarantee_releases_ready", table_name="guarantee_releases")
    op.drop_table("guarantee_releases")
    with op.batch_alter_table("guarantees") as batch:
        batch.drop_column("released_at")
