"""electronic checkpoint: arrival notices, visits, device events, transits and their tracks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 12:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('arrival_notices',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('carrier_bin', sa.String(length=12), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('checkpoint', sa.String(length=32), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('trailer_plate', sa.String(length=16), nullable=True),
    sa.Column('expected_arrival', When, nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('applications', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('superseded_by', sa.String(length=40), nullable=True),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('signer_subject', sa.Text(), nullable=False),
    sa.Column('received_at', When, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('carrier_bin', 'reference', 'version', name='uq_notice_version')
    )
    op.create_index('ix_arrival_notices_plate', 'arrival_notices', ['checkpoint', 'plate'], unique=False)
    op.create_table('checkpoint_visits',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('checkpoint', sa.String(length=32), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('lane', sa.String(length=32), nullable=False),
    sa.Column('notice_id', sa.String(length=40), nullable=True),
    sa.Column('applications', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('stages', sa.Text(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('arrived_at', When, nullable=False),
    sa.Column('decision_ready_on_arrival', sa.Boolean(), nullable=True),
    sa.Column('decision_ready_at', When, nullable=True),
    sa.Column('exit_requested_at', When, nullable=True),
    sa.Column('exited_at', When, nullable=True),
    sa.Column('exit_kind', sa.String(length=16), nullable=True),
    sa.Column('cleared_by', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_checkpoint_visits_plate', 'checkpoint_visits', ['checkpoint', 'plate', 'state'], unique=False)
    op.create_table('checkpoint_events',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('device', sa.String(length=64), nullable=False),
    sa.Column('visit_id', sa.String(length=40), nullable=True),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('received_at', When, nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_index(op.f('ix_checkpoint_events_visit_id'), 'checkpoint_events', ['visit_id'], unique=False)
    op.create_table('transits',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('plate', sa.String(length=16), nullable=False),
    sa.Column('notice_id', sa.String(length=40), nullable=True),
    sa.Column('application_id', sa.String(length=40), nullable=True),
    sa.Column('corridor', sa.String(length=64), nullable=False),
    sa.Column('exit_checkpoint', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_at', When, nullable=False),
    sa.Column('due_by', When, nullable=False),
    sa.Column('closed_at', When, nullable=True),
    sa.Column('last_lat', sa.Float(), nullable=True),
    sa.Column('last_lon', sa.Float(), nullable=True),
    sa.Column('last_at', When, nullable=True),
    sa.Column('stopped_since', When, nullable=True),
    sa.Column('seal', sa.String(length=16), nullable=False),
    sa.Column('alerts', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_transits_plate', 'transits', ['plate', 'state'], unique=False)
    op.create_table('transit_positions',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('transit_id', sa.String(length=40), nullable=False),
    sa.Column('at', When, nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('seal', sa.String(length=16), nullable=False),
    sa.Column('offset_m', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_transit_positions_transit_id'), 'transit_positions', ['transit_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_transit_positions_transit_id'), table_name='transit_positions')
    op.drop_table('transit_positions')
    op.drop_index('ix_transits_plate', table_name='transits')
    op.drop_table('transits')
    op.drop_index(op.f('ix_checkpoint_events_visit_id'), table_name='checkpoint_events')
    op.drop_table('checkpoint_events')
    op.drop_index('ix_checkpoint_visits_plate', table_name='checkpoint_visits')
    op.drop_table('checkpoint_visits')
    op.drop_index('ix_arrival_notices_plate', table_name='arrival_notices')
    op.drop_table('arrival_notices')
