"""The normalising worker processes (Normaliser) and what crosses to and from them: plain
tuples.

Pickling a dict, a named tuple and a dataclass per row (and calling each one's reduce) cost
the full sync as much as a sixth of its CPU; tuples of strings pickle in C. Rows go as
(line, values in one shared key order, problems); results come back as tuples that the
writer turns into Records and Rejections.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from operator import itemgetter
from typing import Any

from notifyd.model import Phone, RawRow, Record, Rejection
from notifyd.registry.collect import quieten
from notifyd.registry.normalise import FIELDS, Rules, clean, memo_for, normalise, normalise_cells

Packed = tuple[tuple[str, ...], list[tuple[Any, ...]]]
#: Rows to normalise before worker processes pay for their start (about a second each).
POOL_AFTER = 10_000


def pack_rows(rows: list[RawRow]) -> Packed:
    """Rows as (line, values, problems), the values in the first row's key order (a row
    with other keys keeps its dict)."""
    keys = tuple(rows[0].values) if rows else ()
    out: list[tuple[Any, ...]] = []
    for line, values, problems in rows:
        same = len(values) == len(keys) and tuple(values) == keys
        out.append((line, tuple(values.values()) if same else values, problems))
    return keys, out


def normalise_packed(packed: Packed, rules: Rules) -> list[tuple[Any, ...]]:
    """The worker's job: packed rows in, packed results out."""
    keys, rows = packed
    memo = memo_for(rules)
    pick = _picker(keys)
    out: list[tuple[Any, ...]] = []
    add = out.append
    for line, values, problems in rows:  # already packed results: no Record made
        if isinstance(values, dict):
            get = values.get
            t = normalise_cells(line, tuple([get(name, "") for name in FIELDS]), problems, memo)
            if not t[0]:
                t = (False, line, t[2], dict(values), t[4], t[5])
        else:
            t = normalise_cells(line, pick(values), problems, memo)
            if not t[0]:
                t = (False, line, t[2], dict(zip(keys, values, strict=True)), t[4], t[5])
        add(t)
    return out


