"""OMC sessions that can be ended: a per-account session generation (issue 15, item 6)

Every OMC session carries the generation of its account at sign-in; sign-out, a password change,
disabling, a role change and a lockout raise it, so every session made before ends at once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 01:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('omc_accounts') as batch:
        batch.add_column(
            sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0')
        )


def downgrade() -> None:
    with op.batch_alter_table('omc_accounts') as batch:
        batch.drop_column('session_generation')
