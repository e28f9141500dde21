"""The trail's queue: messages are written unsequenced, an integrator sequences them (issue 17)

`messages.seq` becomes NULL until the integrator (gateway/storage/trail_log.py) assigns it, so the
business transaction takes no global lock and does no Merkle work. A partial index on the waiting
rows is the queue, read in insertion order.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 06:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=True)
    op.create_index(
        "ix_messages_pending",
        "messages",
        ["id"],
        sqlite_where=sa.text("seq IS NULL"),
        postgresql_where=sa.text("seq IS NULL"),
    )


def downgrade() -> None:
    # Waiting messages must be integrated first: a NULL seq cannot become NOT NULL.
    op.drop_index("ix_messages_pending", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
