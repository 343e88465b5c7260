"""A registry sync: stream the source, skip unchanged rows, normalise the rest, upsert, plan.

One database transaction per sync, so a refused or failed snapshot changes nothing. Memory
stays flat: rows flow in chunks; the permit numbers met are kept compactly (registry/seen.py).
Rows that changed are normalised in worker processes (phone parsing is the dominant cost).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import deque
from collections.abc import Container, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt
import pluggy

from notifyd import plugins
from notifyd.config import Config
from notifyd.db import corrections, runs, sync_first
from notifyd.db import sync as syncstore
from notifyd.db import sync_known as known
from notifyd.db.store import Connection, DatabaseError, Engine
from notifyd.db.sync_first import FirstIds
from notifyd.errors import SyncRefused
from notifyd.events import SyncFinished
from notifyd.model import PlannedNotice, RawRow, Reason, Record, Rejection, SyncReport
from notifyd.planning.clock import Office
from notifyd.planning.plan import diff, plan_permit
from notifyd.registry.collect import fewer_collections
from notifyd.registry.lines import Block, Make, hex_hash, units
from notifyd.registry.normalise import Rules, clean
from notifyd.registry.packing import Normaliser, pickles, row_of
from notifyd.registry.reach import reach_warnings
from notifyd.registry.seen import FirstLines, MetKeys

log = logging.getLogger(__name__)
CHUNK = 2000
#: Chunks handed to workers ahead of the one being written.
AHEAD = 4
#: Chunks read at most before their changed lines are staged (fewer when CHUNK changed).
SPAN = 25


def fingerprint(cfg: Config) -> bytes:
    """Everything in the config that changes what a row becomes; a change re-reads every row."""
    parts = (
        Rules.from_config(cfg),
        asdict(cfg.planner),
        {k: asdict(v) for k, v in sorted(cfg.offices.items())},
    )
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()


@dataclass
class _Batch:
    """A chunk on its way: rows sent to normalisation and what the store knew of them."""

    result: Future[list[Record | Rejection]]
    hashes: dict[int, str]  # line → row hash, for the rows sent
    known: dict[str, syncstore.Known]
    duplicates: list[Rejection]
    kept: list[tuple[int, int]]  # (rejected row id, line) of rejections met unchanged
    #: A first sync's: the lines sent, (line, what make takes), in the order of the results
    sent: list[tuple[int, Any]] = field(default_factory=list)
    #: A first sync's lines met as rejected before: (line, row, number, rejected row id, reasons)
    again: list[tuple[int, RawRow, str, int, tuple[str, ...]]] = field(default_factory=list)
    numbers: Future[tuple[list[str], list[Record | Rejection]]] | None = None


@dataclass
class _Store:
    """What the store knew when the sync began, and which of it this snapshot met."""

    active: known.Active  # row hashes → permit ids, and the permits without a hash
    seen: npt.NDArray[np.int64]  # permit id → first line that holds it (0: none yet)
    rejected: dict[int, tuple[int, tuple[str, ...]]]  # row hash → (rejected row id, reasons)
    unkeyed: set[int]  # active permits without a row key: given theirs when met unchanged
    first_lines: FirstLines = field(default_factory=FirstLines)  # numbers met, first lines
    #: A first sync's registry ids met (on PostgreSQL: sync_first.insert_people)
    people: MetKeys = field(default_factory=MetKeys)


def run_sync(
    cfg: Config,
    engine: Engine,
    pm: pluggy.PluginManager,
    now: datetime,
    *,
    accept_drops: bool = False,
    workers: int | None = None,
    accept_identities: bool = False,
    journal: bool = False,
) -> SyncReport:
    """Apply one registry snapshot; raise SyncRefused (nothing applied) for a suspicious drop
    or for registry ids that do not keep their person.

    `journal`: a first sync into an empty SQLite store may write through a rollback journal
    (sync_first.empty_sqlite), which makes other connections' reads wait for it. The
    command line's sync asks for it; the daemon does not, so its own readers never wait."""
    source = plugins.source_for(pm, cfg.registry.source)
    label = source.describe(cfg)
    fp = fingerprint(cfg)
    snapshot, make = units(source, cfg, fp)  # opens the source: a failure leaves no run
    started = time.monotonic()
    run_id = runs.start_run(engine, label, now)
    report = SyncReport(run_id)

    def end() -> datetime:  # the start's clock, moved on by the time the sync took
        return now + timedelta(seconds=time.monotonic() - started)

    try:
        with engine.connect() as conn, sync_first.empty_sqlite(conn, journal) as check_keys:
            with conn.begin():
                _apply(conn, cfg, fp, snapshot, make, report, now, accept_drops, workers,
                       accept_identities)  # fmt: skip
                if report.status == "ok":
                    order = cfg.channel_order or list(cfg.channels)
                    report.people, report.reach = syncstore.reach(conn, list(cfg.channels))
                    report.warnings = reach_warnings(
                        order, report.people, report.reach, cfg.registry.min_channel_share
                    )
                if report.status == "refused":
                    raise SyncRefused(report.message)
                check_keys()
                runs.finish_run(conn, report, end())
    except SyncRefused:
        with engine.begin() as conn:  # the snapshot was rolled back; the run is recorded
            runs.finish_run(conn, report, end())
        log.warning("sync refused", extra={"run": run_id, "left": report.left})
        raise
    except BaseException as exc:
        report.status, report.message = "failed", describe_error(exc)
        try:
            with engine.begin() as conn:
                runs.finish_run(conn, report, end())
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
    fp: bytes,
    rows: Iterator[Block],
    make: Make,
    counts: SyncReport,
    now: datetime,
    accept_drops: bool,
    workers: int | None,
    accept_identities: bool = False,
) -> None:
    """Apply the snapshot inside the caller's transaction; set `counts.status` to "ok", or to
    "refused" (the caller rolls back) when too many permits would leave or ids look unstable."""
    offices = {code: Office.from_config(code, o) for code, o in cfg.offices.items()}
    active = known.active_hashes(conn)
    store = _Store(
        active, known.seen_lines(active.top), known.live_rejections(conn),
        set(active.unhashed.tolist()),
    )  # fmt: skip
    active_before = len(active.keys) + len(active.unhashed)
    people_before = syncstore.count_people(conn)
    syncstore.create_scratch(conn)
    first = sync_first.first_ids(conn)
    if workers is None:
        workers = max((os.cpu_count() or 1) - 1, 0)
    normaliser = Normaliser(Rules.from_config(cfg), workers)
    portable = first is not None and pickles(make)  # the workers build the rows
    pending: deque[_Batch] = deque()
    deferred = syncstore.defer_notice_indexes(conn)
    kept: list[tuple[int, int]] = []
    plans: dict[tuple[date, str, str | None], tuple[PlannedNotice, ...]] = {}
    with fewer_collections():
        try:
            span = _Span()
            end: Block = ([], np.zeros(0, np.int64), [])
            for block in chain(rows, [end]):  # an empty block at the end: stage the rest
                counts.rows += len(block[0])
                if block[0]:
                    _decide(block, make, store, counts, span, first is None)
                if len(span.changed) < CHUNK and len(span.blocks) < SPAN and block[0]:
                    continue  # so few lines changed: gather more before staging them
                if span.changed and first is not None:
                    pending.append(_stage_first(span, make, portable, store, normaliser, counts))
                elif span.changed:
                    pending.append(_stage(conn, span, make, store, normaliser, counts))
                else:  # every line unchanged: nothing to stage
                    counts.unchanged += span.hits
                    counts.accepted += span.hits
                span = _Span()
                if len(pending) > AHEAD:
                    batch = _settled(pending.popleft(), make, store, counts)
                    kept += _write(conn, cfg, offices, batch, now, counts, first, store, plans)
            while pending:
                batch = _settled(pending.popleft(), make, store, counts)
                kept += _write(conn, cfg, offices, batch, now, counts, first, store, plans)
        finally:
            normaliser.close()
    known.keep_rejections(conn, counts.run_id, kept)
    if first is not None:
        sync_first.finish(conn)
    if deferred:
        syncstore.build_notice_indexes(conn)

    refusal = identity_refusal(cfg, counts, people_before, accept_identities)
    if refusal:
        counts.status, counts.message = "refused", refusal
        return
    ids = np.concatenate((active.ids, active.unhashed))
    gone = np.sort(ids[store.seen[ids] == 0]).tolist()
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


