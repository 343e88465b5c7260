"""What the store already knows of a registry's lines, loaded once per sync: the row hash of
every active permit and of every rejected line still in the registry.

A daily sync meets nearly every line unchanged; deciding that from a hash in memory, before
any field is built or staged, is what makes its cost follow what changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from notifyd.db.store import executemany

#: Row hashes are the 8 bytes of a keyed BLAKE2b read as a signed 64-bit integer: what
#: `permits.row_key` (BIGINT) holds and a numpy int64 array sorts.
SIGN = 1 << 63


def hash_key(hex_hash: str | None) -> int | None:
    """A stored row hash (16 hex digits) as the signed int the sync compares; None for a
    blank or an older, longer hash (staff blank it to force a re-read): such a permit is read
    again."""
    if not hex_hash or len(hex_hash) != 16:
        return None
    try:
        key = int(hex_hash, 16)
    except ValueError:
        return None
    return key - 2 * SIGN if key >= SIGN else key


@dataclass(frozen=True)
class Active:
    """The active permits' row hashes, sorted, with their permit ids alongside (16 bytes a
    permit, where a dict of ints took about 100), the active permits without a usable hash,
    and the largest permit id."""

    keys: npt.NDArray[np.int64]
    ids: npt.NDArray[np.int64]
    unhashed: npt.NDArray[np.int64]
    top: int


def active_hashes(conn: Connection) -> Active:
    """Every active permit's row hash, in order: read from the partial index on row_key of
    the active permits (`ix_permits_row_key`), so neither the table nor a sort is needed."""
    top = conn.exec_driver_sql("SELECT max(id) FROM permits").scalar_one() or 0
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn.dialect.name == "sqlite":
            rows = _sqlite_keys(cursor)
        else:
            cursor.execute(
                "SELECT row_key, id FROM permits WHERE active AND row_key IS NOT NULL "
                "ORDER BY row_key"
            )
            # straight from the driver's rows into one array: no list of a million tuples
            rows = np.fromiter(chain.from_iterable(cursor), dtype=np.int64).reshape(-1, 2)
        cursor.execute("SELECT id FROM permits WHERE active AND row_key IS NULL")
        unhashed = np.fromiter(chain.from_iterable(cursor), dtype=np.int64)
    finally:
        cursor.close()
    return Active(rows[:, 0].copy(), rows[:, 1].copy(), unhashed, int(top))


#: SQLite's active keys, a page at a time: the next PAGE (row key, id) pairs in the index's
#: order, as one text of decimal numbers that numpy reads (SQLite writes them: no Python
#: object is made a permit, a third of the time the driver's rows took).
_PAGE = (
    "SELECT group_concat(row_key || ',' || id, ','), count(*) FROM ("
    "SELECT row_key, id FROM permits WHERE active AND row_key IS NOT NULL AND row_key >= ? "
    "AND (row_key > ? OR id > ?) ORDER BY row_key, id LIMIT ?)"
)
PAGE = 100_000


def _sqlite_keys(cursor: Any) -> npt.NDArray[np.int64]:
    """(row key, id) of every active permit with a key, in key then id order."""
    parts = [np.zeros((0, 2), dtype=np.int64)]
    key, pid = -(1 << 63), -1
    while True:
        text, n = cursor.execute(_PAGE, (key, key, pid, PAGE)).fetchone()
        if not n:
            break
        page = np.fromstring(text, dtype=np.int64, sep=",").reshape(-1, 2)
        if len(page) != n:
            raise RuntimeError(f"read {len(page)} of {n} active keys")
        if not _ordered(page):  # group_concat follows the rows' order in SQLite; if not, sort
            page = page[np.lexsort((page[:, 1], page[:, 0]))]
        parts.append(page)
        last = int(page[-1, 0]), int(page[-1, 1])
        if last <= (key, pid) or (key, pid) >= tuple(page[0].tolist()):
            raise RuntimeError("the active keys' pages do not move on")  # never a loop
        key, pid = last
        if n < PAGE:
            break
    return np.concatenate(parts)


def _ordered(rows: npt.NDArray[np.int64]) -> bool:
    keys, ids = rows[:, 0], rows[:, 1]
    after = (keys[1:] > keys[:-1]) | ((keys[1:] == keys[:-1]) & (ids[1:] > ids[:-1]))
    return bool(after.all())


def find(active: Active, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The permit id whose stored hash each key is (0: none), for a whole chunk at once."""
    if not len(active.keys):
        return np.zeros(len(keys), dtype=np.int64)
    order = np.argsort(keys)  # sorted needles: each search starts where the last one ended
    at = np.empty_like(order)
    at[order] = np.searchsorted(active.keys, keys[order])
    at[at == len(active.keys)] = 0
    return np.where(active.keys[at] == keys, active.ids[at], 0)


def set_row_keys(conn: Connection, keys: Sequence[tuple[int, int]]) -> None:
    """Give permits met unchanged (same text hash) their row key, (key, permit id): so that
    the next sync finds them in memory instead of reading them again."""
    executemany(conn, "UPDATE permits SET row_key = ? WHERE id = ?", keys)


def seen_lines(top: int) -> npt.NDArray[np.int64]:
    """Permit id → the snapshot line that holds it (0: not met yet); 8 bytes a permit."""
    return np.zeros(top + 1, dtype=np.int64)


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
