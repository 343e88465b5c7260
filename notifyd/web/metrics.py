"""Prometheus metrics on a loopback port, read from the database at scrape time.

A custom collector queries the store when Prometheus scrapes, so the dispatcher, the sync
and the purge need no counters of their own and every instance on one database reports the
same truth. Off when `[metrics] port` is 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from notifyd.config import Config
from notifyd.db import log as logstore
from notifyd.db.store import DatabaseError, Engine

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StoreCollector(Collector):
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine, self.clock = engine, clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("notifyd_database_up", "1 if the last scrape read the database")
        try:
            families = self._read(self.clock())
        except DatabaseError as exc:  # a scrape must not fail; say so in a metric
            log.warning("metrics: cannot read the database", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self, now: datetime) -> list[Metric]:
        notices = GaugeMetricFamily(
            "notifyd_notices", "Notices by status", labels=["status"]
        )  # fmt: skip
        attempts = GaugeMetricFamily(
            "notifyd_attempts", "Delivery attempts by channel and outcome",
            labels=["channel", "outcome"],
        )  # fmt: skip
        overdue = GaugeMetricFamily(
            "notifyd_oldest_overdue_seconds",
            "How long the oldest notice still waiting has been past its due time (0: none)",
        )
        last_sync = GaugeMetricFamily(
            "notifyd_last_sync_timestamp_seconds",
            "When the last successful registry sync finished (Unix time; 0: never)",
        )
        doubled = GaugeMetricFamily(
            "notifyd_duplicate_sends",
            "Sends a provider accepted beyond the first for one notice (not staff resends)",
        )
        maybe = GaugeMetricFamily(
            "notifyd_possible_duplicate_sends",
            "Sends of unknown outcome sent again without word from the provider",
        )
        figures = logstore.figures(self.engine, now)
        for status, count in figures.notices:
            notices.add_metric([status], count)
        for channel, outcome, count in figures.attempts:
            attempts.add_metric([channel, outcome], count)
        oldest, finished = figures.oldest_due, figures.last_sync
        overdue.add_metric([], (now - oldest).total_seconds() if oldest else 0)
        last_sync.add_metric([], _unix(finished))
        doubled.add_metric([], figures.duplicates)
        maybe.add_metric([], figures.possible_duplicates)
        return [notices, attempts, overdue, last_sync, doubled, maybe]


def _unix(value: Any) -> float:
    """func.max loses the column type on some backends: accept text or naive UTC too."""
    if value is None:
        return 0.0
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def start(cfg: Config, engine: Engine, clock: Callable[[], datetime] = _utcnow) -> Any | None:
    """Serve /metrics on `[metrics] address:port` in a thread; None when the port is 0.

    Returns the HTTP server (call `.shutdown()` to stop it)."""
    if not cfg.metrics.port:
        return None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(engine, clock))
    server, _thread = start_http_server(cfg.metrics.port, cfg.metrics.address, registry=registry)
    log.info("metrics served", extra={"address": cfg.metrics.address, "port": cfg.metrics.port})
    return server
