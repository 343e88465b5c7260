"""attempts.address, whole notice reasons, extra notices staff send beside the planned one

Revision ID: 0016
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch:
        batch.add_column(sa.Column("address", sa.String(length=254), nullable=True))
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column(
            "reason", existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=True
        )
        batch.add_column(sa.Column("extra", sa.Integer(), server_default="0", nullable=False))
        batch.drop_constraint("uq_notifications_permit_id_expiry_date_stage", type_="unique")
        batch.create_unique_constraint(
            "uq_notifications_permit_id_expiry_date_stage_extra",
            ["permit_id", "expiry_date", "stage", "extra"],
        )


def downgrade() -> None:
    extras = op.get_bind().execute(sa.text("SELECT count(*) FROM notifications WHERE extra <> 0"))
    if extras.scalar_one():
        raise RuntimeError(
            "the database holds extra notices (staff resends of a stage not yet due), which "
            "the older schema cannot keep; downgrade refused so that no delivery history is lost"
        )
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("uq_notifications_permit_id_expiry_date_stage_extra", type_="unique")
        batch.drop_column("extra")
        batch.alter_column(
            "reason", existing_type=sa.Text(), type_=sa.String(length=64), existing_nullable=True
        )
        batch.create_unique_constraint(
            "uq_notifications_permit_id_expiry_date_stage", ["permit_id", "expiry_date", "stage"]
        )
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("address")
