"""The permit numbers a snapshot has met so far, each with its first line: what tells a repeated
number (a duplicate row) from a new one.

Kept in memory, about 32 bytes a number: sorted runs of 64-bit hashes (numpy sorts and searches
them in C), each beside its line and its number's own bytes, so that a hash met again is checked
against the number itself and the answer stays exact. Runs merge as they grow, up to RUN
entries, so a lookup searches a few of them. Numbers longer than WIDTH bytes (none in a real
export) live in a dict. This replaced a temporary SQL table whose B-tree took every number in
random order: the 999,319 numbers of the 1 M bench export in chunks of 2,000 took it 3.5-3.9
CPU-s and a 48 MiB page cache, these runs 1.9.

A first sync on PostgreSQL keeps its registry ids as hashes alone (MetKeys, 8 bytes a person):
a registry id met again is rare and the people stored settle each hit exactly
(db/sync_first.insert_people).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

#: Bytes of a number kept beside its hash; longer numbers go to `FirstLines.long`.
WIDTH = 16
#: Entries a run grows to by merging, at most: a merge's copies stay small (a few MB), and a
#: million numbers make eight runs to search.
RUN = 1 << 17


@dataclass
class _Run:
    keys: npt.NDArray[np.int64]  # sorted
    lines: npt.NDArray[np.int64]
    numbers: npt.NDArray[np.bytes_]  # fixed width; a number's own bytes, to check a hash hit


@dataclass
class FirstLines:
    """Permit number → the first line of the snapshot that holds it, for one sync."""

    runs: list[_Run] = field(default_factory=list)
    long: dict[str, int] = field(default_factory=dict)

    def first(self, rows: Sequence[tuple[str, int]]) -> dict[str, int]:
        """Each number's first line, for (number, line) pairs in line order: an earlier call's
        line if one had the number, else the first line here, which later calls then get."""
        first: dict[str, int] = {}
        for number, line in rows:
            first.setdefault(number, line)
        short: list[tuple[str, bytes]] = []
        for number in first:
            raw = number.encode()
            if len(raw) <= WIDTH and b"\0" not in raw:  # fixed-width bytes drop trailing NULs
                short.append((number, raw))
            elif number in self.long:
                first[number] = self.long[number]
            else:
                self.long[number] = first[number]
        if not short:
            return first
        keys = np.fromiter((hash(raw) for _, raw in short), np.int64, len(short))
        order = np.argsort(keys)  # sorted needles: searchsorted walks each run once
        keys = keys[order]
        numbers = np.array([short[i][1] for i in order.tolist()], dtype=f"S{WIDTH}")
        met = np.zeros(len(short), dtype=bool)
        for run in self.runs:
            at = np.searchsorted(run.keys, keys)
            for i in np.flatnonzero(run.keys[np.minimum(at, len(run.keys) - 1)] == keys):
                line = _line_of(run, int(keys[i]), numbers[i], int(at[i]))
                if line:
                    first[short[order[i]][0]] = line
                    met[i] = True
        new = np.flatnonzero(~met)
        lines = np.fromiter((first[short[i][0]] for i in order[new].tolist()), np.int64, len(new))
        self._add(keys[new], lines, numbers[new])
        return first

    def _add(
        self,
        keys: npt.NDArray[np.int64],
        lines: npt.NDArray[np.int64],
        numbers: npt.NDArray[np.bytes_],
    ) -> None:
        if not len(keys):
            return
        self.runs.append(_Run(keys, lines, numbers))  # sorted already
        while _merge_last(len(run.keys) for run in self.runs[-2:]):
            b, a = self.runs.pop(), self.runs.pop()
            keys = np.concatenate((a.keys, b.keys))
            order = np.argsort(keys, kind="stable")
            self.runs.append(
                _Run(
                    keys[order],
                    np.concatenate((a.lines, b.lines))[order],
                    np.concatenate((a.numbers, b.numbers))[order],
                )
            )


@dataclass
class MetKeys:
    """The keys met so far, kept as their 64-bit hashes alone: "not met" is exact, "maybe met"
    (met, or another key with its hash) is for the caller to settle against what it stored.
    8 bytes a key: a million registry ids took 32 MB as FirstLines (the process tree's peak
    of a first sync on PostgreSQL was 266 MB against a 250 MB target)."""

    runs: list[npt.NDArray[np.int64]] = field(default_factory=list)

    def meet(self, keys: Sequence[str]) -> list[str]:
        """The distinct `keys` that may have been met before; all of them count as met after."""
        hashes = np.fromiter((hash(k) for k in keys), np.int64, len(keys))
        maybe = np.zeros(len(keys), dtype=bool)
        for run in self.runs:
            maybe |= run[np.minimum(np.searchsorted(run, hashes), len(run) - 1)] == hashes
        new = np.unique(hashes[~maybe])  # sorted
        if len(new):
            self.runs.append(new)
        while _merge_last(len(run) for run in self.runs[-2:]):
            b, a = self.runs.pop(), self.runs.pop()
            self.runs.append(np.sort(np.concatenate((a, b))))
        return [keys[i] for i in np.flatnonzero(maybe).tolist()]


def _merge_last(sizes: Iterable[int]) -> bool:
    """Whether the last two runs (their sizes, oldest first) merge: about as large, and
    together within RUN."""
    pair = list(sizes)
    return len(pair) == 2 and pair[1] * 2 >= pair[0] and sum(pair) <= RUN


def _line_of(run: _Run, key: int, number: np.bytes_, at: int) -> int:
    """The line of `number` in `run`, among the entries from `at` with its hash (two numbers
    with one 64-bit hash are possible, if unlikely); 0 if it is not there."""
    while at < len(run.keys) and run.keys[at] == key:
        if run.numbers[at] == number:
            return int(run.lines[at])
        at += 1
    return 0
