"""Trader decision notifications, shared circuit breakers, request id of each application

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('applications') as batch:
        batch.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))

    op.create_table('trader_subscriptions',
    sa.Column('bin', sa.String(length=12), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('registered_at', When, nullable=False),
    sa.Column('registered_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('bin'),
    )

    op.create_table('notifications',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('application_id', sa.String(length=40), nullable=False),
    sa.Column('bin', sa.String(length=12), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('decision_sha256', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', When, nullable=False),
    sa.Column('available_at', When, nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('lease_until', When, nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('done_at', When, nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id']),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_notifications_ready', 'notifications', ['done_at', 'available_at'])
    op.create_index('ix_notifications_application', 'notifications', ['application_id'])

    op.create_table('agency_breakers',
    sa.Column('agency', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('opened_at', When, nullable=True),
    sa.Column('probe_owner', sa.String(length=64), nullable=True),
    sa.Column('probe_until', When, nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', When, nullable=False),
    sa.PrimaryKeyConstraint('agency'),
    )

    # One open visit per vehicle and checkpoint (two entries registered at once cannot both open).
    open_visit = sa.text("state <> 'exited'")
    op.create_index('uq_checkpoint_visits_open', 'checkpoint_visits', ['checkpoint', 'plate'],
                    unique=True, sqlite_where=open_visit, postgresql_where=open_visit)


def downgrade() -> None:
    op.drop_index('uq_checkpoint_visits_open', table_name='checkpoint_visits')
    op.drop_table('agency_breakers')
    op.drop_index('ix_notifications_application', table_name='notifications')
    op.drop_index('ix_notifications_ready', table_name='notifications')
    op.drop_table('notifications')
    op.drop_table('trader_subscriptions')
    with op.batch_alter_table('applications') as batch:
        batch.drop_column('request_id')
