"""Private files whatever the umask: `notifyd sync` from a shell with umask 022, files left
loose by earlier versions, and the SQLite engine on its own."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import config_dict, person, write_registry, write_toml
from notifyd.db import store
from notifyd.service.private import secure_state_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sync_from_a_shell_with_umask_022_writes_private_files(tmp_path: Path) -> None:
    """The battery's case: `umask 022; notifyd sync` made state/ 0755 and the database 0644."""
    registry = write_registry(tmp_path / "registry.csv", [person(i) for i in range(3)])
    state = tmp_path / "state"
    cfg = write_toml({**config_dict(registry), "state_dir": str(state)}, tmp_path / "n.toml")
    result = subprocess.run(
        [sys.executable, "-m", "notifyd.cli.main", "-c", str(cfg), "sync"],
        capture_output=True, text=True, preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert mode(state) == 0o700
    files = [p for p in state.rglob("*")]
    assert {p.name for p in files} >= {"notifyd.db"}
    assert {p.name: mode(p) for p in files if p.is_file()} == {p.name: 0o600 for p in files
                                                              if p.is_file()}  # fmt: skip


def test_loose_files_from_earlier_versions_are_reported_once_and_made_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    (state / "audio").mkdir(parents=True)
    os.chmod(state, 0o755)
    os.chmod(state / "audio", 0o755)
    db = state / "notifyd.db"
    db.write_bytes(b"")
    os.chmod(db, 0o644)
    note = state / "audio" / "ab12.ogg"
    note.write_bytes(b"OggS")
    os.chmod(note, 0o640)
    private = state / "ok.txt"
    private.write_text("")
    os.chmod(private, 0o600)
    caplog.set_level(logging.WARNING)
    tightened = secure_state_dir(state)
    assert set(tightened) == {state, state / "audio", db, note}
    assert (mode(state), mode(state / "audio"), mode(db), mode(note)) == (0o700, 0o700, 0o600,
                                                                           0o600)  # fmt: skip
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "made private" in warning.getMessage() and warning.files == 4  # type: ignore[attr-defined]
    assert secure_state_dir(state) == []  # nothing left to say


def test_the_sqlite_engine_makes_its_files_private_under_any_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        engine = store.open_store(f"sqlite:///{tmp_path / 'fresh' / 'notifyd.db'}")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        folder = tmp_path / "fresh"
        with store.reading(engine) as conn:  # open: the -wal and -shm files exist
            conn.exec_driver_sql("SELECT * FROM t").all()
            files = {p.name: mode(p) for p in folder.iterdir()}
        assert mode(folder) == 0o700
        assert {"notifyd.db", "notifyd.db-wal", "notifyd.db-shm"} <= set(files)
        assert set(files.values()) == {0o600}
        engine.dispose()
    finally:
        os.umask(old)
