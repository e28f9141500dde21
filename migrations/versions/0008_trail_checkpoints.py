"""C2SP checkpoints of the trail, signed by the log's Ed25519 key and cosigned by witnesses

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trail_checkpoints',
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root', sa.LargeBinary(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('signed_at', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('size'),
    )


def downgrade() -> None:
    op.drop_table('trail_checkpoints')
