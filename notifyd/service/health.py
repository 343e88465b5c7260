"""Bad days of the database: a full disk, a read-only file system, a server that is down.

The daemon used to log a full traceback on every tick. Now a failure of that kind puts it in
a degraded state, logged once when it begins and once when it ends; ticks back off (doubling
up to a minute) and sending resumes by itself when the database takes writes again. The state
shows in `/healthz` (503, "degraded") and, from the disk itself, in `notifyd status`.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from notifyd.db.store import classify

log = logging.getLogger(__name__)
SAY = {
    "disk_full": "the disk holding the database is full",
    "read_only": "the database is read-only",
    "database_error": "the database cannot be used",
}
MAX_BACKOFF = 60.0
#: Free space under which `notifyd status` calls the disk full.
LOW_SPACE = 1 << 20


class Health:
    """What the daemon knows of its database: ok, or degraded since when and why."""

    def __init__(self, base: float) -> None:
        self.base = base
        self.state = "ok"
        self.since: float | None = None
        self.failures = 0
        self.next_try = 0.0

    def degraded(self) -> str | None:
        return None if self.state == "ok" else self.state

    def waiting(self, now: float | None = None) -> bool:
        """True while backing off: skip this tick."""
        return self.state != "ok" and (now or time.monotonic()) < self.next_try

    def failed(self, exc: BaseException, now: float | None = None, disk: str | None = None) -> bool:
        """Record a failure; False when it is not a bad day but a bug (log it whole). `disk`
        is the file system's word (SQLite says "disk I/O error" when the WAL cannot grow)."""
        state = classify(exc)
        if state is None:
            return False
        if state == "database_error" and disk in SAY:
            state = disk
        now = now or time.monotonic()
        self.failures += 1
        self.next_try = now + min(MAX_BACKOFF, self.base * 2 ** min(self.failures, 10))
        if state != self.state:
            log.error(
                "degraded: %s; sending waits and resumes by itself when it recovers",
                SAY[state], extra={"state": state, "error": _short(exc)},
            )  # fmt: skip
            self.state, self.since = state, now
        return True

    def recovered(self, now: float | None = None) -> None:
        if self.state != "ok":
            took = (now or time.monotonic()) - (self.since or 0)
            log.warning("recovered: the database takes writes again; sending resumes",
                        extra={"was": self.state, "seconds": round(took, 1)})  # fmt: skip
        self.state, self.since, self.failures, self.next_try = "ok", None, 0, 0.0


def _short(exc: BaseException) -> str:
    """One line, without the statement parameters (they hold personal data)."""
    inner = getattr(exc, "orig", None) or exc
    first = str(inner).splitlines()[0] if str(inner) else ""
    return f"{type(exc).__name__}: {first}"[:300]


def storage(database_url: str) -> dict[str, Any]:
    """The embedded database's disk as the file system shows it, for `notifyd status`: free
    bytes and whether it takes writes. Empty for a database server (it has its own disk)."""
    if not database_url.startswith("sqlite:///"):
        return {}
    path = Path(database_url.split("///", 1)[1])
    folder = path.parent
    if not folder.exists():
        return {}
    free = shutil.disk_usage(folder).free
    writable = os.access(folder, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
    flags = os.statvfs(folder).f_flag
    read_only = bool(flags & os.ST_RDONLY) or not writable
    state = "read_only" if read_only else "disk_full" if free < LOW_SPACE else "ok"
    return {"state": state, "free_bytes": free, "says": SAY.get(state, "ok")}
