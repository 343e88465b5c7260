"""A first sync into an empty store: the scratch tables' larger cache, and giving it back."""

from __future__ import annotations

from pathlib import Path

from notifyd.db import store, sync_first
from notifyd.db import sync as syncstore


def test_a_first_sync_widens_the_scratch_cache_and_gives_it_back(tmp_path: Path) -> None:
    engine = store.open_store(f"sqlite:///{tmp_path / 'n.db'}")
    try:
        with engine.begin() as conn:
            syncstore.create_seen(conn)
            before = conn.exec_driver_sql("PRAGMA temp.cache_size").scalar()
            assert sync_first.first_ids(conn) is not None
            widened = conn.exec_driver_sql("PRAGMA temp.cache_size").scalar()
            assert widened == -sync_first.SEEN_CACHE_KIB != before
            sync_first.finish(conn)
            assert conn.exec_driver_sql("PRAGMA temp.cache_size").scalar() == before
    finally:
        engine.dispose()