@dataclass
class _Span:
    """Consecutive blocks read, whose changed lines are staged together: a re-sync where few
    lines changed stages (and writes) a few thousand at once, not a handful per block."""

    blocks: list[Block] = field(default_factory=list)  # kept: a line met unchanged may repeat
    changed: list[tuple[int, int, RawRow]] = field(default_factory=list)  # (line, hash, row)
    hits: int = 0  # lines met unchanged
    first: int = 0  # the span's first and last lines
    last: int = 0


def _decide(
    block: Block, make: Make, store: _Store, counts: SyncReport, span: _Span, build: bool
) -> None:
    """Find a block's unchanged lines from their hashes, all at once: a line whose hash is an
    active permit's is unchanged, unless its permit was already met (a repeated line).
    The changed lines' rows are built here when `build`, else later (a first sync's
    workers build them)."""
    lines, keys, given = block
    seen = store.seen
    ordinal = counts.rows - len(lines)
    made: dict[int, RawRow] = {}  # rows built to check the registry ids, kept for later
    if counts.sequential == ordinal:  # every row so far: still worth checking
        for line, raw in zip(lines, given, strict=True):
            ordinal += 1
            row = made[line] = make(line, raw)
            rid = row.values.get("registry_id", "").strip()
            if not (rid.isdigit() and int(rid) in (ordinal, line, line - 1)):
                break
            counts.sequential += 1
    pids = known.find(store.active, keys)
    hit = (pids > 0) & (seen[pids] == 0)  # an active permit's hash, its permit not met yet
    hits = np.flatnonzero(hit)
    if len(hits):
        _, once = np.unique(pids[hits], return_index=True)
        if len(once) < len(hits):  # one unchanged line twice in the block: the first holds it
            hit[hits] = False
            hits = hits[np.sort(once)]
            hit[hits] = True
        seen[pids[hits]] = np.array(lines, dtype=np.int64)[hits]
    span.hits += len(hits)
    if build:
        span.changed += [
            (lines[i], int(keys[i]), made.get(lines[i]) or make(lines[i], given[i]))
            for i in np.flatnonzero(~hit).tolist()
        ]
    else:  # no call a line: a first sync's million lines pass through as they were read
        span.changed += [
            (lines[i], int(keys[i]), made.get(lines[i]) or given[i])
            for i in np.flatnonzero(~hit).tolist()
        ]
    span.first = span.first or lines[0]
    span.last = lines[-1]
    span.blocks.append(block)


