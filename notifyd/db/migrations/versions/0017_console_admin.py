"""the console's admin pages: a reason on each pause/resume, the pilot allowlist kept in the
database (added to the config's), and indexes for the delivery log's keyset pages

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("controls") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "pilot_numbers",
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("added_by", sa.String(length=128), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_pilot_numbers")),
    )
    op.create_index(
        "ix_attempts_started_at_id", "attempts", ["started_at", "id"], unique=False
    )
    op.create_index(
        "ix_notifications_updated_at_id", "notifications", ["updated_at", "id"], unique=False
    )
    op.create_index(op.f("ix_people_language"), "people", ["language"], unique=False)
    op.create_index(op.f("ix_permits_office"), "permits", ["office"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_permits_office"), table_name="permits")
    op.drop_index(op.f("ix_people_language"), table_name="people")
    op.drop_index("ix_notifications_updated_at_id", table_name="notifications")
    op.drop_index("ix_attempts_started_at_id", table_name="attempts")
    op.drop_table("pilot_numbers")
    with op.batch_alter_table("controls") as batch:
        batch.drop_column("reason")
