"""A sync collects garbage less often while it runs, and leaves the process as it found it."""

from __future__ import annotations

import gc

from notifyd.registry.collect import THRESHOLD, fewer_collections


def test_fewer_collections_during_a_sync_then_as_before() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    with fewer_collections():
        assert gc.get_threshold() == THRESHOLD
        assert gc.get_freeze_count() > frozen  # what existed is out of the collector's sight
        assert THRESHOLD[0] > before[0]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_failing_sync_gives_the_thresholds_back_too() -> None:
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("the sync failed")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before


def test_what_was_frozen_before_the_sync_stays_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with fewer_collections():
            pass
        assert gc.get_freeze_count() >= frozen > 0
    finally:
        gc.unfreeze()
