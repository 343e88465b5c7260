"""`notifyd run` as a real subprocess: delivery, retries, fallback, signals, sd_notify, controls.

The test channel (tests/testplugins/channels.py) is loaded through the real `notifyd`
entry-point group; it records every send in a file and fails on demand. The clock starts at
`--now`, so what is due never depends on the hour the tests run.
"""

from __future__ import annotations

import getpass
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import FRIDAY_MORNING, free_port, person, toml, wait_for, write_registry
from notifyd import config, plugins
from notifyd.db import schema, store
from notifyd.registry.sync import run_sync

NOW = FRIDAY_MORNING  # the 14-day notice of a permit expiring 2026-12-18 is due
DUE = "2026-12-18"


class Daemon:
    """One test's daemon: its config, database, send log and process."""

    def __init__(
        self,
        tmp_path: Path,
        plugin_path: str,
        rows: int,
        db_url: str = "",
        synced: bool = True,
        **overrides: Any,
    ) -> None:
        self.tmp, self.log = tmp_path, tmp_path / "sends.jsonl"
        people = [person(i, expiry_date=DUE, whatsapp=f"0812-3456-{i:04d}") for i in range(rows)]
        registry = write_registry(tmp_path / "registry.csv", people)
        wa, sms = overrides.pop("wa", {}), overrides.pop("sms", {})
        self.data: dict[str, Any] = {
            "state_dir": str(tmp_path / "state"),
            "channel_order": ["whatsapp", "sms"],
            "registry": {"path": str(registry)},
            "offices": {"BLT": {"timezone": "Asia/Jakarta", "window": "00:00-24:00",
                                "weekend": [], "holidays_country": ""}},
            "channels": {
                "whatsapp": {"plugin": "recording", "kind": "whatsapp",
                             "options": {"log": str(self.log), **wa}},
                "sms": {"plugin": "recording", "kind": "sms",
                        "options": {"log": str(self.log), **sms}},
            },
            # never the fixed default ports: other test processes run daemons at the same time
            "http": {"listen": f"127.0.0.1:{free_port()}"},
            "console": {"listen": ""},
            "dispatch": {"tick_seconds": 0.2, "lease_seconds": 2.0, "send_timeout": 1.0,
                         "backoff_base": 0.4, "backoff_cap": 10.0, "jitter": False,
                         "paused_recheck_seconds": 0.3, "shutdown_grace": 5.0,
                         **overrides.pop("dispatch", {})},
        }  # fmt: skip
        self.data.update(overrides)
        if db_url.startswith("postgresql"):
            self.data["database"] = {"url": db_url}
        self.path = tmp_path / "notifyd.toml"
        self.path.write_text(toml(self.data))
        self.env = {**os.environ, "PYTHONPATH": plugin_path}
        self.env.pop("NOTIFY_SOCKET", None)
        self.output = tmp_path / "daemon.out"
        self.proc: subprocess.Popen[bytes] | None = None
        cfg = config.load(self.path)
        self.engine = store.open_store(store.database_url(cfg))
        if synced:
            run_sync(cfg, self.engine, plugins.make_manager(), NOW)

    def cli(self, *args: str, now: Any = NOW) -> subprocess.CompletedProcess[str]:
        cmd = [
            sys.executable,
            "-m",
            "notifyd.cli.main",
            "--now",
            now.isoformat(),
            "-c",
            str(self.path),
        ]
        return subprocess.run([*cmd, *args], env=self.env, capture_output=True, text=True)

    def start(self, now: Any = NOW, *args: str, fds: int = 0, **env: str) -> None:
        cmd = [
            sys.executable,
            "-m",
            "notifyd.cli.main",
            "--now",
            now.isoformat(),
            "-c",
            str(self.path),
        ]

        def limit() -> None:  # as the battery ran it: a descriptor limit of `fds`
            resource.setrlimit(resource.RLIMIT_NOFILE, (fds, fds))

        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(
                [*cmd, "run", *args], env={**self.env, **env}, stdout=out,
                stderr=subprocess.STDOUT, preexec_fn=limit if fds else None,
            )  # fmt: skip

    def wait_running(self) -> None:
        """Until its signal handlers are in place and its jobs scheduled (a slow start under
        load must not turn a SIGHUP into the default action, which ends the process)."""
        wait_for(lambda: "notifyd running" in self.output.read_text(), what="the start")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def calls_started(self) -> int:
        started = self.log.with_suffix(".started")
        return len(started.read_text().splitlines()) if started.exists() else 0

    def sends(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def notices(self) -> dict[int, tuple[str, str | None]]:
        n = schema.notifications
        with self.engine.connect() as conn:
            rows = conn.execute(select(n.c.id, n.c.status, n.c.reason).where(n.c.stage == 14))
            return {nid: (st, reason) for nid, st, reason in rows}

    def attempts(self) -> list[tuple[int, str, str, str | None]]:
        a = schema.attempts
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(a.c.notification_id, a.c.channel, a.c.outcome, a.c.error).order_by(a.c.id)
            )
            return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.fixture