def _stage(
    conn: Connection,
    span: _Span,
    make: Make,
    store: _Store,
    normaliser: Normaliser,
    counts: SyncReport,
) -> _Batch:
    """Compare a span's changed lines with the store in SQL and send what changed on to
    normalisation; a line met unchanged that repeats the permit of an earlier changed line
    is that line's duplicate."""
    seen, changed = store.seen, span.changed
    changed_lines = {line for line, _, _ in changed}

    def met_unchanged(line: int) -> bool:  # in this span, and not one of its changed lines
        return span.first <= line <= span.last and line not in changed_lines

    numbers = {line: clean(r.values.get("permit_number", "")).upper() for line, _, r in changed}
    hashes = {line: hex_hash(key) for line, key, _ in changed}
    staged = [(n, line, hashes[line]) for line, n in numbers.items() if n]
    first = store.first_lines.first([(n, line) for n, line, _ in staged])
    stored = syncstore.stage_chunk(conn, staged)
    batch = _Batch(Future(), {}, {}, [], [])
    todo: list[RawRow] = []
    late: dict[int, int] = {}  # line met unchanged → the earlier changed line with its permit
    rekeyed: list[tuple[int, int]] = []  # (row key, permit id) of unchanged permits without one
    for line, key, r in changed:
        number = numbers[line]
        at = stored.get(line)
        earlier = int(seen[at.permit_id]) if at is not None else 0
        if at is not None and earlier > line and met_unchanged(earlier):
            late[earlier], earlier = line, 0  # the unchanged line further on is the repeat
        if earlier and earlier < line:
            batch.duplicates.append(_duplicate(r, number, earlier))
        elif number and first[number] != line:
            batch.duplicates.append(_duplicate(r, number, first[number]))
        else:
            if at is not None:
                seen[at.permit_id] = line
            if number and at is not None and at.unchanged:
                counts.unchanged += 1
                counts.accepted += 1
                if at.permit_id in store.unkeyed:
                    rekeyed.append((key, at.permit_id))
                continue
            old = store.rejected.get(key)
            if old is not None:  # rejected before, line and config unchanged: same reasons
                batch.kept.append((old[0], line))
                _count_reasons(counts, old[1])
                continue
            if at is not None and number:
                batch.known[number] = syncstore.Known(at.permit_id, at.expiry_date)
            batch.hashes[line] = hashes[line]
            todo.append(r)
    known.set_row_keys(conn, rekeyed)
    counts.unchanged += span.hits - len(late)
    counts.accepted += span.hits - len(late)
    for line in sorted(late):
        raw = next(
            g for ls, _, gs in span.blocks for ln, g in zip(ls, gs, strict=True) if ln == line
        )
        r = make(line, raw)
        number = clean(r.values.get("permit_number", "")).upper()
        batch.duplicates.append(_duplicate(r, number, late[line]))
    batch.result = normaliser.submit(todo)
    return batch


def _stage_first(
    span: _Span,
    make: Make,
    portable: bool,
    store: _Store,
    normaliser: Normaliser,
    counts: SyncReport,
) -> _Batch:
    """A first sync's changed lines (all of them) sent on as they were read: the workers build
    and normalise their rows, and _settled finds repeated numbers in line order after. A line
    rejected before, line and config unchanged, keeps its reasons without being sent."""
    batch = _Batch(Future(), {}, {}, [], [])
    for line, key, given in span.changed:
        old = store.rejected.get(key)
        if old is not None:  # its row built here: its number may still make later lines repeats
            r = row_of(make, line, given)
            number = clean(r.values.get("permit_number", "")).upper()
            batch.again.append((line, r, number, *old))
            continue
        batch.hashes[line] = hex_hash(key)
        batch.sent.append((line, given if portable else row_of(make, line, given)))
    counts.unchanged += span.hits
    counts.accepted += span.hits
    batch.numbers = normaliser.submit_lines(batch.sent, make if portable else None)
    return batch


