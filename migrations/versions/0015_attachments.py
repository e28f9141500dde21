"""Supporting documents: each document's bytes once by SHA-256, and the applications that
uploaded it (issue 19, item 3)

The bytes of a signed `Documents/Document` entry are uploaded separately; they are kept once by
digest (attachment_blobs) however many applications list them, and each application's upload is a
row of application_attachments (its request is in the trail).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachment_blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("media_type", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "application_attachments",
        sa.Column(
            "application_id",
            sa.String(40),
            sa.ForeignKey("applications.id"),
            primary_key=True,
        ),
        sa.Column(
            "sha256",
            sa.String(64),
            sa.ForeignKey("attachment_blobs.sha256"),
            primary_key=True,
        ),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("application_attachments")
    op.drop_table("attachment_blobs")
