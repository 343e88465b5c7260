"""The retention purge (DESIGN.md, Operations; UU 27/2022): personal data of finished permits
is removed once `[retention] days` have passed, keeping a pseudonymous delivery record.

A person is purged when every permit of theirs has finished (expired, or left the registry,
longer ago than the retention) and nothing of theirs waits to be sent: the name, passport
number and phone numbers are blanked, the registry id becomes `purged-<row id>`, and their
spooled notices are deleted. Notices and attempts stay, tied to that pseudonymous row.
Registry rows rejected by syncs older than the retention (they hold the raw row) go too, and
cached audio not written within it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from notifyd.config import Config
from notifyd.db import retention as retentiondb
from notifyd.db.staff import record
from notifyd.db.store import Engine

log = logging.getLogger(__name__)
_SPOOLED = re.compile(r"^\.?(\d+)-")


@dataclass
class PurgeReport:
    people: int = 0
    notices: int = 0  # notices of the purged people (kept, now pseudonymous)
    rejected_rows: int = 0
    files: int = 0
    dry_run: bool = False

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def purge(
    engine: Engine, cfg: Config, now: datetime, *, dry_run: bool = False, actor: str = "notifyd"
) -> PurgeReport:
    cutoff = now - timedelta(days=cfg.retention.days)
    report = PurgeReport(dry_run=dry_run)
    with engine.begin() as conn:
        people = retentiondb.due_people(conn, cutoff, now)
        notices = retentiondb.notices_of(conn, people)
        report.people, report.notices = len(people), len(notices)
        report.rejected_rows = retentiondb.old_rejected_rows(conn, cutoff)
        if not dry_run:
            retentiondb.blank(conn, people, now)
            retentiondb.mask_errors(conn, notices)
            retentiondb.delete_old_rejected_rows(conn, cutoff)
        # Before the commit: if a file cannot be removed, nothing is marked purged and the
        # next run tries again; files gone before a failed commit are no loss.
        report.files = _remove_files(cfg, set(notices), cutoff.timestamp(), dry_run)
    if not dry_run and (report.people or report.rejected_rows or report.files):
        with engine.begin() as conn:
            detail = ", ".join(f"{k} {v}" for k, v in report.as_row().items() if k != "dry_run")
            record(conn, now, actor, "purge", detail=detail)
    log.info("retention purge", extra={k: v for k, v in report.as_row().items()})
    return report


def _remove_files(cfg: Config, notices: set[int], cutoff: float, dry_run: bool) -> int:
    """Spooled notices of purged people, and cached audio older than the retention."""
    removed = 0
    for folder in _spool_folders(cfg):
        for path in _files(folder):
            m = _SPOOLED.match(path.name)
            if m and int(m.group(1)) in notices:
                removed += _remove(path, dry_run)
    state = Path(cfg.state_dir)
    for rel in cfg.retention.audio_dirs:
        for path in _files(state / rel, recursive=True):
            if path.stat().st_mtime < cutoff:
                removed += _remove(path, dry_run)
    return removed


def _spool_folders(cfg: Config) -> list[Path]:
    """Where spool channels write (the spool plugin's own rule: options.dir, else
    state_dir/spool/NAME)."""
    out = []
    for name, ch in cfg.channels.items():
        if ch.plugin == "spool":
            folder = ch.options.get("dir") or str(Path(cfg.state_dir) / "spool" / name)
            out.append(cfg.resolve_path(str(folder)))
    return out


def _files(folder: Path, recursive: bool = False) -> list[Path]:
    if not folder.is_dir():
        return []
    found = folder.rglob("*") if recursive else folder.iterdir()
    return [f for f in found if f.is_file() and not f.is_symlink()]


def _remove(path: Path, dry_run: bool) -> int:
    if not dry_run:
        try:
            path.unlink()
        except FileNotFoundError:
            return 0
    return 1
