"""Payment orders, treasury confirmations, reconciliations; release after payment (issue 20)

One signed payment order per application (unique application_id), its lines, a daily reference
serial, every treasury payment once (payment_id is the key: confirmations are idempotent), the
reconciliations run, and when an application was released (granted and nothing owed).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 04:30:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "payment_orders",
        sa.Column("reference", sa.String(32), primary_key=True),
        sa.Column(
            "application_id", sa.String(40), sa.ForeignKey("applications.id"), nullable=False
        ),
        sa.Column("payer_bin", sa.String(12), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("payee_account", sa.String(34), nullable=False),
        sa.Column("canonical", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("received_minor", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("application_id"),
    )
    op.create_table(
        "payment_order_lines",
        sa.Column(
            "reference",
            sa.String(32),
            sa.ForeignKey("payment_orders.reference"),
            primary_key=True,
        ),
        sa.Column("line_no", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("kbk", sa.String(6), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("beneficiary", sa.String(32), nullable=False),
    )
    op.create_table(
        "payment_reference_serials",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )
    op.create_table(
        "payment_confirmations",
        sa.Column("payment_id", sa.String(64), primary_key=True),
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payer", sa.String(12), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("received_minor", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_minor", sa.BigInteger(), nullable=False),
        sa.Column("refund_owed_minor", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_payment_confirmations_reference", "payment_confirmations", ["reference"])
    op.create_index("ix_payment_confirmations_paid_on", "payment_confirmations", ["paid_on"])
    op.create_table(
        "reconciliations",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("statement", sa.LargeBinary(), nullable=False),
        sa.Column("differences", sa.Text(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_reconciliations_day", "reconciliations", ["day"])


def downgrade() -> None:
    op.drop_table("reconciliations")
    op.drop_table("payment_confirmations")
    op.drop_table("payment_reference_serials")
    op.drop_table("payment_order_lines")
    op.drop_table("payment_orders")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("released_at")
