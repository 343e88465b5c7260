"""What the store already knows of a registry's lines, loaded once per sync: the row hash of
every active permit and of every rejected line still in the registry.

A daily sync meets nearly every line unchanged; deciding that from a hash in memory, before
any field is built or staged, is what makes its cost follow what changed.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Sequence

from sqlalchemy import Connection

from notifyd.db.store import executemany


def hash_key(hex_hash: str | None) -> int | None:
    """A stored row hash (16 hex digits) as the int the sync compares; None for a blank or an
    older, longer hash (staff blank it to force a re-read): such a permit is read again."""
    if not hex_hash or len(hex_hash) != 16:
        return None
    try:
        return int(hex_hash, 16)
    except ValueError:
        return None


def active_hashes(conn: Connection) -> tuple[dict[int, int], list[int], int]:
    """Row hash → permit id for every active permit, the active permits without a usable
    hash, and the largest permit id."""
    out: dict[int, int] = {}
    unhashed: list[int] = []
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute("SELECT id, row_hash FROM permits WHERE active")
        top = 0
        while batch := cursor.fetchmany(10_000):
            for pid, hex_hash in batch:
                top = max(top, pid)
                key = hash_key(hex_hash)
                if key is None:
                    unhashed.append(pid)
                else:
                    out[key] = pid
        cursor.execute("SELECT max(id) FROM permits")
        top = max(top, cursor.fetchone()[0] or 0)
    finally:
        cursor.close()
    return out, unhashed, top


def seen_lines(top: int) -> array[int]:
    """Permit id → the snapshot line that holds it (0: not met yet); 8 bytes a permit."""
    return array("q", bytes(8 * (top + 1)))


def live_rejections(conn: Connection) -> dict[int, tuple[int, tuple[str, ...]]]:
    """Row hash → (rejected row id, reasons) for the lines rejected whole by the last syncs
    and still unchanged then."""
    out: dict[int, tuple[int, tuple[str, ...]]] = {}
    for rid, hex_hash, reasons in conn.exec_driver_sql(
        "SELECT id, row_hash, reasons FROM rejected_rows WHERE row_hash IS NOT NULL"
    ):
        key = hash_key(hex_hash)
        if key is not None:
            out[key] = (rid, tuple(json.loads(reasons)))
    return out


def keep_rejections(conn: Connection, run_id: int, kept: Sequence[tuple[int, int]]) -> None:
    """Move the rejections met unchanged, (row id, line now), to this run, where `notifyd
    rejected` shows them; the others stop being live (their line changed or left)."""
    executemany(conn, "UPDATE rejected_rows SET run_id = ?, line = ? WHERE id = ?",
                [(run_id, line, rid) for rid, line in kept])  # fmt: skip
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    conn.exec_driver_sql(
        f"UPDATE rejected_rows SET row_hash = NULL WHERE row_hash IS NOT NULL AND run_id <> {mark}",
        (run_id,),
    )
