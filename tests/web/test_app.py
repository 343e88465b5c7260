"""The web app over real HTTP: signed webhooks recorded, refused ones not, audio URLs, health."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import Engine
from twilio.request_validator import RequestValidator

from conftest import FRIDAY_MORNING, attempt, everything, first_notice, notice, person, send
from notifyd import plugins
from notifyd.config import Config
from notifyd.db import receipts as receiptdb
from notifyd.db import store
from notifyd.delivery import audiourl, followup, receipts
from notifyd.registry.sync import run_sync
from notifyd.web import app as web
from testplugins.hooks import MetaLike, Sender, TwilioLike

NOW = FRIDAY_MORNING
TOKEN = "twilio-auth-token-0123456789abcdef"
APP_SECRET = "meta-app-secret-0123456789"
SECRET_ENV = "NOTIFYD_TEST_URL_SECRET"


@pytest.fixture
def cfg(make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv(SECRET_ENV, "s" * 40)
    rows = [person(1, whatsapp="0812-3456-0001"), person(2, whatsapp="0812-3456-0002")]
    return make_config(rows, http={"listen": "127.0.0.1:0", "url_secret": f"env:{SECRET_ENV}"})


@pytest.fixture
def synced(cfg: Config, engine: Engine) -> Config:
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    return cfg


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@asynccontextmanager
async def serving(
    cfg: Config, engine: Engine, channels: dict[str, Any], on_reply=None, clock=None
) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    runner = await web.start(cfg, engine, channels, on_reply, clock=clock or Clock(NOW))
    try:
        async with aiohttp.ClientSession() as session:
            yield f"http://127.0.0.1:{web.bound_port(runner)}", session
    finally:
        await runner.cleanup()


def channels() -> dict[str, Any]:
    return {
        "whatsapp": MetaLike("whatsapp", APP_SECRET, "verify-me"),
        "sms": TwilioLike("sms", TOKEN),
        "spool": Sender("spool"),  # sends, takes no webhooks
    }


async def post_twilio(
    session: aiohttp.ClientSession, url: str, form: dict[str, str], sign_url: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:  # fmt: skip
    signature = RequestValidator(TOKEN).compute_signature(sign_url or url, form)
    async with session.post(
        url, data=urlencode(form), headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded", **(headers or {}),
        },
    ) as resp:  # fmt: skip
        return resp.status, await resp.text()


def meta_body(**value: Any) -> bytes:
    change = {"field": "messages", "value": value}
    entry = {"changes": [change]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


async def post_meta(session: aiohttp.ClientSession, url: str, body: bytes) -> int:
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    async with session.post(
        url, data=body,
        headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
    ) as resp:  # fmt: skip
        return resp.status


def test_a_signed_status_callback_is_recorded(synced: Config, engine: Engine) -> None:
    nid = first_notice(engine)
    aid = send(engine, nid, "sms", "SM1")

    async def main() -> tuple[int, str]:
        async with serving(synced, engine, channels()) as (base, session):
            form = {"MessageSid": "SM1", "MessageStatus": "delivered", "ErrorCode": ""}
            return await post_twilio(session, f"{base}/hooks/sms?office=BLT", form)

    assert asyncio.run(main())[0] == 200
    assert attempt(engine, aid)["receipt"] == "delivered"
    assert notice(engine, nid)["status"] == "delivered"


def test_a_late_failure_over_http_moves_the_notice_to_the_next_channel(
    synced: Config, engine: Engine
) -> None:
    nid = first_notice(engine)
    send(engine, nid, "whatsapp", "wamid.X")
    late = NOW + timedelta(minutes=3)
    failed = {"id": "wamid.X", "status": "failed", "timestamp": str(int(late.timestamp())),
              "errors": [{"code": 131026, "title": "Message undeliverable"}]}  # fmt: skip

    async def main() -> int:
        async with serving(synced, engine, channels(), clock=Clock(late)) as (base, session):
            return await post_meta(session, f"{base}/hooks/whatsapp", meta_body(statuses=[failed]))

    assert asyncio.run(main()) == 200
    n = notice(engine, nid)
    assert (n["status"], n["channel_pos"], n["due_at"]) == ("retrying", 1, late)


@pytest.mark.parametrize("tamper", ["body", "signature", "missing", "query"])
def test_a_request_failing_verification_gets_403_and_records_nothing(
    synced: Config, engine: Engine, tamper: str
) -> None:
    nid = first_notice(engine)
    send(engine, nid, "sms", "SM2")
    before = everything(engine)

    async def main() -> int:
        async with serving(synced, engine, channels()) as (base, session):
            url = f"{base}/hooks/sms?office=BLT"
            form = {"MessageSid": "SM2", "MessageStatus": "undelivered", "ErrorCode": "30006"}
            signature = RequestValidator(TOKEN).compute_signature(url, form)
            headers = {"X-Twilio-Signature": signature}
            if tamper == "body":
                form = {**form, "MessageStatus": "delivered"}
            elif tamper == "signature":
                other = "B" if signature[0] == "A" else "A"  # always differs from the real one
                headers["X-Twilio-Signature"] = other + signature[1:]
            elif tamper == "missing":
                headers = {}
            else:
                url = url.replace("BLT", "JKT")
            async with session.post(url, data=form, headers=headers) as resp:
                return resp.status

    assert asyncio.run(main()) == 403
    assert everything(engine) == before


def test_unknown_channels_and_channels_without_webhooks_are_404(
    synced: Config, engine: Engine
) -> None:
    async def main() -> list[int]:
        async with serving(synced, engine, channels()) as (base, session):
            out = []
            for name in ("pigeon", "spool"):
                async with session.post(f"{base}/hooks/{name}", data=b"{}") as resp:
                    out.append(resp.status)
            return out

    assert asyncio.run(main()) == [404, 404]


def test_whatsapp_verification_challenge(synced: Config, engine: Engine) -> None:
    async def main() -> list[tuple[int, str]]:
        async with serving(synced, engine, channels()) as (base, session):
            out = []
            for token in ("verify-me", "guess"):
                q = {
                    "hub.mode": "subscribe",
                    "hub.verify_token": token,
                    "hub.challenge": "1158201444",
                }
                async with session.get(f"{base}/hooks/whatsapp", params=q) as resp:
                    out.append((resp.status, await resp.text()))
            return out

    assert asyncio.run(main()) == [(200, "1158201444"), (403, "signature mismatch")]


def test_behind_a_proxy_the_public_url_is_what_was_signed(
    make_config: Callable[..., Config], engine: Engine
) -> None:
    public = "https://notifyd.example.org/imigrasi"
    cfg = make_config([person(1)], http={"listen": "127.0.0.1:0", "public_url": public})
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    nid = first_notice(engine)
    send(engine, nid, "sms", "SM3")

    async def main() -> list[int]:
        async with serving(cfg, engine, channels()) as (base, session):
            form = {"MessageSid": "SM3", "MessageStatus": "delivered"}
            good = await post_twilio(session, f"{base}/hooks/sms?a=1", form,
                                     sign_url=f"{public}/hooks/sms?a=1")  # fmt: skip
            bad = await post_twilio(session, f"{base}/hooks/sms?a=1", form)  # signed for local
            return [good[0], bad[0]]

    assert asyncio.run(main()) == [200, 403]
    assert notice(engine, nid)["status"] == "delivered"


@pytest.mark.parametrize(("trusted", "status"), [(True, 200), (False, 403)])
def test_forwarded_headers_count_only_from_a_trusted_proxy(
    make_config: Callable[..., Config], engine: Engine, trusted: bool, status: int
) -> None:
    cfg = make_config([person(1)], http={"listen": "127.0.0.1:0", "trust_proxy": trusted})
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "hooks.example.org"}

    async def main() -> int:
        async with serving(cfg, engine, channels()) as (base, session):
            form = {"MessageSid": "SM-unknown", "MessageStatus": "delivered"}
            code, _ = await post_twilio(
                session, f"{base}/hooks/sms", form,
                sign_url="https://hooks.example.org/hooks/sms", headers=forwarded,
            )  # fmt: skip
            return code

    assert asyncio.run(main()) == status


def test_a_listen_tap_sends_the_voice_note_as_a_recorded_follow_up(
    synced: Config, engine: Engine, ogg_render: Any
) -> None:
    nid = first_notice(engine)
    send(engine, nid, "whatsapp", "wamid.T")
    chans = channels()
    wa = chans["whatsapp"]
    asked: list[tuple[int, str]] = []

    async def on_reply(notification_id: int, channel: str) -> None:
        asked.append((notification_id, channel))
        await followup.send_voice(engine, synced, chans[channel], notification_id, ogg_render, NOW)

    tap = {"from": "6281234560001", "id": "wamid.in1", "type": "button",
           "button": {"payload": f"listen:{nid}", "text": "Dengarkan"}}  # fmt: skip

    async def main() -> list[int]:
        async with serving(synced, engine, chans, on_reply) as (base, session):
            first = await post_meta(session, f"{base}/hooks/whatsapp", meta_body(messages=[tap]))
            for _ in range(100):  # the follow-up runs after the answer
                if wa.sent:
                    break
                await asyncio.sleep(0.02)
            again = await post_meta(session, f"{base}/hooks/whatsapp", meta_body(messages=[tap]))
            return [first, again]

    assert asyncio.run(main()) == [200, 200]
    assert asked == [(nid, "whatsapp")]  # the replayed tap asked for nothing more
    (message,) = wa.sent
    assert message.followup and message.window_open and message.to == "+6281234560001"
    assert message.audio is not None and probe_codec(message.audio) == "opus"
    kinds = [(a["kind"], a["outcome"], a["provider_id"]) for a in attempt_rows(engine, nid)]
    assert kinds == [("notice", "sent", "wamid.T"), ("voice_followup", "sent", "whatsapp-1")]
    assert store_window(engine)


def attempt_rows(engine: Engine, nid: int) -> list[dict[str, Any]]:
    from notifyd.db.attempts import attempts_of

    return attempts_of(engine, nid)


def store_window(engine: Engine) -> bool:
    from notifyd.db.receipts import window_open

    return window_open(engine, "whatsapp", "+6281234560001", NOW + timedelta(hours=1))


def probe_codec(path: Path) -> str:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
         str(path)], capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


# --- audio URLs -----------------------------------------------------------------------------


@pytest.fixture
def voice_file(cfg: Config, tiny_ogg: Path) -> Path:
    folder = audiourl.audio_root(cfg) / "ab"
    folder.mkdir(parents=True)
    target = folder / "call-1.ogg"
    target.write_bytes(tiny_ogg.read_bytes())
    return target


async def fetch(
    cfg: Config, engine: Engine, url_path: str, now: datetime
) -> tuple[int, bytes, str]:
    async with serving(cfg, engine, {}, clock=Clock(now)) as (base, session):
        async with session.get(base + url_path) as resp:
            return resp.status, await resp.read(), resp.headers.get("Content-Type", "")


def local_path(url: str) -> str:
    return "/audio/" + url.split("/audio/", 1)[1]


def test_an_audio_url_serves_the_file_until_it_expires(
    cfg: Config, engine: Engine, voice_file: Path
) -> None:
    url = audiourl.audio_url(cfg, voice_file, NOW, ttl=600)
    assert url.startswith("http://127.0.0.1:0/audio/")
    status, body, ctype = asyncio.run(
        fetch(cfg, engine, local_path(url), NOW + timedelta(minutes=9))
    )
    assert (status, body, ctype) == (200, voice_file.read_bytes(), "audio/ogg")
    expired = asyncio.run(fetch(cfg, engine, local_path(url), NOW + timedelta(minutes=10)))
    assert expired[0] == 410


@pytest.mark.parametrize("part", [0, 1, 2])
def test_a_tampered_audio_token_is_refused(
    cfg: Config, engine: Engine, voice_file: Path, part: int
) -> None:
    token = local_path(audiourl.audio_url(cfg, voice_file, NOW)).removeprefix("/audio/")
    pieces = token.split(".")
    if part == 0:  # another file's name
        pieces[0] = audiourl.make_token(b"x" * 32, "ab/call-2.ogg", 1).split(".")[0]
    elif part == 1:  # a later expiry
        pieces[1] = str(int(pieces[1]) + 86400)
    else:
        pieces[2] = pieces[2][:-3] + ("AAA" if not pieces[2].endswith("AAA") else "BBB")
    status, _, _ = asyncio.run(fetch(cfg, engine, "/audio/" + ".".join(pieces), NOW))
    assert status == 403


def test_audio_outside_the_audio_folder_is_never_served(cfg: Config, engine: Engine) -> None:
    key = audiourl.secret(cfg)
    secret_db = Path(cfg.state_dir) / "notifyd.db"
    with pytest.raises(ValueError, match="not under the audio folder"):
        audiourl.audio_url(cfg, secret_db, NOW)
    # even a correctly signed name that climbs out is refused
    expires = int(NOW.timestamp()) + 60
    for name in ("../notifyd.db", "ab/../../notifyd.db", "/etc/passwd"):
        token = audiourl.make_token(key, name, expires)
        assert asyncio.run(fetch(cfg, engine, f"/audio/{token}", NOW))[0] == 403
    garbage = asyncio.run(fetch(cfg, engine, "/audio/not-a-token", NOW))
    assert garbage[0] == 403


def test_a_signed_url_of_a_missing_file_is_404(cfg: Config, engine: Engine) -> None:
    url = audiourl.audio_url(cfg, audiourl.audio_root(cfg) / "gone.ogg", NOW)
    assert asyncio.run(fetch(cfg, engine, local_path(url), NOW))[0] == 404


# --- health ---------------------------------------------------------------------------------


def test_health_says_when_the_last_sync_finished_and_nothing_personal(
    synced: Config, engine: Engine
) -> None:
    async def main() -> tuple[int, str]:
        async with serving(synced, engine, {}) as (base, session):
            async with session.get(f"{base}/healthz") as resp:
                return resp.status, await resp.text()

    status, text = asyncio.run(main())
    assert status == 200
    health = json.loads(text)
    assert (health["status"], health["database"]) == ("ok", "ok")
    # the sync's real end: its start (the frozen clock) plus the time it took
    finished = datetime.fromisoformat(health["last_sync"])
    assert NOW <= finished < NOW + timedelta(seconds=60)
    assert "Person" not in text and "+62" not in text


def test_health_is_503_when_the_database_is_unreachable(cfg: Config) -> None:
    dead = store.connect("postgresql+psycopg://nobody@127.0.0.1:9/none")

    async def main() -> tuple[int, dict]:
        async with serving(cfg, dead, {}) as (base, session):
            async with session.get(f"{base}/healthz") as resp:
                return resp.status, await resp.json()

    status, body = asyncio.run(main())
    assert status == 503 and body["status"] == "error"


def test_concurrent_replayed_and_reordered_callbacks_end_at_the_furthest_status(
    synced: Config, engine: Engine
) -> None:
    nid = first_notice(engine)
    aid = send(engine, nid, "sms", "SM-race")
    statuses = ["delivered", "read", "sent", "delivered", "read"] * 6

    async def main() -> list[int]:
        async with serving(synced, engine, channels()) as (base, session):
            posts = [
                post_twilio(session, f"{base}/hooks/sms", {"MessageSid": "SM-race",
                                                          "MessageStatus": st})
                for st in statuses
            ]  # fmt: skip
            return [code for code, _ in await asyncio.gather(*posts)]

    assert set(asyncio.run(main())) == {200}
    assert (notice(engine, nid)["status"], attempt(engine, aid)["receipt"]) == ("read", "read")


class Buggy(Sender):
    def handle_webhook(self, request: Any) -> Any:
        raise KeyError("a bug in the plugin")


def test_a_channel_that_raises_gets_400_never_500_and_the_server_keeps_serving(
    cfg: Config, engine: Engine
) -> None:
    async def main() -> list[int]:
        chans = {**channels(), "buggy": Buggy("buggy")}
        async with serving(cfg, engine, chans) as (base, session):
            json_body = {"Content-Type": "application/json"}
            async with session.post(f"{base}/hooks/buggy", data=b"{}", headers=json_body) as resp:
                first = resp.status
            async with session.get(f"{base}/healthz") as resp:
                return [first, resp.status]

    assert asyncio.run(main()) == [400, 200]


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("whatsapp", "application/x-www-form-urlencoded"), ("sms", "application/json"),
     ("whatsapp", "text/plain"), ("sms", "multipart/form-data; boundary=x")],
)  # fmt: skip
def test_a_wrong_content_type_is_refused_with_415_before_the_channel_reads_it(
    synced: Config, engine: Engine, name: str, content_type: str
) -> None:
    before = everything(engine)

    async def main() -> int:
        async with serving(synced, engine, channels()) as (base, session):
            headers = {"Content-Type": content_type}
            async with session.post(f"{base}/hooks/{name}", data=b"a=b", headers=headers) as resp:
                return resp.status

    assert asyncio.run(main()) == 415
    assert everything(engine) == before


def test_a_client_dropping_mid_body_is_a_debug_line_not_an_error(
    synced: Config, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> int:
        async with serving(synced, engine, channels()) as (base, session):
            port = int(base.rsplit(":", 1)[1])
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /hooks/sms HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n\r\nMessageSid=SM"
            )
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.transport.abort()  # gone mid-body
            await asyncio.sleep(0.3)
            async with session.get(f"{base}/healthz") as resp:
                return resp.status

    caplog.set_level("DEBUG")
    assert asyncio.run(main()) == 200
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
    assert any(r.getMessage() == "client went away mid-body" for r in caplog.records)


def test_a_body_slower_than_the_body_timeout_is_a_408(
    make_config: Callable[..., Config], engine: Engine
) -> None:
    cfg = make_config([person(1)], http={"listen": "127.0.0.1:0", "body_timeout": 0.5})

    async def main() -> bytes:
        runner = await web.start(cfg, engine, channels(), clock=Clock(NOW))
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", web.bound_port(runner))
            writer.write(
                b"POST /hooks/sms HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n\r\nMessage"
            )
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 5)
            writer.close()
            return line
        finally:
            await runner.cleanup()

    assert asyncio.run(main()).startswith(b"HTTP/1.1 408")


def test_idle_connections_past_the_bound_make_room_and_health_still_answers(
    make_config: Callable[..., Config], engine: Engine
) -> None:
    """More idle clients than http.max_connections: the oldest idle ones are closed for the
    newcomers, so a provider's webhook or /healthz always gets in."""
    cfg = make_config([person(1)], http={"listen": "127.0.0.1:0", "max_connections": 20,
                                         "header_timeout": 30.0})  # fmt: skip

    async def main() -> tuple[int, int, int]:
        runner = await web.start(cfg, engine, channels(), clock=Clock(NOW))
        try:
            port = web.bound_port(runner)
            idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(60)]
            await asyncio.sleep(0.3)
            open_now = len(runner.server.connections)  # type: ignore[union-attr]
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    status = resp.status
            closed = 0
            for reader, writer in idle:  # the oldest were closed by the server
                if reader.at_eof() or await _closed(reader):
                    closed += 1
                writer.close()
            return open_now, status, closed
        finally:
            await runner.cleanup()

    open_now, status, closed = asyncio.run(main())
    assert open_now <= 20 and status == 200
    assert closed >= 40


