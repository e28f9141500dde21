"""Index for a trader's own list of applications

`GET /api/v1/applications?declarant=...` pages a declarant's applications newest first by
(received_at, id); with this index each page is one range scan, not a sort of all of them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:40:00
"""

from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_applications_declarant_received",
        "applications",
        ["declarant_bin", "received_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_applications_declarant_received", table_name="applications")
