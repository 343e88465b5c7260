"""A snapshot's lines with their hashes, in blocks: what a sync compares before it builds any
row.

A CSV export hashes each line's raw text, or its raw cells (under the header, the column
mapping and the config's fingerprint), so an unchanged line costs its read and one hash; a
source without raw lines hashes the fields it gives. A block's hashes come as one array, for
the sync to look them all up at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from itertools import chain, islice
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from notifyd.config import Config
from notifyd.model import RawRow
from notifyd.registry.columns import Lines

#: Lines a block holds at most (a source giving blocks of its own may give other sizes).
BLOCK = 2000
#: (lines, their row hashes, what the source gave for each: raw text, raw cells or a RawRow)
Block = tuple[list[int], npt.NDArray[np.int64], list[Any]]
Make = Callable[[int, Any], RawRow]
MASK = (1 << 64) - 1


def hex_hash(key: int) -> str:
    """The stored text form of a row hash (16 hex digits; the key is signed, the text not)."""
    return f"{key & MASK:016x}"


def _keyed(key: bytes) -> Any:
    return hashlib.blake2b(digest_size=8, key=hashlib.blake2b(key, digest_size=32).digest())


def _signed(digests: list[bytes]) -> npt.NDArray[np.int64]:
    """8-byte digests read as big-endian signed integers, all at once."""
    return np.frombuffer(b"".join(digests), dtype=">i8").astype(np.int64)


def row_hash(values: dict[str, str], fp: bytes) -> int:
    """A row's identity from its fields and values, under the config's fingerprint."""
    h = _keyed(fp)
    h.update("\x1f".join(values).encode())
    h.update("\x1e".join(values.values()).encode())
    return int.from_bytes(h.digest(), "big", signed=True)


def units(source: Any, cfg: Config, fp: bytes) -> tuple[Iterator[Block], Make]:
    """The source's lines with their hashes, in blocks, and how to build the row of one that
    changed. The source is opened (and its header checked) before this returns."""
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


def _from_rows(rows: Iterator[RawRow], first: RawRow | None, fp: bytes) -> Iterator[Block]:
    if first is None:
        return
    rows = chain([first], rows)
    while part := list(islice(rows, BLOCK)):
        keys = np.array([row_hash(r.values, fp) for r in part], dtype=np.int64)
        yield [r.line for r in part], keys, part


def _from_lines(lines: Lines, fp: bytes) -> Iterator[Block]:
    """Cells hashed by the columns that feed some field (a row number changes nothing)."""
    base = _keyed(fp + lines.key)
    copy = base.copy
    used = lines.used
    pick = itemgetter(*used) if len(used) > 1 else (lambda cells: [cells[i] for i in used])
    while part := list(islice(lines.rows, BLOCK)):
        digests = []
        for _, cells in part:
            h = copy()
            h.update("\x1f".join(pick(cells)).encode())
            digests.append(h.digest())
        yield [line for line, _ in part], _signed(digests), [cells for _, cells in part]


def _from_raw(blocks: Iterator[tuple[list[int], list[Any]]], base: Any) -> Iterator[Block]:
    """A line's raw text is its hash; a record read as cells (a quote in it) hashes its cells
    after a NUL, which no raw line given here holds, so the two never meet."""
    copy = base.copy
    for lines, given in blocks:
        digests: list[bytes] = []
        add = digests.append
        for g in given:
            h = copy()
            h.update(g if g.__class__ is bytes else b"\0" + "\x1f".join(g).encode())
            add(h.digest())
        yield lines, _signed(digests), given
