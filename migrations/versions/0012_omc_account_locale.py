"""OMC accounts remember their language (issue 21, item 2)

An officer's choice of kk, ru or en follows the account, not the browser: the OMC centre's
workstations are shared between shifts. NULL: no choice yet (cookie, Accept-Language, default).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("omc_accounts") as batch:
        batch.add_column(sa.Column("locale", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("omc_accounts") as batch:
        batch.drop_column("locale")
