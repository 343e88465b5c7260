"""Claim → render → send → record, one batch at a time.

A batch is worked in rounds: decide each notice's channel, render, write the pending attempts
(one transaction, before any provider call), send concurrently within the channels' limits,
record the outcomes (one transaction). A permanent failure, or a channel out of tries, moves
the notice to its next channel in the next round, still under the same lease.

Unknown outcomes (OutcomeUnknown, our own timeout once the call started, a call cancelled at
the end of the shutdown grace, or a lease that expired mid-send after a crash) are recorded as
attempt outcome "unknown" and the notice waits, `retrying` with reason "reconciling", for the
channel's reconciliation period (never past the deadline): the request may have left, and
sending again blindly would double it. A receipt matched by provider id or by the attempt id
the provider echoed settles it (a late `failed` moves it on). If none came, the provider is
asked where it can be (`LooksUp`), and only then is it sent again; duplicates that remain are
counted (notifyd.db.log.duplicates).

On stop, nothing new starts: sends still queued behind the limits go back to the queue at
once; only calls under way get the grace.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pluggy

from notifyd import events
from notifyd.config import Config
from notifyd.db import dispatch as ds
from notifyd.db import pilot as pilotstore
from notifyd.db import receipts as receiptdb
from notifyd.db import watch as dw
from notifyd.db.dispatch import Outcome
from notifyd.db.store import Engine
from notifyd.delivery import audiourl, receipts, retry
from notifyd.delivery.ratelimit import Limit
from notifyd.errors import OutcomeUnknown, PermanentSendError, TransientSendError
from notifyd.hookspecs import Channel, LooksUp, Lookup, Message
from notifyd.model import Claimed, NoticeFacts, Rendered, Status
from notifyd.planning.clock import Office
from notifyd.plugins import channel_plugins, emit, missing

log = logging.getLogger(__name__)
Render = Callable[[NoticeFacts, datetime, "str | None"], Awaitable[Rendered]]
#: Renders at a time: one a core (see Dispatcher.configure).
RENDERS = max(1, os.cpu_count() or 1)
Clock = Callable[[], datetime]


def build_channels(cfg: Config, pm: pluggy.PluginManager) -> dict[str, Channel]:
    """Every configured channel instance, made by its plugin (ConfigError for a bad one)."""
    plugins = channel_plugins(pm)
    out = {}
    for name, ch in cfg.channels.items():
        if ch.plugin not in plugins:
            raise missing(pm, "channel plugin", ch.plugin, plugins, f"channels.{name}.plugin")
        out[name] = plugins[ch.plugin].create(name, ch.options, cfg)
    return out


@dataclass(frozen=True)
class Result:
    outcome: str  # sent, unknown, transient, permanent, aborted (the call never started)
    provider_id: str | None = None
    error: str | None = None
    retry_after: float | None = None
    opt_out: bool = False  # a permanent error saying the person asked to stop


class Dispatcher:
    def __init__(
        self,
        cfg: Config,
        engine: Engine,
        channels: Mapping[str, Channel],
        render: Render,
        pm: pluggy.PluginManager | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.engine, self.render, self.pm = engine, render, pm
        self.clock = clock or (lambda: datetime.now(UTC))
        self.rng = rng or random.Random()
        self.instance = uuid.uuid4().hex[:16]
        self._claims = itertools.count(1)
        self.stopping = False  # no new claims, no new rounds
        self.aborting = False  # sends not yet started are given up
        self._inflight: set[asyncio.Task[Result]] = set()
        self._queued: set[asyncio.Task[Any]] = set()  # sends waiting for a slot
        self.sent = 0
        self.watch: dw.Watch | None = None  # the last tick's look at the queue
        # on SQLite, made on the loop's thread (an idle tick wakes no other thread)
        self.watcher = dw.Watcher(engine) if dw.Watcher.usable(engine) else None
        self._paused: dict[str, dict[str, Any]] = {}
        self._paused_key: tuple[int, int] | None = None  # the controls version it was read at
        self.configure(cfg, channels, render)

    def configure(self, cfg: Config, channels: Mapping[str, Channel], render: Render) -> None:
        """Take a (re)loaded config; used between ticks on SIGHUP."""
        self.cfg, self.channels, self.render = cfg, dict(channels), render
        d = cfg.dispatch
        self.policy = retry.Policy(d.max_attempts, d.backoff_base, d.backoff_cap, d.jitter)
        self.offices = {code: Office.from_config(code, o) for code, o in cfg.offices.items()}
        self.limits = {
            name: Limit(ch.rate_per_second, ch.burst, ch.concurrency)
            for name, ch in cfg.channels.items()
        }
        self.slots = asyncio.Semaphore(d.concurrency)
        # A cold note is a TTS process and an encoder, CPU-bound: a batch's 500 at once would
        # all overrun voices.engine_timeout; one a core keeps each within it.
        self.renders = asyncio.Semaphore(RENDERS)
        self.reconcile = {
            name: ch.reconcile_seconds or d.reconcile_seconds for name, ch in cfg.channels.items()
        }
        allow = frozenset(cfg.pilot.allowlist)
        self.allowlist: frozenset[str] | None = allow if cfg.pilot.enabled else None

    async def tick(self) -> int:
        """Claim and work batches until nothing is due; returns how many notices were taken."""
        if self.stopping:
            return 0
        # One cheap read first: an idle daemon does nothing else (no claim, no pause query).
        watch = self.watcher.look() if self.watcher is not None else None
        if watch is None:
            watch = await asyncio.to_thread(dw.watch, self.engine)
        self.watch = watch
        paused = await self.paused(watch.controls)
        if "*" in paused:
            return 0
        now = self.clock()
        if not watch.work(now):
            return 0
        if self.cfg.pilot.enabled:  # numbers an admin added in the console count at once
            self.allowlist = await asyncio.to_thread(
                pilotstore.allowlist, self.engine, self.cfg.pilot.allowlist
            )
        for nid in await asyncio.to_thread(ds.supersede_overdue, self.engine, now):
            self._emit(events.NoticeCancelled(now, nid, Status.SUPERSEDED, "deadline_passed"))
        await self._apply_early(now)
        taken = 0
        while not self.stopping:
            owner = f"{self.instance}:{next(self._claims)}"
            lease = now + timedelta(seconds=self.cfg.dispatch.lease_seconds)
            size = self.cfg.dispatch.batch_size
            items = await asyncio.to_thread(
                ds.claim, self.engine, owner, now, lease, size, self.reconcile,
                self.cfg.dispatch.reconcile_seconds,
            )  # fmt: skip
            if not items:
                break
            await self._work(owner, items, set(paused))
            taken += len(items)
            if len(items) < size:
                break
            now = self.clock()
            paused = await asyncio.to_thread(ds.paused, self.engine)
        return taken

    async def paused(self, version: tuple[int, int] | None = None) -> dict[str, dict[str, Any]]:
        """The paused scopes, read again only when the controls changed (pause and resume
        come from the CLI, another process: `version` is ds.controls_version, or the last
        tick's when not given)."""
        if version is None:
            version = self.watch.controls if self.watch is not None else None
        if version is None or version != self._paused_key:
            if version is None:
                version = await asyncio.to_thread(ds.controls_version, self.engine)
            # read after the version: a change in between is read now and again next time
            self._paused = await asyncio.to_thread(ds.paused, self.engine)
            self._paused_key = version
        return self._paused

    async def release(self) -> int:
        """Give back this instance's leases (at shutdown)."""
        if self.watcher is not None:
            self.watcher.close()
        return await asyncio.to_thread(ds.release, self.engine, self.instance + ":", self.clock())

    def stop(self) -> None:
        """SIGTERM: claim nothing more, and send nothing that has not begun; sends still
        queued behind a limit go back to the queue at once."""
        self.stopping = True
        for task in list(self._queued):
            task.cancel()

    def abort(self) -> None:
        """Stop now: sends not yet begun are given up, those in flight are cancelled (and
        recorded unknown)."""
        self.stopping = self.aborting = True
        for task in list(self._inflight):
            task.cancel()

    # --- one batch ------------------------------------------------------------------------

    async def _apply_early(self, now: datetime) -> None:
        """Receipts kept because they came before their send was recorded."""
        order = self.cfg.channel_order or list(self.cfg.channels)
        ttl = self.cfg.dispatch.early_receipt_ttl
        await asyncio.to_thread(receipts.apply_early, self.engine, order, now, ttl)

    async def _work(self, owner: str, items: list[Claimed], paused: set[str]) -> None:
        last_error: dict[int, str] = {}
        first: list[Outcome] = []
        if any(it.unknown for it in items) and not self.stopping:
            items = await self._look_up(items, first, last_error)
        while items or first:
            now = self.clock()
            outcomes: list[Outcome] = first
            first = []
            sends: list[tuple[Claimed, int, str]] = []
            for it in items:
                decided = self._decide(it, now, paused, last_error.get(it.facts.notification_id))
                if isinstance(decided, Outcome):
                    outcomes.append(decided)
                else:
                    sends.append((it, *decided))
            sends = await self._space(sends, now, outcomes)
            rendered = await self._render_all(sends, now, outcomes)
            starts = [(_id(it), name, rendered[_id(it)].engine) for it, _, name in sends
                      if _id(it) in rendered]  # fmt: skip
            lease = now + timedelta(seconds=self.cfg.dispatch.lease_seconds)
            to = {_id(it): self._address(name, it) for it, _, name in sends}
            attempts = await asyncio.to_thread(
                ds.start_attempts, self.engine, owner, starts, now, lease, to
            )
            jobs = [(it, pos, name) for it, pos, name in sends if _id(it) in attempts]
            opened = await self._open_windows(jobs, now)
            tasks = [
                asyncio.ensure_future(
                    self._send(it, name, rendered[_id(it)], attempts[_id(it)],
                               (name, self._address(name, it)) in opened, lease)
                )
                for it, _, name in jobs
            ]  # fmt: skip
            self._inflight.update(tasks)
            try:
                results, early = await self._gather_recording(owner, jobs, tasks, attempts)
            finally:
                self._inflight.difference_update(tasks)
            now = self.clock()
            again: list[Claimed] = []
            refused: list[tuple[int, str]] = []
            for (it, pos, name), res in zip(jobs, results, strict=True):
                nid = it.facts.notification_id
                if nid in early:
                    continue
                if res.opt_out:
                    refused.append((nid, name))
                out, moved = self._settle(it, pos, name, res, attempts[nid], now)
                outcomes.append(out)
                if moved is not None:
                    again.append(moved)
                    last_error[nid] = res.error or res.outcome
            kept = await asyncio.to_thread(ds.finish, self.engine, owner, outcomes, now)
            for out in outcomes:
                if out.notification_id in kept:
                    self._announce(out, now)
            for nid, name in refused:
                await asyncio.to_thread(self._record_opt_out, nid, name, now)
            if jobs:
                await self._apply_early(now)
            items = [it for it in again if it.facts.notification_id in kept]

    async def _look_up(
        self, items: list[Claimed], outcomes: list[Outcome], last_error: dict[int, str]
    ) -> list[Claimed]:
        """Ask the provider about each claimed notice's send of unknown outcome, where it can
        say (LooksUp): accepted settles it (nothing to send again), failed moves it on, not
        found or no answer sends it again. Returns the notices still to work."""
        out: list[Claimed] = []
        for it in items:
            if it.unknown is None:
                out.append(it)
                continue
            aid, name, started = it.unknown
            channel = self.channels.get(name)
            if not isinstance(channel, LooksUp):
                out.append(it)
                continue
            ask = Lookup(aid, self._address(name, it), started)
            try:
                found = await asyncio.wait_for(channel.lookup(ask), self.cfg.dispatch.send_timeout)
            except Exception as exc:  # no answer: the reconciliation period passed, send again
                log.warning("lookup failed; sending again", extra={"channel": name,
                            "attempt": aid, "error": type(exc).__name__})  # fmt: skip
                out.append(it)
                continue
            if found is None:
                log.info("lookup: never reached the provider", extra={"attempt": aid})
                out.append(it)
                continue
            order = it.channels or tuple(self.cfg.channel_order or self.cfg.channels)
            pos = order.index(name) if name in order else it.channel_pos
            if found.status == "failed":
                kind = receipts.failure_outcome(found.error)
                res = Result(kind, provider_id=found.provider_id, error=found.error or "failed")
            else:
                res = Result("sent", provider_id=found.provider_id)
            log.info("lookup settled a send of unknown outcome",
                     extra={"attempt": aid, "receipt": found.status})  # fmt: skip
            settled, moved = self._settle(it, pos, name, res, aid, self.clock(), counted=True)
            outcomes.append(settled)
            if moved is not None:
                out.append(moved)
                last_error[it.facts.notification_id] = res.error or res.outcome
        return out

    async def _gather_recording(
        self, owner: str, jobs: list[tuple[Claimed, int, str]],
        tasks: list[asyncio.Task[Result]], attempts: dict[int, int],
    ) -> tuple[list[Result], set[int]]:  # fmt: skip
        """Wait for the round's sends, recording each accepted one (its provider id, the notice
        `sent`, its lease released) within moments rather than at the end of the round: a
        receipt that arrives while the rest of the batch is still sending must find its
        attempt. Returns every result and the notices already recorded."""
        ready: list[Outcome] = []
        wake = asyncio.Event()

        def done(it: Claimed, pos: int, name: str, task: asyncio.Task[Result]) -> None:
            if task.cancelled() or task.exception() is not None:
                return
            res = task.result()
            if res.outcome == "sent":
                aid = attempts[it.facts.notification_id]
                ready.append(self._settle(it, pos, name, res, aid, self.clock())[0])
                wake.set()

        for task, (it, pos, name) in zip(tasks, jobs, strict=True):
            task.add_done_callback(partial(done, it, pos, name))
        everything = asyncio.gather(*tasks)
        early: set[int] = set()
        while True:
            woken = asyncio.ensure_future(wake.wait())
            waiting: set[asyncio.Future[Any]] = {everything, woken}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()
            wake.clear()
            if ready:
                batch = ready[:]
                del ready[:]
                now = self.clock()
                kept = await asyncio.to_thread(ds.finish, self.engine, owner, batch, now)
                early.update(out.notification_id for out in batch)
                for out in batch:
                    if out.notification_id in kept:
                        self._announce(out, now)
            if everything.done() and not ready:
                return list(everything.result()), early

    async def _space(
        self, sends: list[tuple[Claimed, int, str]], now: datetime, outcomes: list[Outcome]
    ) -> list[tuple[Claimed, int, str]]:
        """Families share phones: a notice goes to a number only `same_phone_interval` after
        another notice went to it (in this batch, by another instance, or a moment ago), so
        each arrives on its own; a later one waits, within its deadline."""
        gap = timedelta(seconds=self.cfg.dispatch.same_phone_interval)
        if not gap or not sends:
            return sends
        addresses = {self._address(name, it) for it, _, name in sends} - {""}
        recent = await asyncio.to_thread(ds.recent_sends, self.engine, addresses, now - gap)
        kept: list[tuple[Claimed, int, str]] = []
        for it, pos, name in sends:
            nid, address = it.facts.notification_id, self._address(name, it)
            others = [t for other, t in recent.get(address, {}).items() if other != nid]
            last = max(others, default=None)
            if last is not None and last + gap > now:
                at = min(last + gap, it.deadline - timedelta(seconds=1))
                if at > now:  # past the deadline it goes now: each notice still arrives
                    back = (
                        Status.SCHEDULED.value if it.attempt_count == 0 else Status.RETRYING.value
                    )
                    outcomes.append(Outcome(nid, back, due_at=at, channel_pos=pos,
                                            reason="same_phone_spacing"))  # fmt: skip
                    continue
            kept.append((it, pos, name))
            if address:
                recent.setdefault(address, {})[nid] = now
        return kept

    async def _open_windows(
        self, jobs: list[tuple[Claimed, int, str]], now: datetime
    ) -> set[tuple[str, str]]:
        """(channel, address) pairs whose person wrote to us within the window: one query a
        round, not one a message."""
        wanted = {(name, self._address(name, it)) for it, _, name in jobs}
        wanted = {pair for pair in wanted if pair[1]}
        return await asyncio.to_thread(receiptdb.open_windows, self.engine, wanted, now)

    def _record_opt_out(self, nid: int, name: str, now: datetime) -> None:
        order = self.cfg.channel_order or list(self.cfg.channels)
        if receipts.record_opt_out(self.engine, nid, name, order, now):
            log.info("opt-out recorded from a refused send", extra={"channel": name})

    def _decide(
        self, it: Claimed, now: datetime, paused: set[str], last_error: str | None
    ) -> Outcome | tuple[int, str]:
        """What to do with a claimed notice now: an outcome, or (position, channel) to send."""
        nid = it.facts.notification_id
        back = Status.SCHEDULED.value if it.attempt_count == 0 else Status.RETRYING.value
        if now >= it.deadline:
            return Outcome(nid, Status.SUPERSEDED.value, reason="deadline_passed")
        if self.stopping:
            return Outcome(nid, back)
        office = self.offices.get(it.facts.office)
        if office is not None and not office.in_window(now):
            opening = office.next_opening(now)
            if opening >= it.deadline:
                return Outcome(nid, Status.SUPERSEDED.value, reason="deadline_passed")
            return Outcome(nid, back, due_at=opening, reason=WAITING_WINDOW)
        if ds.office_scope(it.facts.office) in paused:  # this office's sending is held
            later = now + timedelta(seconds=self.cfg.dispatch.paused_recheck_seconds)
            return Outcome(nid, back, due_at=later, reason=WAITING_PAUSE)
        order = it.channels or tuple(self.cfg.channel_order or self.cfg.channels)
        usable = {name: self._skip(name, it) for name in order if name in self.channels}
        choice = retry.choose_channel(order, it.channel_pos, usable)
        if choice.pos is None:
            skipped = {why for why in usable.values() if why}
            if last_error is None and it.attempt_count == 0 and len(skipped) == 1:
                reason = skipped.pop()
                if reason in ("opted_out", "withheld_pilot"):
                    return Outcome(nid, Status.CANCELLED.value, reason=reason)
            return Outcome(nid, Status.FAILED.value, reason=last_error or choice.reason)
        if choice.name in paused:
            later = now + timedelta(seconds=self.cfg.dispatch.paused_recheck_seconds)
            return Outcome(nid, back, due_at=later, channel_pos=choice.pos, reason=WAITING_PAUSE)
        return choice.pos, choice.name

    def _skip(self, name: str, it: Claimed) -> str:
        kind = self.cfg.channels[name].kind
        address = self._address(name, it)
        return retry.skip_reason(name, address, kind != "other", it.opted_out, self.allowlist)

    def _address(self, name: str, it: Claimed) -> str:
        kind = self.cfg.channels[name].kind
        if kind == "whatsapp":
            return it.whatsapp or it.phone or ""
        if kind == "email":
            return it.email or ""
        return it.phone or ""

    async def _render_all(
        self, sends: list[tuple[Claimed, int, str]], now: datetime, outcomes: list[Outcome]
    ) -> dict[int, Rendered]:
        async def one(it: Claimed, name: str) -> Rendered | None:
            try:
                async with self.renders:
                    return await self.render(it.facts, now, self.channels[name].audio_format)
            except Exception as exc:  # a render bug must not stop the batch: try again later
                log.exception("render failed", extra={"notification_id": it.facts.notification_id})
                wait = timedelta(seconds=self.cfg.dispatch.backoff_base)
                back = Status.SCHEDULED.value if it.attempt_count == 0 else Status.RETRYING.value
                outcomes.append(Outcome(it.facts.notification_id, back, due_at=now + wait,
                                        reason=f"render failed: {type(exc).__name__}"))  # fmt: skip
                return None

        done = await asyncio.gather(*(one(it, name) for it, _, name in sends))
        return {it.facts.notification_id: r for (it, _, _), r in zip(sends, done, strict=True) if r}

    async def _send(
        self, it: Claimed, name: str, rendered: Rendered, attempt_id: int, window_open: bool,
        lease: datetime,
    ) -> Result:  # fmt: skip
        msg = Message(
            notification_id=it.facts.notification_id, to=self._address(name, it),
            language=rendered.language, text=rendered.text, audio=rendered.audio,
            fields=rendered.fields, attempt_id=attempt_id, window_open=window_open,
            audio_url=audiourl.url_for_message(self.cfg, rendered.audio, self.clock()),
        )  # fmt: skip
        started = False
        me = asyncio.current_task()
        if me is not None:
            self._queued.add(me)
        try:
            if self.stopping:
                return Result("aborted")
            # The channel's own limits first: a slow channel must not hold the shared slots.
            async with self.limits[name], self.slots:
                timeout = self.cfg.dispatch.send_timeout
                now = self.clock()
                # Stopping, or queued too long: past the stage's deadline, or the lease could
                # expire during the call (another instance would then send it too). Back to
                # the queue.
                late = now >= it.deadline or now + timedelta(seconds=timeout) >= lease
                if self.stopping or late:
                    return Result("aborted")
                started = True
                self._queued.discard(me)  # type: ignore[arg-type]
                log.debug("sending", extra={"channel": name, "attempt": attempt_id,
                                            "to": msg.to})  # fmt: skip
                pid = await asyncio.wait_for(self.channels[name].send(msg), timeout)
                self.sent += 1
                return Result("sent", provider_id=str(pid)[:128])
        except TransientSendError as exc:
            return Result("transient", error=exc.reason, retry_after=exc.retry_after)
        except PermanentSendError as exc:
            return Result("permanent", error=exc.reason, opt_out=exc.opt_out)
        except OutcomeUnknown as exc:
            return Result("unknown", error=exc.reason)
        except TimeoutError:
            return Result("unknown", error="no answer within dispatch.send_timeout")
        except asyncio.CancelledError:  # shutdown past its grace time
            return (
                Result("unknown", error="cancelled at shutdown") if started else Result("aborted")
            )
        except Exception as exc:  # a channel bug: retry like a transient error, and say so
            log.exception("channel raised an untyped error", extra={"channel": name})
            return Result("transient", error=f"channel error: {type(exc).__name__}")
        finally:
            self._queued.discard(me)  # type: ignore[arg-type]

    def _settle(
        self, it: Claimed, pos: int, name: str, res: Result, attempt_id: int, now: datetime,
        counted: bool = False,
    ) -> tuple[Outcome, Claimed | None]:  # fmt: skip
        """The outcome to record, and the notice to work again in the next round (or None).
        `counted`: the attempt is already counted in the notice's attempt_count (a lookup)."""
        record = partial(
            Outcome, it.facts.notification_id, channel=name, attempt_id=attempt_id,
            attempt_outcome=res.outcome, provider_id=res.provider_id, error=res.error,
        )  # fmt: skip
        if res.outcome == "aborted":
            back = Status.SCHEDULED.value if it.attempt_count == 0 else Status.RETRYING.value
            return record(back), None
        if res.outcome == "sent":
            return record(Status.SENT.value), None
        if res.outcome == "unknown":  # wait for its receipt before sending again
            wait = timedelta(seconds=self.reconcile.get(name, 0.0))
            due = min(now + wait, it.deadline)
            return record(Status.RETRYING.value, reason=ds.RECONCILING, due_at=due), None
        tries = it.tries.get(name, 0) + (0 if counted else 1)
        if res.outcome == "transient":
            at = retry.next_try(now, tries, it.deadline, self.policy, self.rng, res.retry_after)
            if at is not None:
                return record(Status.RETRYING.value, due_at=at, reason="retry"), None
        moved = replace(
            it, tries={**it.tries, name: tries},
            attempt_count=it.attempt_count + (0 if counted else 1), channel_pos=pos + 1,
            unknown=None,
        )  # fmt: skip
        return record(Status.SENDING.value, channel_pos=pos + 1), moved

    def _announce(self, out: Outcome, now: datetime) -> None:
        nid = out.notification_id
        if out.status == Status.SENT.value and out.attempt_id:
            outcome = out.attempt_outcome or ""
            self._emit(events.NoticeSent(now, nid, out.channel, out.attempt_id, outcome))
        elif out.status == Status.RETRYING.value and out.due_at and out.attempt_id:
            self._emit(events.NoticeRetrying(now, nid, out.channel, out.due_at, out.error or ""))
        elif out.status == Status.FAILED.value:
            self._emit(events.NoticeFailed(now, nid, out.reason or ""))
        elif out.status in (Status.CANCELLED.value, Status.SUPERSEDED.value):
            self._emit(events.NoticeCancelled(now, nid, out.status, out.reason or ""))

    def _emit(self, event: events.Event) -> None:
        if self.pm is not None:
            emit(self.pm, event)


#: Why a due notice waits (its reason meanwhile): staff see it, and a resend knows the stage was
#: due already (sent again now, not as an extra notice).
WAITING_WINDOW = "outside_window"
WAITING_PAUSE = "paused"


def _id(it: Claimed) -> int:
    return it.facts.notification_id


def monotonic_clock(start: datetime | None) -> Clock:
    """Real time, or time running on from `start` (a rehearsal's `--now`)."""
    if start is None:
        return lambda: datetime.now(UTC)
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)
