"""Scratch databases for the benchmarks: made afresh, always dropped after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(server: str, name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database `notifyd_<name>_bench` on the server `server` names,
    dropped on the way out (even after an error); "" (SQLite in the bench's temp dir) when
    `server` is empty."""
    if not server:
        yield ""
        return
    db = f"notifyd_{name}_bench"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        yield make_url(server).set(database=db).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
