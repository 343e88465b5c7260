"""Private files whatever the umask: the state folder 0700, everything in it 0600.

The unit's `UMask=0077` protects only the service; `notifyd sync` run from a shell with umask
022 once made the database, its WAL and SHM world-readable, and they hold names, phone and
passport numbers. The command sets umask 077 before anything is written (cli.main), the
SQLite engine makes its files 0600 itself (db.store), and at start this checks the folder
for looser files made by earlier versions: it says so, once, and tightens them.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)
#: Files looked at, at most: the audio cache can be large, and this runs at every start.
MAX_FILES = 100_000


def secure_state_dir(state_dir: str | Path) -> list[Path]:
    """Make the state folder (0700) if it is missing; tighten it and whatever in it others
    may read. Returns what was tightened (logged as one warning)."""
    root = Path(state_dir)
    if not str(state_dir):
        return []
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    loose: list[Path] = []
    seen = 0
    for path in [root, *_walk(root)]:
        seen += 1
        if seen > MAX_FILES:
            break
        try:
            st = path.lstat()
        except OSError:
            continue  # gone meanwhile
        if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
            continue
        private = 0o700 if stat.S_ISDIR(st.st_mode) else 0o600
        try:
            os.chmod(path, private)
        except OSError as exc:
            log.warning("cannot make a state file private", extra={"path": str(path),
                        "error": exc.strerror or str(exc)})  # fmt: skip
            continue
        loose.append(path)
    if loose:
        log.warning(
            "state files others could read, from an earlier version or another umask: "
            "made private (folders 0700, files 0600)",
            extra={"files": len(loose), "examples": [str(p) for p in loose[:5]]},
        )
    return loose


def _walk(root: Path) -> list[Path]:
    out: list[Path] = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        out.extend(base / d for d in dirs)
        out.extend(base / f for f in files)
        if len(out) > MAX_FILES:
            break
    return out
