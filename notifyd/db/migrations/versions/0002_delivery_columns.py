"""delivery columns shared by the dispatcher and the receipts

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "notifications",
        sa.Column("channel_pos", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "attempts",
        sa.Column("kind", sa.String(length=16), server_default="notice", nullable=False),
    )
    op.add_column("attempts", sa.Column("receipt", sa.String(length=16), nullable=True))
    op.add_column("attempts", sa.Column("receipt_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("attempts", "receipt_at")
    op.drop_column("attempts", "receipt")
    op.drop_column("attempts", "kind")
    op.drop_column("notifications", "channel_pos")
