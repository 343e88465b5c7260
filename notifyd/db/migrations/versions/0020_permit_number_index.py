"""permits' numbers unique through an index, not a table constraint: SQLite cannot drop a
constraint's index, and a first sync builds this one once, at the end, instead of taking a
million numbers into it in random order

Revision ID: 0020
Revises: 0019
"""

from alembic import op


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

NAME = "uq_permits_permit_number"


def upgrade() -> None:
    with op.batch_alter_table("permits", schema=None) as batch_op:  # SQLite: a copy of the table
        batch_op.drop_constraint(NAME, type_="unique")
    op.create_index(NAME, "permits", ["permit_number"], unique=True)


def downgrade() -> None:
    op.drop_index(NAME, table_name="permits")
    with op.batch_alter_table("permits", schema=None) as batch_op:
        batch_op.create_unique_constraint(NAME, ["permit_number"])