def _settled(batch: _Batch, make: Make, store: _Store, counts: SyncReport) -> _Batch:
    """A first sync's batch with its repeated permit numbers found, as _stage finds them: a
    number's first line (in this sync) holds it; any later line with it is a duplicate, its
    normalised row dropped. Other batches as they are."""
    if batch.numbers is None:
        return batch
    numbers, results = batch.numbers.result()
    met = sorted(
        [(line, n, i) for i, ((line, _), n) in enumerate(zip(batch.sent, numbers, strict=True))]
        + [(line, n, -1 - j) for j, (line, _, n, _, _) in enumerate(batch.again)]
    )
    first = store.first_lines.first([(n, line) for line, n, _ in met if n])
    dropped: set[int] = set()
    for line, n, i in met:
        if n and first[n] != line:
            r = row_of(make, line, batch.sent[i][1]) if i >= 0 else batch.again[-1 - i][1]
            batch.duplicates.append(_duplicate(r, n, first[n]))
            if i >= 0:
                dropped.add(i)
                del batch.hashes[line]
        elif i < 0:  # rejected before, line and config unchanged: same reasons
            _, _, _, rejected_id, reasons = batch.again[-1 - i]
            batch.kept.append((rejected_id, line))
            _count_reasons(counts, reasons)
    batch.result.set_result([r for i, r in enumerate(results) if i not in dropped])
    return batch


def _duplicate(r: RawRow, number: str, first: int) -> Rejection:
    return Rejection(
        r.line,
        (f"permit_number: {number!r} is already on line {first}; keep one row per permit",),
        dict(r.values),
        clean(r.values.get("registry_id", "")),
        number,
    )


def _count_reasons(counts: SyncReport, reasons: Sequence[str]) -> None:
    counts.rejected += 1
    for why in reasons:
        field = why.split(":", 1)[0]
        key = field if field.isidentifier() else "no channel"
        counts.reasons[key] = counts.reasons.get(key, 0) + 1


def _write(
    conn: Connection,
    cfg: Config,
    offices: dict[str, Office],
    batch: _Batch,
    now: datetime,
    counts: SyncReport,
    first: FirstIds | None,
    store: _Store,
    plans: dict[tuple[date, str, str | None], tuple[PlannedNotice, ...]],
) -> list[tuple[int, int]]:
    """Write one chunk's changes; return the rejections it met unchanged. `plans` holds this
    sync's plans by (expiry date, office, cancel reason), all that varies between permits."""
    results = batch.result.result()
    records = [r for r in results if isinstance(r, Record)]
    rejections = batch.duplicates + [r for r in results if isinstance(r, Rejection)]
    counts.accepted += len(records)
    for rej in rejections:
        _count_reasons(counts, rej.reasons)
    syncstore.insert_rejections(conn, counts.run_id, rejections, batch.hashes)
    syncstore.insert_warnings(conn, counts.run_id, records)
    if not records:
        return batch.kept
    items = [(r, batch.hashes[r.line]) for r in records]
    if first is None:
        _count_moves(conn, records, counts)
        person_ids = syncstore.upsert_people(conn, records, now)
        corrections.reapply(conn, _contacts(records, person_ids), now)
        permit_ids = syncstore.upsert_permits(conn, items, person_ids, now)
        fresh: Container[int] = ()
    else:  # an empty store: nothing to compare, no corrections, ids given here
        person_ids, again = sync_first.insert_people(conn, records, now, first, store.people.meet)
        fresh = set(person_ids.values())
        if again:  # registry ids an earlier chunk stored
            _count_moves(conn, again, counts)
            person_ids.update(syncstore.upsert_people(conn, again, now))
        permit_ids = sync_first.insert_permits(conn, items, person_ids, now, first)
    registry_opt_outs = _registry_opt_outs(records, person_ids)
    opt_outs = syncstore.sync_registry_opt_outs(conn, registry_opt_outs, now, fresh)
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
        key = (r.expiry_date, r.office, reason)
        wanted = plans.get(key)
        if wanted is None:
            wanted = plans[key] = plan_permit(
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
    return batch.kept


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
    out: dict[int, tuple[str, ...]] = {}
    for r in records:  # most rows opt out of nothing: no set for them
        pid = person_ids[r.registry_id]
        had = out.get(pid, ())
        out[pid] = tuple(sorted({*had, *r.opt_out})) if r.opt_out else had
    return out


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
