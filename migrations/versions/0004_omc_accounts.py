"""Operative Management Centre accounts: roles, argon2id hashes, lockout

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('omc_accounts',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('agency', sa.String(length=32), nullable=True),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('cert_fingerprint', sa.String(length=64), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', When, nullable=True),
    sa.Column('created_at', When, nullable=False),
    sa.Column('last_login_at', When, nullable=True),
    sa.PrimaryKeyConstraint('username'),
    sa.UniqueConstraint('cert_fingerprint'),
    )


def downgrade() -> None:
    op.drop_table('omc_accounts')
