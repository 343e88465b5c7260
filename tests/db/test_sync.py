"""The sync's own statements (db/sync.py), where the databases differ."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from notifyd.db import sync as syncstore


def test_a_chunks_scratch_rows_leave_nothing_behind_for_the_next_chunk(engine: Engine) -> None:
    """On PostgreSQL a DELETE would leave them dead in the temporary table (autovacuum never
    visits one): every later chunk would read them all again. Emptied by TRUNCATE, the table
    is as large after fifty chunks as after one."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite reuses a deleted row's space; only PostgreSQL keeps dead rows")
    rows = [(f"P{i:06d}", i, f"{i:032x}") for i in range(2000)]
    with engine.begin() as conn:
        syncstore.create_scratch(conn)
        assert syncstore.stage_chunk(conn, rows) == {}  # no permit stored: nothing to compare
        one = conn.exec_driver_sql("SELECT pg_relation_size('sync_chunk')").scalar_one()
        for _ in range(49):
            syncstore.stage_chunk(conn, rows)
        fifty = conn.exec_driver_sql("SELECT pg_relation_size('sync_chunk')").scalar_one()
    assert one > 0 and fifty == one
