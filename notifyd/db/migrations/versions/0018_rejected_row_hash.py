"""rejected rows keep their line's hash: an unchanged rejected line is not judged again

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rejected_rows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_hash", sa.String(length=32), nullable=True))
    live = sa.text("row_hash IS NOT NULL")
    op.create_index(
        "ix_rejected_rows_live", "rejected_rows", ["row_hash"], unique=False,
        sqlite_where=live, postgresql_where=live,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_rejected_rows_live", table_name="rejected_rows")
    with op.batch_alter_table("rejected_rows", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
