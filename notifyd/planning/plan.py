"""The planner: permit × stages × now → the notices it should get, and the diff to what is stored.

Pure: no clock, no database. DESIGN.md, "Scheduling semantics", is the specification.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache

from notifyd.model import PENDING, PlannedNotice, Reason, Status, Stored
from notifyd.planning.clock import Office

#: Reasons the planner itself gives; rows carrying them are the planner's to rewrite.
PLANNER_REASONS = frozenset(r.value for r in Reason)


@dataclass
class Changes:
    """What to write so that the stored plan matches the wanted one."""

    inserts: list[PlannedNotice] = field(default_factory=list)
    updates: list[tuple[int, PlannedNotice]] = field(default_factory=list)
    cancels: list[tuple[int, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.inserts or self.updates or self.cancels)


def stage_day(expiry: date, stage: int, office: Office, closed_day: str) -> date:
    """The office day a stage falls on: `stage` days before expiry, moved off closed days."""
    day = expiry - timedelta(days=stage)
    return office.previous_open(day) if closed_day == "previous" else office.next_open(day)


@lru_cache(maxsize=4096)
def plan_permit(
    expiry: date,
    office: Office,
    stages: tuple[int, ...],
    now: datetime,
    *,
    min_gap_days: int = 2,
    closed_day: str = "previous",
    cancel_reason: str | None = None,
) -> tuple[PlannedNotice, ...]:
    """One notice per stage, in time order, each scheduled, superseded or cancelled.

    A stage is due when the window opens on its day; its deadline is the next stage's due
    moment (the last stage's: its window's end). A stage missed at planning time becomes one
    catch-up at the next window opening if its deadline allows; earlier ones are superseded.
    Scheduled notices are then kept `min_gap_days` apart, the later (more urgent) one winning.
    `cancel_reason` (opted out, no channel) cancels whatever would be sent.
    Cached: every permit expiring on one day at one office gets the same plan.
    """
    days = sorted(((stage_day(expiry, s, office, closed_day), s) for s in stages), reverse=False)
    # Equal days keep the larger stage first so the smaller (later) one wins below.
    days.sort(key=lambda pair: (pair[0], -pair[1]))
    dues = [office.opens(day) for day, _ in days]
    deadlines = dues[1:] + [office.closes(days[-1][0])]

    out: list[PlannedNotice] = []
    for (_, stage), due, deadline in zip(days, dues, deadlines, strict=True):
        if deadline <= now:
            out.append(PlannedNotice(stage, due, deadline, Status.SUPERSEDED, Reason.MISSED))
        elif due <= now:
            catch = office.next_opening(now)
            if catch >= deadline:
                out.append(
                    PlannedNotice(stage, due, deadline, Status.SUPERSEDED, Reason.DEADLINE_PASSED)
                )
            else:  # a catch-up when it goes out on a later day than its own; else just due now
                late = office.local_day(catch) != office.local_day(due)
                out.append(PlannedNotice(stage, catch, deadline, Status.SCHEDULED, catch_up=late))
        else:
            out.append(PlannedNotice(stage, due, deadline, Status.SCHEDULED))

    out = _keep_apart(out, office, max(min_gap_days, 1))
    if cancel_reason:
        out = [
            _with(n, Status.CANCELLED, cancel_reason) if n.status == Status.SCHEDULED else n
            for n in out
        ]
    return tuple(out)


def _keep_apart(plan: list[PlannedNotice], office: Office, gap: int) -> list[PlannedNotice]:
    """Supersede a scheduled notice that falls within `gap` days of the next one kept."""
    result = list(plan)
    later: date | None = None
    for i in range(len(result) - 1, -1, -1):
        n = result[i]
        if n.status != Status.SCHEDULED:
            continue
        day = office.local_day(n.due_at)
        if later is not None and (later - day).days < gap:
            result[i] = _with(n, Status.SUPERSEDED, Reason.TOO_CLOSE)
        else:
            later = day
    return result


def _with(n: PlannedNotice, status: Status, reason: str) -> PlannedNotice:
    return PlannedNotice(n.stage, n.due_at, n.deadline, status, reason, n.catch_up)


def diff(expiry: date, wanted: Iterable[PlannedNotice], stored: Iterable[Stored]) -> Changes:
    """Compare the wanted plan for the current expiry with the stored rows of one permit.

    Rows of another expiry date that still wait are cancelled (`renewed` when the date moved
    later, `expiry_corrected` when earlier); stages no longer configured are cancelled; a row
    that something was already sent for is never touched.

    Extra notices (a supervisor's resend of a stage not yet due) are not the plan's: they are
    left as they are, unless their words are wrong now (another expiry date) or the person
    opted out, which stop them as they stop the planned ones.
    """
    changes = Changes()
    wanted = tuple(wanted)
    current: dict[int, Stored] = {}
    extras: list[Stored] = []
    for row in stored:
        if row.expiry_date != expiry:
            if row.status in PENDING:
                why = Reason.RENEWED if expiry > row.expiry_date else Reason.EXPIRY_CORRECTED
                changes.cancels.append((row.id, why))
        elif row.extra:
            extras.append(row)
        else:
            current[row.stage] = row
    wanted_stages = set()
    for n in wanted:
        wanted_stages.add(n.stage)
        existing = current.get(n.stage)
        if existing is None:
            changes.inserts.append(n)
        elif _planner_owns(existing):
            if _differs(existing, n):
                changes.updates.append((existing.id, n))
        elif existing.status in PENDING and n.status == Status.CANCELLED and n.reason:
            changes.cancels.append((existing.id, n.reason))  # an opt-out stops a retry too
    for stage, row in current.items():
        if stage not in wanted_stages and row.status in PENDING:
            changes.cancels.append((row.id, Reason.STAGE_REMOVED))
    stopped = {n.reason for n in wanted if n.status == Status.CANCELLED}
    for row in extras:
        if row.status in PENDING and Reason.OPTED_OUT in stopped:
            changes.cancels.append((row.id, Reason.OPTED_OUT))
    return changes


def _planner_owns(row: Stored) -> bool:
    if row.status == Status.SCHEDULED:
        return True
    return row.status in (Status.CANCELLED, Status.SUPERSEDED) and row.reason in PLANNER_REASONS


def _differs(row: Stored, n: PlannedNotice) -> bool:
    return (row.status, row.reason, row.due_at, row.deadline) != (
        n.status.value,
        n.reason,
        n.due_at,
        n.deadline,
    )
