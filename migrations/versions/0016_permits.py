"""Permits with a balance, their write-offs, citations and holds (issue 20 item 4)

A permit an agency granted (quantity and validity), each application's write-off of it, the
goods items that cite a permit instead of asking for a new one, and the applications held for a
permit (a refused write-off; a permit suspended or revoked before exit). Quantities are
NUMERIC(20,3).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
QUANTITY = sa.Numeric(20, 3)


def upgrade() -> None:
    op.create_table(
        "permits",
        sa.Column("permit_id", sa.String(64), primary_key=True),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("holder_bin", sa.String(12), nullable=False),
        sa.Column("hs_code", sa.String(10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("granted", QUANTITY, nullable=False),
        sa.Column("written_off", QUANTITY, nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("standing", sa.String(16), nullable=False),
        sa.Column("granted_for", sa.String(40), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_permits_holder_bin", "permits", ["holder_bin"])
    op.create_table(
        "permit_write_offs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "permit_id", sa.String(64), sa.ForeignKey("permits.permit_id"), nullable=False
        ),
        sa.Column("application_id", sa.String(40), nullable=False),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("credited_back_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_permit_write_offs_permit_id", "permit_write_offs", ["permit_id"])
    op.create_index(
        "ix_permit_write_offs_application_id", "permit_write_offs", ["application_id"]
    )
    op.create_table(
        "permit_citations",
        sa.Column(
            "application_id",
            sa.String(40),
            sa.ForeignKey("applications.id"),
            primary_key=True,
        ),
        sa.Column("item_line", sa.Integer(), primary_key=True),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("permit_id", sa.String(64), nullable=False),
        sa.Column("hs_code", sa.String(10), nullable=False),
        sa.Column("quantity", QUANTITY, nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
    )
    op.create_index("ix_permit_citations_permit_id", "permit_citations", ["permit_id"])
    op.create_table(
        "permit_holds",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("application_id", sa.String(40), nullable=False),
        sa.Column("permit_id", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_permit_holds_application_id", "permit_holds", ["application_id"])


def downgrade() -> None:
    op.drop_table("permit_holds")
    op.drop_table("permit_citations")
    op.drop_table("permit_write_offs")
    op.drop_table("permits")
