"""Fewer garbage collections while a large sync allocates and drops millions of objects.

A sync makes a few tuples per row and keeps almost none: every 700 allocations CPython's
collector walks the young objects, and now and then every object the process holds (the
imported modules' hundreds of thousands). Freezing what exists before the sync moves it out
of the collector's sight, and a larger first threshold makes the walks rarer; cycles the
sync makes (there are few) are still collected.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between young collections during a sync (CPython's default: 700).
THRESHOLD = (50_000, 20, 20)


def quieten() -> None:
    """For a process whose only job is the sync (a normalising worker): for good."""
    gc.freeze()
    gc.set_threshold(*THRESHOLD)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """For the length of a sync in a process that outlives it (the daemon): then as before."""
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    quieten()
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if not frozen:  # what someone else froze before the sync stays frozen
            gc.unfreeze()