async def _closed(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), 0.05) == b""
    except TimeoutError:
        return False


def test_a_connection_that_sends_no_headers_is_closed_after_the_header_timeout(
    make_config: Callable[..., Config], engine: Engine
) -> None:
    cfg = make_config([person(1)], http={"listen": "127.0.0.1:0", "header_timeout": 0.5})

    async def main() -> bytes:
        runner = await web.start(cfg, engine, channels(), clock=Clock(NOW))
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", web.bound_port(runner))
            writer.write(b"POST /hooks/sms HTTP/1.1\r\nHost: x\r\n")  # never finished
            got = await asyncio.wait_for(reader.read(), 5)  # EOF once the server closes
            writer.close()
            return got
        finally:
            await runner.cleanup()

    assert asyncio.run(main()) == b""


def test_a_database_outage_answers_503_so_the_provider_sends_again(cfg: Config) -> None:
    dead = store.connect("postgresql+psycopg://nobody@127.0.0.1:9/none")

    async def main() -> tuple[int, str]:
        async with serving(cfg, dead, channels()) as (base, session):
            form = {"MessageSid": "SM9", "MessageStatus": "delivered"}
            return await post_twilio(session, f"{base}/hooks/sms", form)

    assert asyncio.run(main())[0] == 503


def test_a_receipt_that_overtakes_its_send_is_applied_once_the_send_is_recorded(
    synced: Config, engine: Engine
) -> None:
    nid = first_notice(engine)

    async def main() -> tuple[int, dict[str, Any]]:
        async with serving(synced, engine, channels()) as (base, session):
            form = {"MessageSid": "SM9", "MessageStatus": "delivered", "ErrorCode": ""}
            status, _ = await post_twilio(session, f"{base}/hooks/sms", form)
            # the provider answered first: the receipt is kept in the database (a restart
            # does not lose it); the dispatcher records the send only now, then applies it
            kept = await asyncio.to_thread(receiptdb.early_count, engine)
            assert kept == 1
            aid = await asyncio.to_thread(send, engine, nid, "sms", "SM9")
            order = synced.channel_order or list(synced.channels)
            await asyncio.to_thread(receipts.apply_early, engine, order, datetime.now(UTC), 60)
            row = await asyncio.to_thread(attempt, engine, aid)
            return status, row

    status, row = asyncio.run(main())
    assert status == 200
    assert row["receipt"] == "delivered"
    assert notice(engine, nid)["status"] == "delivered"