def normalise_lines(
    rows: list[tuple[int, Any]], make: Callable[[int, Any], RawRow] | None, rules: Rules
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A first sync's worker job: each line's row built by the source's `make` (None: the
    writer built every row, its source's `make` does not pickle), then normalised; with each
    row's permit number as the sync compares them, for the writer to find repeated numbers
    in line order."""
    made = [row_of(make, line, g) for line, g in rows]
    numbers = [clean(r.values.get("permit_number", "")).upper() for r in made]
    return numbers, normalise_packed(pack_rows(made), rules)


def row_of(make: Callable[[int, Any], RawRow] | None, line: int, given: Any) -> RawRow:
    """A line's row: what the source gave for it, built by `make` unless already a RawRow."""
    if given.__class__ is RawRow or make is None:
        return given  # type: ignore[no-any-return]
    return make(line, given)


def _picker(keys: tuple[str, ...]) -> Callable[[tuple[str, ...]], tuple[str, ...]]:
    """Values in `keys` order → the cells normalise reads, in FIELDS order ("" for a field the
    source does not give), without a dict per row."""
    missing = len(keys)  # where an empty cell is added after the values
    get = itemgetter(*[keys.index(name) if name in keys else missing for name in FIELDS])
    if all(name in keys for name in FIELDS):
        return get  # type: ignore[no-any-return]
    return lambda values: get(values + ("",))  # type: ignore[no-any-return]


@contextmanager
def bare_main() -> Iterator[None]:
    """Start worker processes without the starter's script: a spawned process runs the
    `__main__` of its starter again, and `notifyd`'s imports every command (about 140 MB,
    where a worker needs 20 for normalising). Only around starting them, from the thread
    that starts them."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")  # no file, no spec: nothing to run
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def start_worker(parent: int) -> None:
    """A worker's initializer: watch its starter, and collect garbage less often (the
    worker lives for one sync)."""
    watch_parent(parent)
    quieten()


def watch_parent(parent: int, interval: float = 1.0) -> None:
    """A worker's initializer: leave as soon as the process that started it is gone.

    A `notifyd sync` killed (by a signal, a timeout, an OOM kill) cannot shut its pool down;
    its worker would wait forever on a queue nobody writes, and keep the multiprocessing
    resource tracker alive with it. `parent` is the starter's pid, given by it: a worker that
    starts after its starter died must leave too."""

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def unpack(results: list[tuple[Any, ...]]) -> list[Record | Rejection]:
    out: list[Record | Rejection] = []
    for t in results:
        if not t[0]:
            out.append(Rejection(*t[1:]))
            continue
        phone = None if t[11] is None else Phone(*t[11])
        whatsapp = phone if t[12] == t[11] else (None if t[12] is None else Phone(*t[12]))
        out.append(Record(*t[1:11], phone, whatsapp, *t[13:]))  # type: ignore[arg-type,call-arg]
    return out


def normalise_chunk(rows: list[RawRow], rules: Rules) -> list[Record | Rejection]:
    return [normalise(r, rules) for r in rows]


class Normaliser:
    """Normalises inline for a small registry, in worker processes once it proves large.

    `workers` is the number of extra processes (0: inline); the main process writes.
    """

    def __init__(self, rules: Rules, workers: int) -> None:
        self.rules, self.workers = rules, workers
        self.pool: Executor | None = None
        self.submitted = 0

    def submit(self, rows: list[RawRow]) -> Future[list[Record | Rejection]]:
        if self._pooled(len(rows)):
            assert self.pool is not None
            with bare_main():  # the pool starts its processes as they are needed, in submit
                packed = self.pool.submit(normalise_packed, pack_rows(rows), self.rules)
            result: Future[list[Record | Rejection]] = Future()
            packed.add_done_callback(lambda f: _unpacked(f, result, unpack))
            return result
        done: Future[list[Record | Rejection]] = Future()
        done.set_result(normalise_chunk(rows, self.rules))
        return done

    def submit_lines(
        self, rows: list[tuple[int, Any]], make: Callable[[int, Any], RawRow] | None
    ) -> Future[tuple[list[str], list[Record | Rejection]]]:
        """A first sync's lines: their rows built where they are normalised by `make`, which
        pickles (None: the rows are built already)."""
        result: Future[tuple[list[str], list[Record | Rejection]]] = Future()
        if self._pooled(len(rows)):
            assert self.pool is not None
            with bare_main():
                packed = self.pool.submit(normalise_lines, rows, make, self.rules)
            packed.add_done_callback(lambda f: _unpacked(f, result, _unpack_lines))
            return result
        numbers, results = normalise_lines(rows, make, self.rules)
        result.set_result((numbers, unpack(results)))
        return result

    def _pooled(self, rows: int) -> bool:
        """Whether these rows go to the workers (started here once the sync proves large)."""
        self.submitted += rows
        if self.pool is None and self.workers > 0 and self.submitted > POOL_AFTER and rows:
            self.pool = ProcessPoolExecutor(
                self.workers,
                mp_context=get_context("spawn"),
                initializer=start_worker,
                initargs=(os.getpid(),),
            )
        return self.pool is not None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _unpacked(packed: Future[Any], out: Future[Any], convert: Callable[[Any], Any]) -> None:
    if packed.cancelled():  # the pool shut down on an error elsewhere
        out.cancel()
        return
    error = packed.exception()
    if error is not None:
        out.set_exception(error)
    else:
        out.set_result(convert(packed.result()))


def _unpack_lines(
    packed: tuple[list[str], list[tuple[Any, ...]]],
) -> tuple[list[str], list[Record | Rejection]]:
    return packed[0], unpack(packed[1])


def pickles(make: Any) -> bool:
    """Whether a source's `make` can go to a worker, which then builds the rows itself."""
    try:
        pickle.dumps(make)
    except (pickle.PicklingError, TypeError, AttributeError):
        return False
    return True
