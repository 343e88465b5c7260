"""A snapshot's lines with their hashes: what a sync compares before it builds any row.

A CSV export hashes each line's raw cells (under the header, the column mapping and the
config's fingerprint), so an unchanged line costs its parse and one hash; a source without
raw lines hashes the fields it gives.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any

from notifyd.config import Config
from notifyd.model import RawRow
from notifyd.registry.columns import Lines

#: (line, row hash, what the source gave: raw cells or a RawRow)
Unit = tuple[int, int, Any]
Make = Callable[[int, Any], RawRow]


MASK = (1 << 64) - 1


def hex_hash(key: int) -> str:
    """The stored text form of a row hash (16 hex digits; the key is signed, the text not)."""
    return f"{key & MASK:016x}"


def _keyed(key: bytes) -> Any:
    return hashlib.blake2b(digest_size=8, key=hashlib.blake2b(key, digest_size=32).digest())


def row_hash(values: dict[str, str], fp: bytes) -> int:
    """A row's identity from its fields and values, under the config's fingerprint."""
    h = _keyed(fp)
    h.update("\x1f".join(values).encode())
    h.update("\x1e".join(values.values()).encode())
    return int.from_bytes(h.digest(), "big", signed=True)


def units(source: Any, cfg: Config, fp: bytes) -> tuple[Iterator[Unit], Make]:
    """The source's lines with their hashes, and how to build the row of one that changed.
    The source is opened (and its header checked) before this returns."""
    read_lines = getattr(source, "read_lines", None)
    if read_lines is None:
        rows = iter(source.read(cfg))
        first = next(rows, None)  # opens the source and reads its header
        return _from_rows(rows, first, fp), _given
    lines: Lines = read_lines(cfg)
    if lines.raw is not None:
        return _from_raw(lines.raw, _keyed(fp + lines.key)), lines.make
    return _from_lines(lines, fp), lines.make


def _given(_line: int, row: RawRow) -> RawRow:
    return row


def _from_rows(rows: Iterator[RawRow], first: RawRow | None, fp: bytes) -> Iterator[Unit]:
    if first is None:
        return
    yield first.line, row_hash(first.values, fp), first
    for r in rows:
        yield r.line, row_hash(r.values, fp), r


def _from_lines(lines: Lines, fp: bytes) -> Iterator[Unit]:
    base = _keyed(fp + lines.key)
    copy, frombytes = base.copy, int.from_bytes
    used = lines.used
    if len(used) > 1:
        pick = itemgetter(*used)
        for line, cells in lines.rows:
            h = copy()
            h.update("\x1f".join(pick(cells)).encode())
            yield line, frombytes(h.digest(), "big", signed=True), cells
        return
    for line, cells in lines.rows:
        h = copy()
        h.update("\x1f".join(cells[i] for i in used).encode())
        yield line, frombytes(h.digest(), "big", signed=True), cells


def _from_raw(records: Iterator[tuple[int, bytes | None, Any]], base: Any) -> Iterator[Unit]:
    """A line's raw text is its hash; a record read as cells (a quote in it) hashes its cells
    after a NUL, which no raw line given here holds, so the two never meet."""
    copy, frombytes = base.copy, int.from_bytes
    for line, text, given in records:
        h = copy()
        h.update(b"\0" + "\x1f".join(given).encode() if text is None else text)
        yield line, frombytes(h.digest(), "big", signed=True), given
