"""early receipts (receipts that came before their send was recorded, kept across restarts)
and waiting taps (a "listen" tap while sending was paused, answered after resume); people
found by phone number (a family's notices are spaced, replies find their sender)

Revision ID: 0012
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op


revision = "0012"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "early_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("opt_out", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_early_receipts")),
    )
    op.create_index(op.f("ix_early_receipts_attempt_id"), "early_receipts", ["attempt_id"])
    op.create_index(op.f("ix_early_receipts_received_at"), "early_receipts", ["received_at"])
    op.create_index(
        op.f("ix_early_receipts_channel_provider_id"), "early_receipts", ["channel", "provider_id"]
    )


    op.create_table(
        "waiting_taps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("tapped_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"], ["notifications.id"],
            name=op.f("fk_waiting_taps_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waiting_taps")),
        sa.UniqueConstraint(
            "notification_id", "channel", name=op.f("uq_waiting_taps_notification_id_channel")
        ),
    )


    op.create_index(op.f("ix_people_phone"), "people", ["phone"])
    op.create_index(op.f("ix_people_whatsapp"), "people", ["whatsapp"])


def downgrade() -> None:
    op.drop_index(op.f("ix_people_whatsapp"), table_name="people")
    op.drop_index(op.f("ix_people_phone"), table_name="people")
    op.drop_table("waiting_taps")
    op.drop_table("early_receipts")
