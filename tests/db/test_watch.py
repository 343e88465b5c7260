"""The idle tick's look: on SQLite from the loop's thread, the same answer as through the pool,
and out of the way (None) whenever it could not read at once."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from sqlalchemy import Engine

from conftest import FRIDAY_MORNING, person
from notifyd import plugins
from notifyd.config import Config
from notifyd.db import dispatch as ds
from notifyd.db import store
from notifyd.db.watch import Watcher, watch
from notifyd.registry.sync import run_sync


def test_the_loops_look_sees_what_the_pools_look_sees(
    sqlite_engine: Engine, make_config: Callable[..., Config]
) -> None:
    rows = [person(1), person(2, expiry_date="2027-03-01")]
    run_sync(make_config(rows), sqlite_engine, plugins.make_manager(), FRIDAY_MORNING)
    ds.set_control(sqlite_engine, "sms", "pause", "ops", FRIDAY_MORNING)
    watcher = Watcher(sqlite_engine)
    try:
        looked = watcher.look()
        assert looked == watch(sqlite_engine)
        assert looked is not None and looked.controls == (1, 1)
        assert looked.next_due is not None and looked.next_due.tzinfo == UTC
        assert watcher.looks == 1
        ds.set_control(sqlite_engine, "sms", "resume", "ops", FRIDAY_MORNING)
        again = watcher.look()  # a change made elsewhere is seen at the next look
        assert again is not None and again.controls == (2, 2)
    finally:
        watcher.close()


def test_a_look_leaves_no_read_open_to_hold_back_the_checkpoint(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    """A reader that kept its read open would keep the WAL from being copied back and cut."""
    watcher = Watcher(sqlite_engine)
    checkpoint = sqlite3.connect(tmp_path / "n.db", isolation_level=None)
    try:
        assert watcher.look() is not None
        ds.set_control(sqlite_engine, "*", "pause", "ops", FRIDAY_MORNING)  # WAL frames
        assert watcher.look() is not None
        busy, _, _ = checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
        assert (tmp_path / "n.db-wal").stat().st_size == 0
    finally:
        checkpoint.close()
        watcher.close()


def test_a_look_that_would_wait_steps_aside(tmp_path: Path, sqlite_engine: Engine) -> None:
    """A writer holding the file (a rollback journal's exclusive lock): no wait on the loop."""
    watcher = Watcher(sqlite_engine)
    sqlite_engine.dispose()
    writer = sqlite3.connect(tmp_path / "n.db", isolation_level=None)
    try:
        assert writer.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
        writer.execute("BEGIN EXCLUSIVE")
        assert watcher.look() is None
        assert watcher.looks == 0
        writer.execute("COMMIT")
        assert watcher.look() is not None  # the next tick reads again
    finally:
        writer.close()
        watcher.close()


def test_only_a_sqlite_file_is_watched_from_the_loop(tmp_path: Path) -> None:
    on_disk = store.open_store(f"sqlite:///{tmp_path / 'n.db'}")
    in_memory = store.connect("sqlite://")
    try:
        assert Watcher.usable(on_disk)
        assert not Watcher.usable(in_memory)
    finally:
        on_disk.dispose()
        in_memory.dispose()
