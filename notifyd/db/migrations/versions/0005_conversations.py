"""conversations (when a person last wrote on a channel) and the receipts' attempt lookup

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("channel", "phone", name=op.f("uq_conversations_channel_phone")),
    )


    op.create_index(
        op.f("ix_attempts_channel_provider_id"), "attempts", ["channel", "provider_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_attempts_channel_provider_id"), table_name="attempts")
    op.drop_table("conversations")
