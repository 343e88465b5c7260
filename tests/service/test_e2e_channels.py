"""End to end: `notifyd run` as a real subprocess against the provider sandbox over real HTTP.

The sandbox runs in-process on a free loopback port, playing WhatsApp Cloud, Twilio SMS and
Twilio calls; its signed callbacks go to the daemon's own web app. Each person in the registry
takes one path (a tap and its voice note, a fallback, a late failure, an unanswered call, a read
receipt); the daemon's clock starts at `--now`, the voices are the real espeak-ng and ffmpeg.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from conftest import (
    FRIDAY_MORNING,
    SmtpServer,
    everything,
    free_port,
    person,
    probe,
    toml,
    wait_for,
    write_registry,
)
from notifyd import config, plugins
from notifyd.db import schema, store
from notifyd.registry.sync import run_sync
from notifyd.sandbox.state import Fault

# One process runs this file's tests: they share a module-scoped server or fixture that
# is costly to start (scripts/test.sh shares the rest of the suite out test by test).
pytestmark = pytest.mark.xdist_group("test_e2e_channels")

NOW = FRIDAY_MORNING  # the 14-day notices of permits expiring 2026-12-18 are due
DUE = "2026-12-18"
SECRETS = {
    "SANDBOX_WA_TOKEN": "sandbox-token",
    "SANDBOX_WA_APP_SECRET": "sandbox-app-secret",
    "SANDBOX_WA_VERIFY": "sandbox-verify",
    "SANDBOX_TWILIO_TOKEN": "sandbox-auth-token",
    "NOTIFYD_URL_SECRET": "e2e-url-secret-" + "7" * 32,
}
#: registry id → what happens to that person
TAP, FALLBACK, LATE, NO_ANSWER, READ = (f"BLT-{i:05d}" for i in range(1, 6))


class World:
    """The daemon, the sandbox, the database and the way to look at them."""

    def __init__(self, tmp: Path) -> None:
        from notifyd.sandbox.app import Background
        from notifyd.sandbox.state import Settings

        rows = [
            person(i, expiry_date=DUE, whatsapp=f"0812-3456-{i:04d}", phone=f"0813-3456-{i:04d}")
            for i in range(1, 6)
        ]
        rows[3]["channels"] = "call"
        registry = write_registry(tmp / "registry.csv", rows)
        self.web_port = free_port()
        self.sandbox = Background(
            Settings(
                port=0,
                callback_url=f"http://127.0.0.1:{self.web_port}/hooks",
                callback_delay=0.1,
            )
        ).start()
        sb = self.sandbox.url
        twilio = {"base_url": sb, "account_sid": "AC" + "5a" * 16,
                  "auth_token": "env:SANDBOX_TWILIO_TOKEN", "from": "+15005550006"}  # fmt: skip
        hook = f"http://127.0.0.1:{self.web_port}/hooks"
        data: dict[str, Any] = {
            "state_dir": str(tmp / "state"),
            "channel_order": ["whatsapp", "sms", "call"],
            "registry": {"path": str(registry)},
            "offices": {"BLT": {"timezone": "Asia/Jakarta", "window": "00:00-24:00",
                                "weekend": [], "holidays_country": "",
                                "phone": "+62 342 000000"}},
            "channels": {
                "whatsapp": {"plugin": "whatsapp-cloud", "kind": "whatsapp", "options": {
                    "base_url": sb, "phone_number_id": "106540352242922",
                    "token": "env:SANDBOX_WA_TOKEN", "app_secret": "env:SANDBOX_WA_APP_SECRET",
                    "verify_token": "env:SANDBOX_WA_VERIFY",
                    "templates": {"en": {"name": "notifyd_permit_expiry", "language": "en"}}}},
                "sms": {"plugin": "twilio-sms", "kind": "sms",
                        "options": {**twilio, "status_callback": f"{hook}/sms"}},
                "call": {"plugin": "twilio-call", "kind": "call",
                         "options": {**twilio, "status_callback": f"{hook}/call"}},
            },
            "http": {"listen": f"127.0.0.1:{self.web_port}",
                     "url_secret": "env:NOTIFYD_URL_SECRET"},
            "console": {"listen": ""},
            "voices": {"engines": ["espeak-ng"]},
            "dispatch": {"tick_seconds": 0.2, "lease_seconds": 10.0, "send_timeout": 5.0,
                         "backoff_base": 0.3, "backoff_cap": 2.0, "jitter": False},
        }  # fmt: skip
        self.path = tmp / "notifyd.toml"
        self.path.write_text(toml(data))
        os.environ.update(SECRETS)  # for this process's config.load
        cfg = config.load(self.path)
        self.state = Path(cfg.state_dir)
        self.engine: Engine = store.open_store(store.database_url(cfg))
        run_sync(cfg, self.engine, plugins.make_manager(), NOW)
        self.wa = {rid: self.number(rid, "whatsapp") for rid in (TAP, FALLBACK, LATE, READ)}
        self.sandbox.state.faults.extend(
            [
                Fault("not_on_whatsapp", "whatsapp", self.wa[FALLBACK]),
                Fault("late_failure", "whatsapp", self.wa[LATE]),
                Fault("no_answer", "twilio-call", self.number(NO_ANSWER, "phone"), times=1),
            ]
        )
        self.env = {**os.environ, **SECRETS}
        self.env.pop("NOTIFY_SOCKET", None)
        self.output = tmp / "daemon.out"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(
                [*self.command(), "run"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "notifyd.cli.main",
            "--now",
            NOW.isoformat(),
            "-c",
            str(self.path),
        ]

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [*self.command(), *args], env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout

    def number(self, registry_id: str, column: str) -> str:
        pe = schema.people
        with self.engine.connect() as conn:
            return str(
                conn.execute(
                    select(pe.c[column]).where(pe.c.registry_id == registry_id)
                ).scalar_one()
            )

    def notice(self, registry_id: str) -> dict[str, Any]:
        n, p, pe = schema.notifications, schema.permits, schema.people
        with self.engine.connect() as conn:
            row = conn.execute(
                select(n)
                .join(p, p.c.id == n.c.permit_id)
                .join(pe, pe.c.id == p.c.person_id)
                .where(pe.c.registry_id == registry_id, n.c.stage == 14)
            ).mappings()
            return dict(row.one())

    def attempts(self, registry_id: str) -> list[dict[str, Any]]:
        a = schema.attempts
        nid = self.notice(registry_id)["id"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(a).where(a.c.notification_id == nid).order_by(a.c.id))
            return [dict(r) for r in rows.mappings()]

    def status(self, registry_id: str, *wanted: str) -> bool:
        return self.notice(registry_id)["status"] in wanted

    def requests(self, provider: str) -> list[dict[str, Any]]:
        return [r for r in list(self.sandbox.state.requests) if r["provider"] == provider]

    def post_hook(self, channel: str, body: bytes, headers: dict[str, str]) -> int:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.web_port}/hooks/{channel}", data=body, headers=headers
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.sandbox.stop()
        self.engine.dispose()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(tmp_path_factory.mktemp("e2e"))
    w.start()
    try:
        wait_for(lambda: w.status(READ, "delivered"), 60, "the first deliveries")
        yield w
    finally:
        w.close()
    assert w.proc is not None and w.proc.returncode == 0, w.output.read_text()[-3000:]


def signed_whatsapp(status: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """A status webhook as Meta sends it, signed as Meta documents: sha256=HMAC(app secret)."""
    value = {"messaging_product": "whatsapp", "statuses": [status]}
    body = json.dumps(
        {"object": "whatsapp_business_account",
         "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}
    ).encode()  # fmt: skip
    key = SECRETS["SANDBOX_WA_APP_SECRET"].encode()
    sig = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sig}


def test_a_cold_template_is_tapped_and_the_voice_note_follows(world: World) -> None:
    wa = world.wa[TAP].lstrip("+")
    wait_for(lambda: world.status(TAP, "delivered"), 30, "the template delivered")
    sent = [r["body"] for r in world.requests("whatsapp") if (r["body"] or {}).get("to") == wa]
    assert [b["type"] for b in sent] == ["template"]
    payload = sent[0]["template"]["components"][1]["parameters"][0]["payload"]
    assert payload == f"listen:{world.notice(TAP)['id']}"

    world.sandbox.call(_tap(world, "+" + wa))
    follow = wait_for(
        lambda: [a for a in world.attempts(TAP) if a["kind"] == "voice_followup"
                 and a["outcome"] == "sent" and a["receipt"] == "delivered"],
        30, "the voice note, delivered",
    )  # fmt: skip
    assert follow[0]["provider_id"].startswith("wamid.")
    assert follow[0]["engine"].startswith("espeak-ng")
    bodies = [r["body"] for r in world.requests("whatsapp")]
    audio = [b for b in bodies if isinstance(b, dict) and b.get("type") == "audio"]
    assert len(audio) == 1 and audio[0]["audio"]["voice"] is True
    assert audio[0]["to"] == wa
    media_id = str(audio[0]["audio"]["id"])
    ogg_opus, size = world.sandbox.state.media[media_id]
    assert ogg_opus
    # the file that went up is the cached voice note: the same size, and OGG/Opus to ffprobe
    notes = [p for p in (world.state / "audio").rglob("*.ogg") if p.stat().st_size == size]
    assert notes, "the uploaded voice note is not in the audio cache"
    info = probe(notes[0])
    assert (info["codec"], info["container"]) == ("opus", "ogg")
    assert info["duration"] > 1.0
    assert world.notice(TAP)["status"] == "delivered"  # the template's receipt, unchanged


async def _tap(world: World, to: str) -> Any:
    from notifyd.sandbox import whatsapp

    return await whatsapp.tap(world.sandbox.state, to)


def test_not_on_whatsapp_falls_back_to_sms(world: World) -> None:
    wait_for(lambda: world.status(FALLBACK, "delivered"), 30, "the SMS delivered")
    got = [(a["channel"], a["outcome"], a["receipt"]) for a in world.attempts(FALLBACK)]
    assert got == [("whatsapp", "permanent", None), ("sms", "sent", "delivered")]
    assert "131026" in world.attempts(FALLBACK)[0]["error"]


def test_a_late_failure_after_sent_moves_the_notice_to_sms(world: World) -> None:
    wait_for(lambda: world.status(LATE, "delivered"), 30, "the SMS after the late failure")
    got = [(a["channel"], a["outcome"], a["receipt"]) for a in world.attempts(LATE)]
    assert got == [("whatsapp", "permanent", "failed"), ("sms", "sent", "delivered")]
    assert world.attempts(LATE)[0]["provider_id"].startswith("wamid.")


def test_a_call_with_no_answer_is_called_again(world: World) -> None:
    wait_for(lambda: world.status(NO_ANSWER, "delivered"), 40, "the second call answered")
    got = [(a["channel"], a["outcome"], a["receipt"]) for a in world.attempts(NO_ANSWER)]
    assert got == [("call", "transient", "failed"), ("call", "sent", "delivered")]
    assert "no-answer" in world.attempts(NO_ANSWER)[0]["error"]
    # the answered call fetched the 8 kHz voice note from the daemon's expiring URL
    calls = [c for c in world.sandbox.state.calls.values() if c["status"] == "completed"]
    plays = [p for c in calls for p in c["plays"]]
    assert plays and all(p["ok"] and p["rate"] == 8000 for p in plays), plays
    assert all(f":{world.web_port}/audio/" in p["url"] for p in plays)


def test_receipts_show_in_the_delivery_log_and_a_tampered_webhook_changes_nothing(
    world: World,
) -> None:
    template = world.attempts(READ)[0]
    assert (template["channel"], template["receipt"]) == ("whatsapp", "delivered")
    status = {"id": template["provider_id"], "status": "read", "timestamp": "1796352000",
              "recipient_id": world.wa[READ].lstrip("+")}  # fmt: skip
    body, headers = signed_whatsapp(status)
    wait_for(lambda: all(not world.status(r, "sending", "retrying", "sent")
                         for r in (TAP, FALLBACK, LATE, NO_ANSWER, READ)), 40, "quiet")  # fmt: skip
    before = everything(world.engine)
    tampered = body.replace(b'"read"', b'"played"')
    assert world.post_hook("whatsapp", tampered, headers) == 403
    unsigned = {"Content-Type": "application/json"}
    assert world.post_hook("whatsapp", body, unsigned) == 403
    assert everything(world.engine) == before

    assert world.post_hook("whatsapp", body, headers) == 200
    wait_for(lambda: world.status(READ, "read"), 10, "the read receipt applied")
    log = json.loads(world.cli("log", "--format", "json", "--since", "30d"))
    receipts = {(r["registry_id"], r["channel"], r["kind"]): r["receipt"] for r in log
                if r.get("channel")}  # fmt: skip
    assert receipts[(READ, "whatsapp", "notice")] == "read"
    assert receipts[(FALLBACK, "sms", "notice")] == "delivered"
    assert receipts[(TAP, "whatsapp", "voice_followup")] == "delivered"
    failed = [r for r in log if r["registry_id"] == LATE and r["channel"] == "whatsapp"]
    assert failed[0]["receipt"] == "failed" and "131026" in failed[0]["error"]


# --- e-mail through the daemon (issue 13) -------------------------------------------------------


def test_email_end_to_end_through_the_daemon(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """`notifyd run` sends each due notice by e-mail with its real voice note attached; a
    recipient the SMTP server refuses fails for good and the notice moves on to SMS."""
    rows = [
        person(1, expiry_date=DUE, email="wang.wei@example.cn"),
        person(2, expiry_date=DUE, email="refused.person@example.com"),
    ]
    spool = tmp_path / "spool"
    data: dict[str, Any] = {
        "state_dir": str(tmp_path / "state"),
        "channel_order": ["email", "sms"],
        "registry": {"path": str(write_registry(tmp_path / "registry.csv", rows))},
        "offices": {"BLT": {"name": "Kantor Imigrasi Blitar", "timezone": "Asia/Jakarta",
                            "window": "00:00-24:00", "weekend": [], "holidays_country": ""}},
        "channels": {
            "email": {"plugin": "email", "kind": "email", "options": {
                "host": "127.0.0.1", "port": smtp_server.port, "security": "none",
                "from": "notifikasi@kanim-blitar.go.id"}},
            "sms": {"plugin": "spool", "kind": "sms", "options": {"dir": str(spool)}},
        },
        "voices": {"engines": ["espeak-ng"]},
        "console": {"listen": ""},
        "dispatch": {"tick_seconds": 0.2, "lease_seconds": 10.0, "send_timeout": 5.0,
                     "backoff_base": 0.3, "backoff_cap": 2.0, "jitter": False},
    }  # fmt: skip
    path = tmp_path / "notifyd.toml"
    path.write_text(toml(data))
    cmd = [sys.executable, "-m", "notifyd.cli.main", "--now", NOW.isoformat(), "-c", str(path)]
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    synced = subprocess.run([*cmd, "sync"], env=env, capture_output=True, text=True, check=True)
    assert "can reach: email 2, sms 2 of 2 people" in synced.stdout
    output = tmp_path / "daemon.out"
    with open(output, "wb") as out:
        proc = subprocess.Popen([*cmd, "run"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(smtp_server.messages) == 1 and list(spool.glob("*.json")),
                 timeout=60, what="one e-mail and one SMS")  # fmt: skip
        engine = store.open_store(store.database_url(config.load(path)))
        a, n = schema.attempts, schema.notifications

        def attempts() -> list[tuple[Any, ...]]:
            with engine.connect() as conn:
                query = select(n.c.stage, a.c.channel, a.c.outcome, a.c.error, a.c.provider_id)
                rows = conn.execute(query.join(n, n.c.id == a.c.notification_id).order_by(a.c.id))
                return [tuple(r) for r in rows]

        wait_for(lambda: len(attempts()) == 3, what="three attempts recorded")
    finally:
        proc.terminate()
        proc.wait(20)
    ((rcpt, mail),) = smtp_server.messages
    assert rcpt == ["wang.wei@example.cn"]
    assert "Person 1" in mail.get_body(("plain",)).get_content()
    ogg = tmp_path / "note.ogg"
    attached = {p.get_filename(): p.get_content() for p in mail.iter_attachments()}
    ogg.write_bytes(next(v for k, v in attached.items() if k.endswith(".ogg")))
    info = probe(ogg)
    assert (info["codec"], info["container"]) == ("opus", "ogg") and info["duration"] > 2
    assert any(k.endswith(".mp3") for k in attached)
    outcomes = sorted(attempts(), key=lambda r: (r[1], r[2]))
    sent_mail = [r for r in outcomes if r[1] == "email" and r[2] == "sent"]
    assert len(sent_mail) == 1 and sent_mail[0][4] == mail["Message-ID"]
    (bounced,) = [r for r in outcomes if r[1] == "email" and r[2] != "sent"]
    assert bounced[2] == "permanent" and "550" in bounced[3]
    assert [r[1:3] for r in outcomes if r[1] == "sms"] == [("sms", "sent")]
    log = subprocess.run([*cmd, "log", "--since", "1d", "--format", "json"], env=env,
                         capture_output=True, text=True, check=True)  # fmt: skip
    entries = json.loads(log.stdout)
    assert {e["channel"] for e in entries} >= {"email", "sms"}
    engine.dispose()


def test_a_tap_while_paused_is_kept_and_answered_after_resume(world: World) -> None:
    """Runs last: it pauses all sending. The READ person taps the template's button while
    sending is paused: nothing is sent, the tap is kept; `resume` sends the voice note."""
    wait_for(lambda: world.status(READ, "read", "delivered"), 30, "the template delivered")
    assert "all sending: paused" in world.cli("pause", "--by", "test")
    world.sandbox.call(_tap(world, world.wa[READ]))
    taps = schema.waiting_taps

    def kept() -> list[Any]:
        with world.engine.connect() as conn:
            return list(conn.execute(select(taps.c.notification_id, taps.c.channel)).all())

    wait_for(kept, 20, "the tap kept")
    assert kept() == [(world.notice(READ)["id"], "whatsapp")]
    assert not [a for a in world.attempts(READ) if a["kind"] == "voice_followup"]
    world.cli("resume", "--by", "test")
    follow = wait_for(
        lambda: [a for a in world.attempts(READ) if a["kind"] == "voice_followup"
                 and a["outcome"] == "sent"], 30, "the voice note after resume",
    )  # fmt: skip
    assert len(follow) == 1 and kept() == []
