"""permits keep their row hash as a signed 64-bit integer too, indexed for the active ones: a
sync loads them, in order, into a sorted array with no hex to parse

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BATCH = 10_000


def _key(hex_hash: str | None) -> int | None:
    """A 16-hex-digit hash read as a signed 64-bit integer (what the sync computes); None for
    a blank or older hash, whose permit the next sync reads again, as before."""
    if not hex_hash or len(hex_hash) != 16:
        return None
    try:
        key = int(hex_hash, 16)
    except ValueError:
        return None
    return key - (1 << 64) if key >= 1 << 63 else key


def upgrade() -> None:
    with op.batch_alter_table("permits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_key", sa.BigInteger(), nullable=True))
    conn = op.get_bind()
    permits = sa.table(
        "permits", sa.column("id", sa.Integer), sa.column("row_hash", sa.String),
        sa.column("row_key", sa.BigInteger),
    )  # fmt: skip
    update = (
        sa.update(permits)
        .where(permits.c.id == sa.bindparam("pid"))
        .values(row_key=sa.bindparam("key"))
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(permits.c.id, permits.c.row_hash)
            .where(permits.c.id > last)
            .order_by(permits.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        keyed = [{"pid": pid, "key": _key(h)} for pid, h in rows]
        keyed = [row for row in keyed if row["key"] is not None]
        if keyed:
            conn.execute(update, keyed)
    active = sa.text("active")
    op.create_index(
        "ix_permits_row_key", "permits", ["row_key"], unique=False,
        sqlite_where=active, postgresql_where=active, postgresql_include=["id"],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_permits_row_key", table_name="permits")
    with op.batch_alter_table("permits", schema=None) as batch_op:
        batch_op.drop_column("row_key")
