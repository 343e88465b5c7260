"""A registry sync: stream the source, skip unchanged rows, normalise the rest, upsert, plan.

One database transaction per sync, so a refused or failed snapshot changes nothing. Memory
stays flat: rows flow in chunks, and the set of permit numbers seen lives in a temporary table.
Rows that changed are normalised in worker processes (phone parsing is the dominant cost).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import lru_cache
from itertools import chain, islice
from multiprocessing import get_context

import pluggy

from notifyd import plugins
from notifyd.config import Config
from notifyd.db import corrections, runs
from notifyd.db import sync as syncstore
from notifyd.db.store import Connection, DatabaseError, Engine
from notifyd.errors import SyncRefused
from notifyd.events import SyncFinished
from notifyd.model import PlannedNotice, RawRow, Reason, Record, Rejection, SyncReport
from notifyd.planning.clock import Office
from notifyd.planning.plan import diff, plan_permit
from notifyd.registry.normalise import Rules, clean, normalise
from notifyd.registry.reach import reach_warnings

log = logging.getLogger(__name__)
CHUNK = 2000
#: Rows to normalise before worker processes pay for their start (about a second each).
POOL_AFTER = 10_000
#: Chunks handed to workers ahead of the one being written.
AHEAD = 4


def fingerprint(cfg: Config) -> bytes:
    """Everything in the config that changes what a row becomes; a change re-reads every row."""
    parts = (
        Rules.from_config(cfg),
        asdict(cfg.planner),
        {k: asdict(v) for k, v in sorted(cfg.offices.items())},
    )
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()


def row_hash(values: dict[str, str], fp: bytes) -> str:
    """A row's identity: its fields and values as read, under the config's fingerprint."""
    h = _keyed(fp).copy()
    h.update("\x1f".join(values).encode())
    h.update("\x1e".join(values.values()).encode())
    return h.hexdigest()


@lru_cache(maxsize=4)
def _keyed(fp: bytes) -> hashlib.blake2b:
    return hashlib.blake2b(digest_size=16, key=fp)


def normalise_chunk(rows: list[RawRow], rules: Rules) -> list[Record | Rejection]:
    return [normalise(r, rules) for r in rows]


@dataclass
class _Batch:
    """A chunk on its way: rows sent to normalisation and what the store knew of them."""

    result: Future[list[Record | Rejection]]
    hashes: dict[int, str]
    known: dict[str, syncstore.Known]
    duplicates: list[Rejection]


class _Normaliser:
    """Normalises inline for a small registry, in worker processes once it proves large.

    `workers` is the number of extra processes (0: inline); the main process writes.
    """

    def __init__(self, rules: Rules, workers: int) -> None:
        self.rules, self.workers = rules, workers
        self.pool: Executor | None = None
        self.submitted = 0

    def submit(self, rows: list[RawRow]) -> Future[list[Record | Rejection]]:
        self.submitted += len(rows)
        if self.pool is None and self.workers > 0 and self.submitted > POOL_AFTER and rows:
            self.pool = ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
        if self.pool is not None:
            return self.pool.submit(normalise_chunk, rows, self.rules)
        done: Future[list[Record | Rejection]] = Future()
        done.set_result(normalise_chunk(rows, self.rules))
        return done

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def run_sync(
    cfg: Config,
    engine: Engine,
    pm: pluggy.PluginManager,
    now: datetime,
    *,
    accept_drops: bool = False,
    workers: int | None = None,
    accept_identities: bool = False,
) -> SyncReport:
    """Apply one registry snapshot; raise SyncRefused (nothing applied) for a suspicious drop
    or for registry ids that do not keep their person."""
    source = plugins.source_for(pm, cfg.registry.source)
    label = source.describe(cfg)
    rows = iter(source.read(cfg))
    first = next(rows, None)  # opens the source and reads its header: a failure leaves no run
    run_id = runs.start_run(engine, label, now)
    report = SyncReport(run_id)
    try:
        with engine.begin() as conn:
            snapshot = rows if first is None else chain((first,), rows)
            _apply(conn, cfg, snapshot, report, now, accept_drops, workers, accept_identities)
            if report.status == "ok":
                order = cfg.channel_order or list(cfg.channels)
                report.people, report.reach = syncstore.reach(conn, list(cfg.channels))
                report.warnings = reach_warnings(
                    order, report.people, report.reach, cfg.registry.min_channel_share
                )
            if report.status == "refused":
                raise SyncRefused(report.message)
            runs.finish_run(conn, report, now)
    except SyncRefused:
        with engine.begin() as conn:  # the snapshot was rolled back; the run is recorded
            runs.finish_run(conn, report, now)
        log.warning("sync refused", extra={"run": run_id, "left": report.left})
        raise
    except BaseException as exc:
        report.status, report.message = "failed", describe_error(exc)
        try:
            with engine.begin() as conn:
                runs.finish_run(conn, report, now)
        except DatabaseError as again:  # the database is what failed: say the first error
            log.error("sync run not recorded", extra={"run": run_id,
                      "error": describe_error(again)})  # fmt: skip
        raise
    log.info(
        "sync finished",
        extra={"run": run_id, "accepted": report.accepted, "rejected": report.rejected},
    )
    for warning in report.warnings:
        log.warning("channel reach: %s", warning, extra={"run": run_id})
    plugins.emit(
        pm,
        SyncFinished(
            now, run_id, report.status, report.accepted, report.rejected, report.planned,
            report.cancelled,
        ),
    )  # fmt: skip
    return report


def describe_error(exc: BaseException) -> str:
    """An error in one line, without the statement parameters SQLAlchemy appends to its
    messages (they hold names and phone numbers)."""
    inner = getattr(exc, "orig", None) or exc
    return f"{type(exc).__name__}: {str(inner).splitlines()[0] if str(inner) else ''}"[:500]


def _apply(
    conn: Connection,
    cfg: Config,
    rows: Iterable[RawRow],
    counts: SyncReport,
    now: datetime,
    accept_drops: bool,
    workers: int | None,
    accept_identities: bool = False,
) -> None:
    """Apply the snapshot inside the caller's transaction; set `counts.status` to "ok", or to
    "refused" (the caller rolls back) when too many permits would leave or ids look unstable."""
    fp = fingerprint(cfg)
    offices = {code: Office.from_config(code, o) for code, o in cfg.offices.items()}
    active_before = syncstore.count_active(conn)
    people_before = syncstore.count_people(conn)
    syncstore.create_seen(conn)
    if workers is None:
        workers = max((os.cpu_count() or 1) - 1, 0)
    normaliser = _Normaliser(Rules.from_config(cfg), workers)
    pending: deque[_Batch] = deque()
    deferred = syncstore.defer_due_index(conn)
    try:
        for chunk in _chunks(iter(rows)):
            counts.rows += len(chunk)
            pending.append(_prepare(conn, chunk, fp, normaliser, counts))
            if len(pending) > AHEAD:
                _write(conn, cfg, offices, pending.popleft(), now, counts)
        while pending:
            _write(conn, cfg, offices, pending.popleft(), now, counts)
    finally:
        normaliser.close()
    if deferred:
        syncstore.build_due_index(conn)

    refusal = identity_refusal(cfg, counts, people_before, accept_identities)
    if refusal:
        counts.status, counts.message = "refused", refusal
        return
    gone = syncstore.missing_active(conn)
    counts.left = len(gone)
    limit = cfg.registry.max_drop_share * active_before
    if gone and len(gone) > limit and not accept_drops:
        share = len(gone) / active_before
        counts.status = "refused"
        counts.message = (
            f"this snapshot would drop {len(gone):,} of {active_before:,} active permits "
            f"({share:.0%}), more than registry.max_drop_share ({cfg.registry.max_drop_share:.0%})"
            ". Nothing was changed. If the export is complete, run `notifyd sync --accept-drops`"
            " once, or raise registry.max_drop_share"
        )
        return
    counts.cancelled += syncstore.retire_permits(conn, gone, Reason.LEFT_REGISTRY, now)
    counts.status = "ok"


def identity_refusal(
    cfg: Config, counts: SyncReport, people_before: int, accept_identities: bool
) -> str:
    """Why this snapshot's registry ids cannot be trusted to keep their person, or "".

    An id that is the row number moves to another person when the export is sorted anew, and
    then notices go to the right phone with the wrong name: refused before anything changes.
    """
    if counts.rows >= 3 and counts.sequential == counts.rows and not cfg.registry.sequential_ids_ok:
        return (
            f"registry_id equals the row number on all {counts.rows:,} rows: sorting the export "
            "differently would give each id to another person. Nothing was changed. Map "
            "registry_id to a column that stays with the person (a registry number, or two "
            'columns such as registry_id = ["Kode Kantor", "No. Registrasi"]); if these numbers '
            "really are the office's own and never move, set registry.sequential_ids_ok = true"
        )
    share = cfg.registry.max_identity_change_share
    if counts.moved >= 2 and counts.moved > share * people_before and not accept_identities:
        shown = ", ".join(counts.moved_examples)
        return (
            f"this snapshot would give {counts.moved:,} of {people_before:,} known registry ids "
            f"(e.g. {shown}) another name and another passport, more than "
            f"registry.max_identity_change_share ({share:.0%}): the export's ids look like they "
            "moved between people (a re-sorted export, or registry_id mapped to a row number). "
            "Nothing was changed. Check registry.columns.registry_id; if the changes are real, "
            "run `notifyd sync --accept-identity-changes` once"
        )
    return ""


def _chunks(it: Iterator[RawRow]) -> Iterator[list[RawRow]]:
    while chunk := list(islice(it, CHUNK)):
        yield chunk


def _prepare(
    conn: Connection,
    chunk: list[RawRow],
    fp: bytes,
    normaliser: _Normaliser,
    counts: SyncReport,
) -> _Batch:
    """Find what changed since the last snapshot and send only that to normalisation."""
    numbers = {r.line: clean(r.values.get("permit_number", "")).upper() for r in chunk}
    hashes = {r.line: row_hash(r.values, fp) for r in chunk}
    first, work = syncstore.stage_chunk(
        conn, [(n, line, hashes[line]) for line, n in numbers.items() if n]
    )
    known: dict[str, syncstore.Known] = {}
    todo: list[RawRow] = []
    duplicates: list[Rejection] = []
    ordinal = counts.rows - len(chunk)
    for r in chunk:
        ordinal += 1
        rid = r.values.get("registry_id", "").strip()
        if rid.isdigit() and int(rid) in (ordinal, r.line, r.line - 1):
            counts.sequential += 1
        number = numbers[r.line]
        if number and first[number] != r.line:
            duplicates.append(
                Rejection(
                    r.line,
                    (
                        f"permit_number: {number!r} is already on line {first[number]}; "
                        "keep one row per permit",
                    ),
                    dict(r.values),
                    clean(r.values.get("registry_id", "")),
                    number,
                )
            )
        elif number and r.line not in work:
            counts.unchanged += 1
            counts.accepted += 1
        else:  # new, changed, back in the registry after leaving it, or no permit number
            stored = work.get(r.line)
            if stored is not None:
                known[number] = stored
            todo.append(r)
    return _Batch(normaliser.submit(todo), hashes, known, duplicates)


def _write(
    conn: Connection,
    cfg: Config,
    offices: dict[str, Office],
    batch: _Batch,
    now: datetime,
    counts: SyncReport,
) -> None:
    results = batch.result.result()
    records = [r for r in results if isinstance(r, Record)]
    rejections = batch.duplicates + [r for r in results if isinstance(r, Rejection)]
    counts.accepted += len(records)
    counts.rejected += len(rejections)
    for rej in rejections:
        for why in rej.reasons:
            field = why.split(":", 1)[0]
            key = field if field.isidentifier() else "no channel"
            counts.reasons[key] = counts.reasons.get(key, 0) + 1
    syncstore.insert_rejections(conn, counts.run_id, rejections)
    syncstore.insert_warnings(conn, counts.run_id, records)
    if not records:
        return
    _count_moves(conn, records, counts)
    person_ids = syncstore.upsert_people(conn, records, now)
    corrections.reapply(conn, _contacts(records, person_ids), now)
    permit_ids = syncstore.upsert_permits(
        conn, [(r, batch.hashes[r.line]) for r in records], person_ids, now
    )
    opt_outs = syncstore.sync_registry_opt_outs(conn, _registry_opt_outs(records, person_ids), now)
    known_ids = [
        batch.known[r.permit_number].permit_id for r in records if r.permit_number in batch.known
    ]
    stored = syncstore.stored_notifications(conn, known_ids)
    inserts: list[tuple[int, date, tuple[PlannedNotice, ...]]] = []
    updates: list[tuple[int, PlannedNotice]] = []
    cancels: list[tuple[int, str]] = []
    p = cfg.planner
    for r in records:
        pid = permit_ids[r.permit_number]
        k = batch.known.get(r.permit_number)
        if k is None:
            counts.new += 1
        else:
            counts.changed += 1
            counts.renewed += k.expiry_date < r.expiry_date
        opted = opt_outs.get(person_ids[r.registry_id], set())
        reachable = [c for c in r.channels if c not in opted]
        reason: str | None = Reason.OPTED_OUT if "*" in opted or not reachable else None
        wanted = plan_permit(
            r.expiry_date, offices[r.office], tuple(p.stages), now,
            min_gap_days=p.min_gap_days, closed_day=p.closed_day, cancel_reason=reason,
        )  # fmt: skip
        if k is None:  # a new permit: nothing stored to compare with
            inserts.append((pid, r.expiry_date, wanted))
            continue
        changes = diff(r.expiry_date, wanted, stored.get(pid, []))
        inserts.append((pid, r.expiry_date, tuple(changes.inserts)))
        updates += changes.updates
        cancels += changes.cancels
    syncstore.insert_notifications(conn, inserts, now)
    syncstore.update_notifications(conn, updates, now)
    counts.planned += sum(len(plan) for _, _, plan in inserts) + len(updates)
    counts.cancelled += syncstore.cancel_notifications(conn, cancels, now)


def _count_moves(conn: Connection, records: list[Record], counts: SyncReport) -> None:
    """Count known registry ids whose name and passport both change in this snapshot."""
    stored = syncstore.identities(conn, [r.registry_id for r in records])
    for r in records:
        before = stored.get(r.registry_id)
        if before is None:
            continue
        name, passport = before
        if _same_name(name, r.full_name) or not (passport and r.passport_number):
            continue
        if passport != r.passport_number:
            counts.moved += 1
            if len(counts.moved_examples) < 3:
                counts.moved_examples.append(repr(r.registry_id))


def _same_name(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _registry_opt_outs(
    records: list[Record], person_ids: dict[str, int]
) -> dict[int, tuple[str, ...]]:
    out: dict[int, set[str]] = {}
    for r in records:
        out.setdefault(person_ids[r.registry_id], set()).update(r.opt_out)
    return {pid: tuple(sorted(chs)) for pid, chs in out.items()}


def _contacts(
    records: Sequence[Record], person_ids: dict[str, int]
) -> list[tuple[int, str, str | None]]:
    """The phone and WhatsApp values the registry just gave, for staff corrections to judge."""
    out: list[tuple[int, str, str | None]] = []
    for r in records:
        pid = person_ids[r.registry_id]
        out.append((pid, "phone", r.phone.e164 if r.phone else None))
        out.append((pid, "whatsapp", r.whatsapp.e164 if r.whatsapp else None))
    return out
