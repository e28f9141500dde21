"""intake identity: representatives, trader certificates, signed-request nonces

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('representatives',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('principal_bin', sa.String(length=12), nullable=False),
    sa.Column('representative_bin', sa.String(length=12), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_representatives_pair', 'representatives', ['principal_bin', 'representative_bin'], unique=False)
    op.create_table('trader_certificates',
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('bin', sa.String(length=12), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('der', sa.LargeBinary(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('fingerprint')
    )
    op.create_index(op.f('ix_trader_certificates_bin'), 'trader_certificates', ['bin'], unique=False)
    op.create_table('request_nonces',
    sa.Column('keyid', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=128), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('keyid', 'nonce')
    )
    op.create_index(op.f('ix_request_nonces_expires_at'), 'request_nonces', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_request_nonces_expires_at'), table_name='request_nonces')
    op.drop_table('request_nonces')
    op.drop_index(op.f('ix_trader_certificates_bin'), table_name='trader_certificates')
    op.drop_table('trader_certificates')
    op.drop_index('ix_representatives_pair', table_name='representatives')
    op.drop_table('representatives')
