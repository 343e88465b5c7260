"""operator controls: pause and resume, all sending or one channel

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "controls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("by", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_controls")),
    )
    op.create_index(op.f("ix_controls_scope"), "controls", ["scope"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_controls_scope"), table_name="controls")
    op.drop_table("controls")
