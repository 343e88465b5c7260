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

from sqlalchemy import Engine, String, and_, cast, delete, false, or_, select, update

from notifyd.config import Config
from notifyd.db import schema as s
from notifyd.db.staff import record
from notifyd.db.store import chunks
from notifyd.logs import mask_text
from notifyd.model import PENDING, Status

log = logging.getLogger(__name__)
n, p, pe = s.notifications, s.permits, s.people
_WAITING = [st.value for st in PENDING] + [Status.SENDING.value]
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
        people = list(conn.execute(_due_people(cutoff, now)).scalars())
        notices: list[int] = []
        for part in chunks(people):
            notices += conn.execute(
                select(n.c.id).join(p, p.c.id == n.c.permit_id).where(p.c.person_id.in_(part))
            ).scalars()
        old_runs = select(s.sync_runs.c.id).where(s.sync_runs.c.started_at < cutoff)
        rejected = s.rejected_rows.c.run_id.in_(old_runs)
        report.people, report.notices = len(people), len(notices)
        report.rejected_rows = len(conn.execute(select(s.rejected_rows.c.id).where(rejected)).all())
        if not dry_run:
            for part in chunks(people):
                _blank(conn, part, now)
            for part in chunks(notices):
                _mask_errors(conn, part)
            conn.execute(delete(s.rejected_rows).where(rejected))
        # Before the commit: if a file cannot be removed, nothing is marked purged and the
        # next run tries again; files gone before a failed commit are no loss.
        report.files = _remove_files(cfg, set(notices), cutoff.timestamp(), dry_run)
    if not dry_run and (report.people or report.rejected_rows or report.files):
        with engine.begin() as conn:
            detail = ", ".join(f"{k} {v}" for k, v in report.as_row().items() if k != "dry_run")
            record(conn, now, actor, "purge", detail=detail)
    log.info("retention purge", extra={k: v for k, v in report.as_row().items()})
    return report


def _due_people(cutoff: datetime, now: datetime) -> Any:
    """People not yet purged who have permits, all of them finished, and nothing waiting
    that could still be sent (a notice left pending past its deadline is not waiting)."""
    finished = or_(
        p.c.expiry_date < cutoff.date(),
        and_(p.c.active == false(), p.c.updated_at < cutoff),
    )
    theirs = p.c.person_id == pe.c.id
    waiting = (
        select(n.c.id)
        .join(p, p.c.id == n.c.permit_id)
        .where(theirs, n.c.status.in_(_WAITING), n.c.deadline > now)
        .exists()
    )
    return (
        select(pe.c.id)
        .where(
            pe.c.purged_at.is_(None),
            select(p.c.id).where(theirs).exists(),
            ~select(p.c.id).where(theirs, ~finished).exists(),
            ~waiting,
        )
        .order_by(pe.c.id)
    )


def _blank(conn: Any, person_ids: Any, now: datetime) -> None:
    # When they last wrote to us, by number: gone with the numbers (a shared phone's other
    # holders simply get the template again instead of the voice note straight away).
    numbers = {
        number
        for row in conn.execute(select(pe.c.phone, pe.c.whatsapp).where(pe.c.id.in_(person_ids)))
        for number in row
        if number
    }
    for part in chunks(sorted(numbers)):
        conn.execute(delete(s.conversations).where(s.conversations.c.phone.in_(part)))
    conn.execute(
        update(pe)
        .where(pe.c.id.in_(person_ids))
        .values(
            registry_id="purged-" + cast(pe.c.id, String),
            full_name="",
            passport_number="",
            phone=None,
            phone_kind=None,
            whatsapp=None,
            purged_at=now,
            updated_at=now,
        )
    )
    # Free text staff wrote about them (an opt-out's reason) may name them too.
    conn.execute(
        update(s.staff_actions).where(s.staff_actions.c.person_id.in_(person_ids)).values(detail="")
    )


def _mask_errors(conn: Any, notice_ids: Any) -> None:
    """A provider's error text may quote the number it refused: masked as in the logs."""
    a = s.attempts
    rows = conn.execute(
        select(a.c.id, a.c.error).where(a.c.notification_id.in_(notice_ids), a.c.error.is_not(None))
    ).all()
    for aid, error in rows:
        masked = mask_text(error)
        if masked != error:
            conn.execute(update(a).where(a.c.id == aid).values(error=masked))


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
