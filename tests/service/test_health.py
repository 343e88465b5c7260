"""Bad days: real SQLite errors for a full database and a read-only one, the degraded state
logged once per change with backoff, and `notifyd status` reading the disk."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from notifyd.service.health import Health, classify, storage


def full_error(tmp_path: Path) -> OperationalError:
    """SQLite's own "database or disk is full", made by capping the file's pages."""
    engine = create_engine(f"sqlite:///{tmp_path / 'full.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x BLOB)"))
    with pytest.raises(OperationalError) as caught, engine.begin() as conn:
        conn.execute(text("PRAGMA max_page_count = 3"))
        conn.execute(text("INSERT INTO t VALUES (zeroblob(100000))"))
    return caught.value


def read_only_error(tmp_path: Path) -> OperationalError:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(OperationalError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    return caught.value


def test_real_database_errors_are_told_apart(tmp_path: Path) -> None:
    assert classify(full_error(tmp_path)) == "disk_full"
    assert classify(read_only_error(tmp_path)) == "read_only"
    assert classify(OSError(28, "No space left on device")) == "disk_full"
    assert classify(KeyError("a bug")) is None  # not a bad day: logged whole, as before


def test_a_bad_day_is_logged_once_per_change_with_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="notifyd.service.health")
    health = Health(base=1.0)
    full = full_error(tmp_path)
    t = 1000.0
    waits = []
    for _ in range(8):  # eight failing ticks
        assert health.failed(full, now=t)
        waits.append(health.next_try - t)
        assert health.waiting(t) and not health.waiting(health.next_try)
        t = health.next_try
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert health.degraded() == "disk_full"
    health.failed(read_only_error(tmp_path), now=t)  # another state: said once more
    health.recovered(now=t + 5)
    health.recovered(now=t + 6)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "degraded: the disk holding the database is full; sending waits and resumes by itself "
        "when it recovers",
        "degraded: the database is read-only; sending waits and resumes by itself when it recovers",
        "recovered: the database takes writes again; sending resumes",
    ]
    assert health.degraded() is None and not health.waiting(t)


def test_storage_reads_free_space(tmp_path: Path) -> None:
    """(A full disk, for real, in tests/service/test_daemon.py on a small tmpfs.)"""
    db = tmp_path / "state" / "notifyd.db"
    db.parent.mkdir()
    db.write_bytes(b"")
    got = storage(f"sqlite:///{db}")
    assert got["state"] == "ok" and got["free_bytes"] > 0


def test_a_database_server_has_no_local_disk_to_read() -> None:
    assert storage("postgresql+psycopg://db.example/notifyd") == {}
