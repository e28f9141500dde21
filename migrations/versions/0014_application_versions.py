"""Amendment and withdrawal (issue 19): application versions, cancel and amend deliveries

An application carries its version (1 at lodging; each accepted amendment adds one, by a
compare-and-set on this column, so two amendments of one version cannot both win) and, once
withdrawn, when and why. Every version's signed bytes are kept in application_versions. An outbox
row says what it asks of the agency: the first request, an amendment (for a version) or a
cancellation (with the reason). Permits an amendment superseded or a withdrawal cancelled are
kept in case_permits, never deleted.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 06:40:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("withdrawal_reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("amended_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("operation", sa.String(16), nullable=False, server_default="request")
        )
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("reason", sa.String(32), nullable=True))
    op.create_table(
        "application_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "application_id", sa.String(40), sa.ForeignKey("applications.id"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("signer_subject", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("affected", sa.Text(), nullable=False, server_default="{}"),
        sa.UniqueConstraint("application_id", "version", name="uq_application_version"),
    )
    op.create_table(
        "case_permits",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(48), nullable=False),
        sa.Column("application_id", sa.String(40), nullable=False),
        sa.Column("agency", sa.String(32), nullable=False),
        sa.Column("permit_number", sa.String(64), nullable=False),
        sa.Column("valid_until", sa.String(10), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_case_permits_application", "case_permits", ["application_id"])


def downgrade() -> None:
    op.drop_index("ix_case_permits_application", table_name="case_permits")
    op.drop_table("case_permits")
    op.drop_table("application_versions")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("reason")
        batch.drop_column("version")
        batch.drop_column("operation")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("amended_at")
        batch.drop_column("withdrawal_reason")
        batch.drop_column("withdrawn_at")
        batch.drop_column("version")
