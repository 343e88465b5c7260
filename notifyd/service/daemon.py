"""`notifyd run`: the asyncio daemon. APScheduler is its clock, never its queue.

Three recurring jobs, each `max_instances=1` and coalesced: the dispatch tick, the registry
sync (cron `registry.schedule`, run in a worker thread so the loop stays responsive) and the
systemd watchdog. Notifications are rows in our tables, never one job each.

Signals: SIGTERM (and SIGINT) stop claiming, put queued sends back at once, give calls under
way `dispatch.shutdown_grace` seconds, cancel the rest (recorded unknown, then reconciled),
release the leases of what was not sent, exit 0.
SIGHUP reloads the config, channels and renderer, keeping the old ones if the new do not load.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pluggy
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from notifyd import config as config_mod
from notifyd import plugins
from notifyd.config import Config
from notifyd.db import dispatch as ds
from notifyd.db import receipts as receiptdb
from notifyd.db import runs, search, store
from notifyd.db.store import DatabaseError
from notifyd.delivery import audiourl, followup
from notifyd.delivery.dispatch import Dispatcher, Render, build_channels, monotonic_clock
from notifyd.errors import NotifydError, SourceUnreachable, SyncRefused
from notifyd.hookspecs import Channel, ReceivesWebhooks
from notifyd.service import private, retention
from notifyd.service.health import Health, storage
from notifyd.service.sdnotify import notify, watchdog_interval
from notifyd.voice import audio
from notifyd.voice.render import Renderer
from notifyd.web import metrics

log = logging.getLogger(__name__)
MakeRender = Callable[[Config, pluggy.PluginManager], Render]
JOB = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}


def make_render(cfg: Config, pm: pluggy.PluginManager) -> Render:
    """The renderer for this config; made anew on SIGHUP, which rereads the templates."""
    return Renderer(cfg, plugins.voices(pm)).render


class Daemon:
    def __init__(
        self,
        config_path: str | None,
        start: datetime | None = None,
        render_factory: MakeRender = make_render,
        sync_at_start: bool = False,
    ) -> None:
        self.config_path = config_path
        self.clock = monotonic_clock(start)
        self.render_factory = render_factory
        self.sync_at_start = sync_at_start
        self.cfg = config_mod.load(config_path)
        self.pm = plugins.make_manager(self.cfg.disabled_plugins)
        self._stop = asyncio.Event()
        self._pending: tuple[Config, Any, Render] | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._followups: set[asyncio.Future[None]] = set()
        self.health = Health(self.cfg.dispatch.tick_seconds)
        self._sent_status = ""
        self.web: Any = None  # the web app's aiohttp runner, when it runs
        self.console: Any = None  # the staff console's runner

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload)
        notify("STATUS=migrating the database")
        await asyncio.to_thread(private.secure_state_dir, self.cfg.state_dir)
        url = store.database_url(self.cfg)
        # Pooled: the tick every few seconds reuses its connections (and, on PostgreSQL, the
        # prepared statements psycopg keeps on them) instead of opening new ones each time.
        self.engine = await asyncio.to_thread(store.open_store, url, True)
        channels = build_channels(self.cfg, self.pm)
        render = self.render_factory(self.cfg, self.pm)
        self.dispatcher = Dispatcher(self.cfg, self.engine, channels, render, self.pm, self.clock)
        if wants_web(self.cfg, channels):
            await self._start_web(channels)
        self.scheduler = AsyncIOScheduler(timezone=UTC, event_loop=loop)
        self._schedule(first=True)
        self.scheduler.start()
        self.metrics = metrics.start(self.cfg, self.engine, self.clock)
        await self._start_console()
        notify("READY=1", "STATUS=running: waiting for due notices")
        if (every := watchdog_interval()) is not None:  # pings after READY, however slow the start
            self.scheduler.add_job(self._watchdog, IntervalTrigger(seconds=every), id="watchdog",
                                   **JOB)  # fmt: skip
        log.info("notifyd running", extra={"instance": self.dispatcher.instance})
        await self._stop.wait()
        return await self._shutdown()

    def _schedule(self, first: bool = False) -> None:
        cfg, s = self.cfg, self.scheduler
        tick = IntervalTrigger(seconds=cfg.dispatch.tick_seconds, timezone=UTC)
        tz = next(iter(cfg.offices.values())).timezone
        cron = CronTrigger.from_crontab(cfg.registry.schedule, timezone=tz)
        purge = CronTrigger.from_crontab(cfg.retention.schedule, timezone=tz)
        if not first:  # a SIGHUP: the reloaded config's schedules
            s.reschedule_job("dispatch", trigger=tick)
            s.reschedule_job("sync", trigger=cron)
            s.reschedule_job("purge", trigger=purge)
            return
        s.add_job(self._tick, tick, id="dispatch", next_run_time=datetime.now(UTC), **JOB)
        why = "asked to (--sync)" if self.sync_at_start else self._sync_overdue(cron)
        if why:
            log.info("syncing the registry at start: %s", why)
        sync_start = {"next_run_time": datetime.now(UTC)} if why else {}
        s.add_job(self._sync, cron, id="sync", **sync_start, **JOB)
        # Also once at start: a server that is down at night still purges on time.
        s.add_job(self._purge, purge, id="purge", next_run_time=datetime.now(UTC), **JOB)

    def _sync_overdue(self, cron: CronTrigger) -> str | None:
        try:
            last = runs.last_sync_finished(self.engine)
        except Exception:  # the sync itself will report a database that does not answer
            log.exception("cannot read the last sync; syncing at start")
            return "the last sync could not be read"
        return overdue(cron, last, self.clock())

    async def _tick(self) -> None:
        if self.health.waiting():  # a full disk or read-only database: back off
            return
        self._tick_task = asyncio.current_task()
        try:
            if self._pending is not None:
                self.cfg, channels, render = self._pending
                self._pending = None
                old = self.dispatcher.channels
                self.dispatcher.configure(self.cfg, channels, render)
                self._schedule()
                if self.web is not None:
                    from notifyd.web import app as web

                    state = self.web.app[web.STATE]
                    state.cfg, state.channels = self.cfg, channels
                await close_channels(old)
            before = self.dispatcher.sent
            taken = await self.dispatcher.tick()
            await self._answer_taps()
            if taken or self.dispatcher.sent != before:
                sent = self.dispatcher.sent
                log.info("dispatch tick: %d notices taken, %d sent since start", taken, sent)
            if self.health.degraded() and not await asyncio.to_thread(self._space_back):
                return  # a tick that wrote nothing proves nothing: the disk is still full
            self.health.recovered()
            status = f"STATUS=running: {self.dispatcher.sent} notices sent since start"
            if status != self._sent_status:
                self._sent_status = status
                notify(status)
        except Exception as exc:  # a database outage must not end the daemon: next tick tries
            disk = await asyncio.to_thread(storage, store.database_url(self.cfg))
            if self.health.failed(exc, disk=disk.get("state")):  # logged once per change
                self._sent_status = f"STATUS=degraded: {self.health.state}"
                notify(self._sent_status)
            else:
                log.exception("dispatch tick failed")
                notify("STATUS=dispatch failing, see the log")
        finally:
            self._tick_task = None

    def _space_back(self) -> bool:
        """For the embedded database, the file system's word that it takes writes again."""
        disk = storage(store.database_url(self.cfg))
        return not disk or disk["state"] == "ok"

    async def _answer_taps(self) -> None:
        """Listen taps kept while sending was paused, for channels no longer paused."""
        if self.dispatcher.stopping:
            return
        watch = self.dispatcher.watch  # this tick's: no tap kept, nothing to read
        if watch is not None and not watch.taps:
            return
        paused = await self.dispatcher.paused()
        if "*" in paused:
            return
        open_ = [name for name in self.dispatcher.channels if name not in paused]
        taps = await asyncio.to_thread(receiptdb.take_taps, self.engine, open_, self.clock())
        for notification_id, channel in taps:
            task = asyncio.ensure_future(self._on_reply(notification_id, channel))
            self._followups.add(task)
            task.add_done_callback(self._followups.discard)
            task.add_done_callback(_log_failure)

    async def _sync(self) -> None:
        from notifyd.registry.sync import run_sync

        notify("STATUS=syncing the registry")
        loop = asyncio.get_running_loop()
        try:
            report = await loop.run_in_executor(
                None, lambda: run_sync(self.cfg, self.engine, self.pm, self.clock())
            )
            log.info("sync run %d done: %d notices planned", report.run_id, report.planned)
            # the console's and the CLI's name search follow the registry at once
            await asyncio.to_thread(search.refresh, self.engine, self.clock())
        except (SourceUnreachable, SyncRefused) as exc:  # said in one line, tried next time
            log.error("sync failed: %s", exc)
        except DatabaseError as exc:  # one line: its parameters hold personal data
            from notifyd.registry.sync import describe_error

            log.error("sync failed: database error: %s", describe_error(exc))
        except Exception:
            log.exception("sync failed")
        notify(self._sent_status or "STATUS=running")

    async def _purge(self) -> None:
        """Daily: personal data of finished permits, and cached audio past its retention."""
        loop = asyncio.get_running_loop()
        try:
            now = self.clock()
            await loop.run_in_executor(None, retention.purge, self.engine, self.cfg, now)
            removed = await loop.run_in_executor(None, audio.purge_audio, self.cfg, now)
            log.info("audio cache purged", extra={"files": removed})
        except Exception:
            log.exception("retention purge failed; the next run tries again")

    async def _watchdog(self) -> None:
        notify("WATCHDOG=1")

    def _reload(self) -> None:
        """SIGHUP: validate everything first; apply at the next tick, between batches."""
        try:
            cfg = config_mod.load(self.config_path)
            channels = build_channels(cfg, self.pm)
            render = self.render_factory(cfg, self.pm)
        except NotifydError as exc:
            log.error("reload failed; keeping the running config: %s", exc)
            notify(f"STATUS=reload failed, old config kept: {exc}"[:200])
            return
        self._pending = (cfg, channels, render)
        log.info("config reloaded", extra={"path": cfg.source_path})
        notify("STATUS=config reloaded")

    async def _shutdown(self) -> int:
        notify("STOPPING=1", "STATUS=stopping: finishing in-flight sends")
        self.scheduler.pause()  # no new ticks; the executor would cancel a running one
        self.dispatcher.stop()  # queued sends go back at once; calls under way get the grace
        task = self._tick_task
        if task is not None and not task.done():
            grace = self.cfg.dispatch.shutdown_grace
            done, _ = await asyncio.wait({task}, timeout=grace)
            if not done:
                log.warning("grace time over; cancelling sends in flight")
                self.dispatcher.abort()
                await asyncio.wait({task})
        self.scheduler.shutdown(wait=False)
        if self.metrics is not None:
            self.metrics.shutdown()
        if self._followups:  # voice notes answering taps kept during a pause
            await asyncio.wait(self._followups, timeout=self.cfg.dispatch.shutdown_grace)
        released = await self.dispatcher.release()
        if self.console is not None:
            await self.console.cleanup()
        if self.web is not None:  # after the sends: their receipts may still come in
            await self.web.cleanup()  # also waits for follow-ups under way
            await asyncio.to_thread(self.web_engine.dispose)
        await close_channels(self.dispatcher.channels)
        log.info("notifyd stopped", extra={"released": released})
        await asyncio.to_thread(self.engine.dispose)
        return 0

    async def _start_web(self, channels: Mapping[str, Channel]) -> None:
        from notifyd.web import app as web

        url = store.database_url(self.cfg)
        self.web_engine = (
            store.connect(url, pooled=True) if url.startswith("sqlite") else self.engine
        )
        try:
            self.web = await web.start(
                self.cfg, self.web_engine, channels, self._on_reply, clock=self.clock,
                degraded=self.health.degraded,
            )  # fmt: skip
        except OSError as exc:
            raise NotifydError(
                f"http.listen {self.cfg.http.listen}: cannot listen ({exc.strerror or exc}); "
                "choose a free port"
            ) from exc

    async def _start_console(self) -> None:
        """The staff console on its own listener (`console.listen`), never the webhook one."""
        from notifyd.console import app as console

        if not self.cfg.console.listen:
            log.info("console off (console.listen is empty)")
            return
        url = store.database_url(self.cfg)
        engine = store.connect(url, pooled=True) if url.startswith("sqlite") else self.engine
        try:
            self.console = await console.start(self.cfg, engine, clock=self.clock)
        except OSError as exc:
            raise NotifydError(
                f"console.listen {self.cfg.console.listen}: cannot listen "
                f"({exc.strerror or exc}); choose a free port"
            ) from exc

    async def _on_reply(self, notification_id: int, channel: str) -> None:
        """A listen tap: send the notice's voice note now, on the channel it came from."""
        target = self.dispatcher.channels.get(channel)
        if target is None:
            return
        paused = await asyncio.to_thread(ds.paused, self.engine)
        if "*" in paused or channel in paused:  # answered after resume (see _answer_taps)
            await asyncio.to_thread(receiptdb.keep_tap, self.engine, notification_id, channel,
                                    self.clock())  # fmt: skip
            log.info("voice follow-up waits: sending is paused", extra={"channel": channel})
            return
        now, cfg = self.clock(), self.cfg

        def url(path: Path) -> str:
            return audiourl.audio_url(cfg, path, now)

        async with self.dispatcher.limits[channel]:  # the channel's rate limit and bound
            await followup.send_voice(
                self.engine, cfg, target, notification_id, self.dispatcher.render, now,
                audio_url=url if cfg.http.url_secret else None,
            )  # fmt: skip