def make_daemon(tmp_path: Path, plugin_path: str) -> Iterator[Callable[..., Daemon]]:
    made: list[Daemon] = []

    def make(rows: int = 3, **overrides: Any) -> Daemon:
        d = Daemon(tmp_path, plugin_path, rows, **overrides)
        made.append(d)
        return d

    yield make
    for d in made:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d.engine.dispose()


@pytest.fixture
def daemon_on_each_db(make_daemon: Callable[..., Daemon], db_url: str) -> Callable[..., Daemon]:
    """make_daemon on SQLite, and again on PostgreSQL."""
    return lambda **kw: make_daemon(db_url=db_url, **kw)


@pytest.fixture
def notify_socket() -> Iterator[tuple[str, list[str]]]:
    """A NOTIFY_SOCKET datagram socket, as systemd gives a Type=notify service (a short path:
    unix socket paths are limited to 108 bytes), read all along as systemd does: Linux queues
    only net.unix.max_dgram_qlen (10) datagrams, and a daemon pinging its watchdog every
    0.15 s would otherwise block on a full queue. Yields the path and the lines received."""

    folder = tempfile.mkdtemp(prefix="sd")
    path = os.path.join(folder, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                lines.extend(sock.recv(4096).decode().split("\n"))
            except TimeoutError:
                continue

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    yield path, lines
    done.set()
    reader.join()
    sock.close()
    os.unlink(path)
    os.rmdir(folder)


def received(lines: list[str]) -> list[str]:
    """What the daemon said so far (it has stopped: give the reader one more turn)."""
    time.sleep(0.3)
    return list(lines)


def test_due_notices_are_delivered_once_and_systemd_hears_ready_watchdog_stopping(
    make_daemon: Callable[..., Daemon], notify_socket: tuple[str, list[str]]
) -> None:
    path, lines = notify_socket
    d = make_daemon(rows=4)
    d.start(NOTIFY_SOCKET=path, WATCHDOG_USEC="300000")
    wait_for(lambda: len(d.sends()) == 4, what="4 sends")
    time.sleep(1.0)  # several more ticks and watchdog pings: nothing is sent again
    assert d.stop() == 0
    sends = d.sends()
    assert len(sends) == len({s["id"] for s in sends}) == 4
    assert {s["channel"] for s in sends} == {"whatsapp"}
    assert set(d.notices().values()) == {("sent", None)}
    messages = received(lines)
    assert messages.index("READY=1") < messages.index("STOPPING=1")
    assert messages.count("WATCHDOG=1") >= 2
    assert messages.index("READY=1") < messages.index("WATCHDOG=1")
    assert any(m.startswith("STATUS=running") for m in messages)
    assert messages[0] == "STATUS=migrating the database"


def test_a_transient_failure_is_retried_with_growing_delays(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon(rows=1, wa={"mode": "transient", "fail_times": 3},
                    dispatch={"backoff_base": 0.5})  # fmt: skip
    d.start()
    wait_for(lambda: [s for s in d.sends() if s["result"] == "ok"], what="the send")
    assert d.stop() == 0
    sends = d.sends()
    assert [s["result"] for s in sends] == ["transient"] * 3 + ["ok"]
    gaps = [b["started"] - a["started"] for a, b in zip(sends, sends[1:], strict=False)]
    # waits of 0.5, 1 and 2 s (no jitter here), each seen at the next 0.2 s tick: never
    # early, so each gap is at least twice the one before's wait
    for gap, wait in zip(gaps, (0.5, 1.0, 2.0), strict=True):
        assert wait - 0.05 <= gap <= wait + 2.0
    assert [a[2] for a in d.attempts()] == ["transient"] * 3 + ["sent"]


def test_a_permanent_failure_falls_back_to_the_next_channel(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon(rows=2, wa={"mode": "permanent"})
    d.start()
    wait_for(lambda: len([s for s in d.sends() if s["channel"] == "sms"]) == 2, what="sms")
    assert d.stop() == 0
    for nid in d.notices():
        assert [(a[1], a[2]) for a in d.attempts() if a[0] == nid] == [
            ("whatsapp", "permanent"), ("sms", "sent"),
        ]  # fmt: skip
    assert set(d.notices().values()) == {("sent", None)}


def test_sigterm_mid_batch_exits_0_and_leaves_nothing_in_sending(
    daemon_on_each_db: Callable[..., Daemon],
) -> None:
    slow = {"delay": 0.8}
    d = daemon_on_each_db(rows=8, wa=slow, dispatch={"shutdown_grace": 0.3, "send_timeout": 2.0,
                                               "lease_seconds": 30.0,
                                               "reconcile_seconds": 1.0})  # fmt: skip
    d.data["channels"]["whatsapp"]["concurrency"] = 2
    d.path.write_text(toml(d.data))
    d.start()
    wait_for(lambda: any(a[2] == "pending" for a in d.attempts()), what="a send in flight")
    assert d.stop() == 0
    statuses = d.notices().values()
    assert "sending" not in {st for st, _ in statuses}
    assert "scheduled" in {st for st, _ in statuses}  # the leases of unsent notices released
    # cut off in flight: retrying, reconciling (their outcome is unknown)
    assert {st for st, _ in statuses} <= {"sent", "scheduled", "retrying"}
    assert "pending" not in {a[2] for a in d.attempts()}
    cut = {nid for nid, (st, reason) in d.notices().items() if st == "retrying"}
    assert all(d.notices()[nid] == ("retrying", "reconciling") for nid in cut)
    # a restart sends what was not sent, at once (no lease to wait for); what was cut off in
    # flight once its reconciliation period passed without a receipt
    d.data["channels"]["whatsapp"]["options"].pop("delay")
    d.path.write_text(toml(d.data))
    d.start()
    wait_for(lambda: {st for st, _ in d.notices().values()} == {"sent"}, what="all sent")
    assert d.stop() == 0
    unknown = {a[0] for a in d.attempts() if a[2] == "unknown"}  # cancelled in flight
    assert unknown == cut
    assert len(d.sends()) == 8  # the cancelled calls never reached the test provider


def test_sigterm_puts_queued_sends_back_and_leaves_nothing_unconfirmed(
    daemon_on_each_db: Callable[..., Daemon],
) -> None:
    """The battery's case: a provider answering in 1.5 s, 5 s of grace, sends queued behind
    the channel's concurrency. Nothing queued starts after SIGTERM, so the calls under way
    finish within the grace and nothing is left of unknown outcome."""
    d = daemon_on_each_db(rows=24, wa={"delay": 1.5}, dispatch={
        "shutdown_grace": 5.0, "send_timeout": 3.0, "lease_seconds": 30.0})  # fmt: skip
    d.data["channels"]["whatsapp"]["concurrency"] = 4
    d.path.write_text(toml(d.data))
    d.start()
    d.wait_running()
    wait_for(lambda: d.calls_started() >= 4, what="calls under way")
    began = time.monotonic()
    assert d.stop() == 0
    took = time.monotonic() - began
    notices = d.notices()
    attempts = d.attempts()
    assert {a[2] for a in attempts} == {"sent"}  # no unknown, no pending
    assert {st for st, _ in notices.values()} <= {"sent", "scheduled"}
    assert not [r for _, r in notices.values() if r in ("unconfirmed", "reconciling")]
    assert len(d.sends()) == len(attempts) < 24  # what was queued did not start
    assert took < 5.0, f"the stop waited {took:.1f} s: it should end when the calls do"


def test_sigterm_lets_sends_in_flight_finish_within_the_grace_time(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon(rows=4, wa={"delay": 0.5})
    d.start()
    wait_for(lambda: d.calls_started() == 4, what="the calls under way")
    assert d.stop() == 0
    assert len(d.sends()) == 4 and {r for r in d.notices().values()} == {("sent", None)}


def test_kill_9_mid_batch_then_restart_delivers_every_notice_at_least_once(
    daemon_on_each_db: Callable[..., Daemon],
) -> None:
    d = daemon_on_each_db(rows=10, wa={"delay": 0.3}, dispatch={"reconcile_seconds": 0.5})
    d.data["channels"]["whatsapp"]["concurrency"] = 3
    d.path.write_text(toml(d.data))
    d.start()
    wait_for(lambda: len(d.sends()) >= 2, what="some sends")
    d.stop(signal.SIGKILL)
    assert "sending" in {st for st, _ in d.notices().values()}
    d.start(now=NOW + timedelta(minutes=1))  # later than any lease the dead instance held
    wait_for(lambda: {st for st, _ in d.notices().values()} == {"sent"}, what="all sent")
    assert d.stop() == 0
    ids = [s["id"] for s in d.sends() if s["result"] == "ok"]
    assert set(ids) == set(d.notices())
    duplicates = {i for i in ids if ids.count(i) > 1}
    in_flight = {a[0] for a in d.attempts() if a[3] == "lease expired mid-send"}
    assert duplicates <= in_flight


def test_pause_holds_everything_a_bad_reload_is_refused_a_good_one_applies(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon(rows=2)
    paused = d.cli("pause", "--by", "supervisor")
    assert paused.returncode == 0, paused.stderr
    assert "all sending: paused by supervisor" in paused.stdout
    d.start()
    d.wait_running()
    time.sleep(1.0)  # five ticks
    assert d.sends() == []
    d.path.write_text(
        d.path.read_text() + "\n[dispatch.bogus]\n"
    )  # not valid: the running config stays
    assert d.proc is not None
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in d.output.read_text(), what="the reload error")
    d.data["channels"]["whatsapp"]["options"]["mode"] = "permanent"
    d.path.write_text(toml(d.data))  # valid: used from the next tick on
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "config reloaded" in d.output.read_text(), what="the reload")
    assert d.cli("resume").returncode == 0
    wait_for(lambda: len(d.sends()) == 4, what="4 sends after resume")
    assert d.stop() == 0
    assert sorted(s["channel"] for s in d.sends()) == ["sms", "sms", "whatsapp", "whatsapp"]
    assert json.loads(d.cli("paused", "--format", "json").stdout) == []


def test_pausing_one_channel_holds_only_its_notices(make_daemon: Callable[..., Daemon]) -> None:
    d = make_daemon(rows=2, channel_order=["sms", "whatsapp"])
    assert d.cli("pause", "--channel", "sms").returncode == 0
    listed = json.loads(d.cli("paused", "--format", "json").stdout)
    assert [(r["scope"], r["by"]) for r in listed] == [("sms", getpass.getuser())]
    d.start()
    d.wait_running()
    time.sleep(1.0)  # five ticks
    assert d.sends() == []
    # a tick may hold a notice `sending` for an instant before handing it back: wait it out
    wait_for(lambda: {st for st, _ in d.notices().values()} == {"scheduled"}, what="all waiting")
    assert d.sends() == []
    assert d.cli("resume", "--channel", "sms").returncode == 0
    wait_for(lambda: len(d.sends()) == 2, what="2 sends after resume")
    assert d.stop() == 0
    assert {s["channel"] for s in d.sends()} == {"sms"}
    assert d.cli("pause", "--channel", "pigeon").returncode == 2


def test_pilot_mode_sends_only_to_the_allowlist(make_daemon: Callable[..., Daemon]) -> None:
    d = make_daemon(rows=3, pilot={"enabled": True, "allowlist": ["+6281234560002"]})
    d.start()
    wait_for(lambda: "scheduled" not in {st for st, _ in d.notices().values()}, what="decided")
    time.sleep(0.5)
    assert d.stop() == 0
    assert [s["to"] for s in d.sends()] == ["+6281234560002"]
    assert sorted(d.notices().values()) == [("cancelled", "withheld_pilot")] * 2 + [("sent", None)]


def test_run_with_sync_reads_the_registry_at_start_then_sends(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon(rows=2, synced=False)
    assert d.notices() == {}
    d.start(NOW, "--sync")
    wait_for(lambda: len(d.sends()) == 2, what="2 sends")
    assert d.stop() == 0
    assert set(d.notices().values()) == {("sent", None)}
    assert "sync run 1 done" in d.output.read_text()


def test_the_daemon_purges_the_personal_data_of_finished_permits(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon(rows=2, retention={"days": 30})
    d.start()
    wait_for(lambda: len(d.sends()) == 2, what="2 sends")
    assert d.stop() == 0
    pe = schema.people
    with d.engine.connect() as conn:
        assert all(name for (name,) in conn.execute(select(pe.c.full_name)))
    d.start(NOW + timedelta(days=14 + 31))  # 31 days after the permits expired
    wait_for(lambda: '"msg": "retention purge", "people": 2' in d.output.read_text(),
             what="the purge of both")  # fmt: skip
    assert d.stop() == 0
    with d.engine.connect() as conn:
        people = conn.execute(select(pe.c.full_name, pe.c.whatsapp, pe.c.registry_id)).all()
    assert [(name, wa) for name, wa, _ in people] == [("", None), ("", None)]
    assert all(rid.startswith("purged-") for _, _, rid in people)
    assert {st for st, _ in d.notices().values()} == {"sent"}  # the delivery record stays


# --- the first sync is not a day late (issue 13) ------------------------------------------------


def test_a_fresh_daemon_syncs_at_start_and_says_why(make_daemon: Callable[..., Daemon]) -> None:
    d = make_daemon(rows=2, synced=False)
    d.start(NOW)  # no --sync: the next scheduled sync is tomorrow 06:00
    wait_for(lambda: len(d.sends()) == 2, what="2 sends")
    assert d.stop() == 0
    out = d.output.read_text()
    assert "syncing the registry at start: there has been no successful sync yet" in out
    assert "sync run 1 done" in out


def test_a_daemon_synced_within_its_period_waits_for_the_schedule(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon(rows=2, synced=False)
    cfg = config.load(d.path)
    run_sync(cfg, d.engine, plugins.make_manager(), NOW - timedelta(hours=20))
    d.start(NOW)
    wait_for(lambda: len(d.sends()) == 2, what="2 sends of the earlier plan")
    assert d.stop() == 0
    assert "sync run" not in d.output.read_text()
    with d.engine.connect() as conn:
        assert conn.execute(select(schema.sync_runs.c.id)).scalars().all() == [1]


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (None, "there has been no successful sync yet"),
        (NOW - timedelta(hours=23), None),
        (NOW - timedelta(hours=25), "the last successful sync was 25.0 h ago"),
        (NOW - timedelta(days=3), "3.0 days ago, longer than the schedule's 24.0 h"),
    ],
)
def test_overdue_compares_the_last_sync_with_the_schedules_period(
    last: Any, expected: str | None
) -> None:
    from apscheduler.triggers.cron import CronTrigger

    from notifyd.service.daemon import overdue

    daily = CronTrigger.from_crontab("0 6 * * *", timezone="Asia/Jakarta")
    why = overdue(daily, last, NOW)
    assert why == expected if expected is None else expected in (why or "")
    hourly = CronTrigger.from_crontab("0 * * * *", timezone="Asia/Jakarta")
    assert overdue(hourly, NOW - timedelta(hours=2), NOW) is not None


def test_1100_idle_connections_under_1024_descriptors_do_not_stop_sending(
    make_daemon: Callable[..., Daemon], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The battery's case: more idle clients than the process has descriptors. The listener's
    bound closes the oldest idle ones, so the database, the dispatcher and /healthz go on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("NOTIFYD_TEST_URL_SECRET", "u" * 40)
    d = make_daemon(
        rows=30,
        wa={"delay": 0.2},
        http={"listen": f"127.0.0.1:{port}", "url_secret": "env:NOTIFYD_TEST_URL_SECRET"},
    )
    d.data["channels"]["whatsapp"]["concurrency"] = 1  # about 5 sends a second: 6 s in all
    d.path.write_text(toml(d.data))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1400:
        pytest.skip(f"this test process may open only {hard} descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1400), hard))
    d.start(fds=1024)
    d.wait_running()
    wait_for(lambda: len(d.sends()) >= 1, what="the first send")
    idle = []
    try:
        for _ in range(1100):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        before = len(d.sends())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            health = json.loads(resp.read())
        wait_for(lambda: len(d.sends()) >= before + 5, what="sending going on")
    finally:
        for sock in idle:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert health["status"] == "ok" and health["database"] == "ok"
    wait_for(lambda: len(d.sends()) == 30, what="every notice sent")
    assert d.stop() == 0
    log = d.output.read_text()
    assert "unable to open database file" not in log and "Too many open files" not in log
    assert "listener full" in log


def test_log_level_debug_from_the_command_line_keeps_numbers_masked(
    make_daemon: Callable[..., Daemon],
) -> None:
    d = make_daemon(rows=2)
    d.start(NOW, "--log-level", "debug")
    wait_for(lambda: len(d.sends()) == 2, what="2 sends")
    assert d.stop() == 0
    lines = [json.loads(line) for line in d.output.read_text().splitlines()]
    sending = [r for r in lines if r["msg"] == "sending"]
    assert len(sending) == 2 and {r["level"] for r in sending} == {"debug"}
    out = d.output.read_text()
    for sent in d.sends():  # the numbers were given to the channel, never to the log
        assert sent["to"] not in out and sent["to"][-8:] not in out


def test_log_level_from_the_config_quiets_the_daemon(make_daemon: Callable[..., Daemon]) -> None:
    d = make_daemon(rows=2, log_level="warning")
    d.start()
    wait_for(lambda: len(d.sends()) == 2, what="2 sends")
    assert d.stop() == 0
    levels = {json.loads(line)["level"] for line in d.output.read_text().splitlines()}
    assert levels <= {"warning", "error"}


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs for the state folder: a disk that really fills up (needs root). Room
    to spare for what the daemon writes there (about 400 KB when the test fills it): once, at
    4 MiB, the disk was full before the test filled it, for a reason not found (fill says
    what held it, should it happen again)."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(where)],
                             capture_output=True, text=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    try:
        f = open(filler, "wb")  # noqa: SIM115
    except OSError as e:  # full already: say with what, for the next person
        held = {str(p.relative_to(disk)): p.stat().st_size for p in disk.rglob("*") if p.is_file()}
        raise AssertionError(f"the disk was full before the test filled it: {held}") from e
    with f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_degrades_once_and_sending_resumes_by_itself(
    make_daemon: Callable[..., Daemon], small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("NOTIFYD_TEST_URL_SECRET", "u" * 40)
    d = make_daemon(
        rows=30,
        wa={"delay": 0.3},
        state_dir=str(small_disk / "state"),
        dispatch={"reconcile_seconds": 1.0},  # sends cut off by the full disk: unknown
        http={"listen": f"127.0.0.1:{port}", "url_secret": "env:NOTIFYD_TEST_URL_SECRET"},
    )
    d.data["channels"]["whatsapp"]["concurrency"] = 1
    d.path.write_text(toml(d.data))
    d.start()
    d.wait_running()
    wait_for(lambda: len(d.sends()) >= 2, what="the first sends")
    filler = fill(small_disk)

    def health() -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    wait_for(lambda: health()[1]["status"] == "degraded", what="healthz saying degraded")
    code, said = health()
    assert (code, said["status"], said["database"]) == (503, "degraded", "disk_full")
    status = d.cli("status")  # the database cannot even be read: the disk says why
    assert "DEGRADED: the disk holding the database is full" in status.stdout + status.stderr
    time.sleep(3)  # several ticks' worth: still one line
    stalled = len(d.sends())
    filler.unlink()
    wait_for(lambda: len(d.sends()) > stalled, what="sending to resume")
    wait_for(lambda: {st for st, _ in d.notices().values()} == {"sent"}, what="every notice")
    assert health()[0] == 200
    assert d.stop() == 0
    lines = [json.loads(x) for x in d.output.read_text().splitlines()]
    said = [x["msg"] for x in lines if x["level"] in ("error", "warning")
            and "apscheduler" not in x["logger"]]  # fmt: skip
    degraded = [m for m in said if m.startswith("degraded:")]
    assert len(degraded) == 1 and "disk holding the database is full" in degraded[0]
    assert [m for m in said if m.startswith("recovered:")] == [
        "recovered: the database takes writes again; sending resumes"
    ]
    assert not [x for x in lines if "exc" in x]  # no traceback on any tick
    ids = [s["id"] for s in d.sends() if s["result"] == "ok"]
    assert set(ids) == set(d.notices())  # nothing lost


def test_the_daemon_serves_the_console_on_its_own_listener(
    make_daemon: Callable[..., Daemon],
) -> None:
    """Several instances on one host: only one serves the console; the others run without."""
    port = free_port()
    on = make_daemon(rows=1, console={"listen": f"127.0.0.1:{port}"})
    on.start()
    wait_for(lambda: len(on.sends()) == 1, what="the send")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/signin", timeout=5) as resp:
        assert resp.status == 200
    assert on.stop() == 0
    assert "console off" not in on.output.read_text()


def test_an_empty_console_listen_runs_the_daemon_without_its_console(
    make_daemon: Callable[..., Daemon],
) -> None:
    off = make_daemon(rows=1, console={"listen": ""})
    off.start()
    wait_for(lambda: len(off.sends()) == 1, what="the send")
    assert off.stop() == 0
    assert "console off" in off.output.read_text()