def overdue(cron: CronTrigger, last_ok: datetime | None, now: datetime) -> str | None:
    """Why a sync is due at start, or None: a daemon started after its sync time (or never
    synced) would otherwise plan nothing until the next scheduled run, a day late."""
    if last_ok is None:
        return "there has been no successful sync yet"
    if last_ok.tzinfo is None:
        last_ok = last_ok.replace(tzinfo=UTC)
    first = cron.get_next_fire_time(None, now)
    second = cron.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    if first is None or second is None:
        return None
    period = second - first
    age = now - last_ok
    if age <= period:
        return None
    return (
        f"the last successful sync was {_span(age)} ago, longer than the schedule's {_span(period)}"
    )


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("follow-up failed", exc_info=task.exception())


def wants_web(cfg: Config, channels: Mapping[str, Channel]) -> bool:
    """The web app runs when a channel takes webhooks (receipts, replies) or calls need audio
    URLs (http.url_secret set); on loopback unless http.listen says otherwise."""
    return bool(cfg.http.url_secret) or any(
        isinstance(ch, ReceivesWebhooks) for ch in channels.values()
    )


async def close_channels(channels: Mapping[str, Channel]) -> None:
    """Close each channel's HTTP session (channels that hold one have `aclose`)."""
    for name, ch in channels.items():
        close = getattr(ch, "aclose", None)
        if close is None:
            continue
        try:
            await close()
        except Exception:
            log.exception("closing a channel failed", extra={"channel": name})


def run(config_path: str | None, start: datetime | None, sync_at_start: bool) -> int:
    daemon = Daemon(config_path, start, sync_at_start=sync_at_start)
    return asyncio.run(daemon.run())
