"""The Twilio call channel: the sandbox fetches the voice note from a real HTTP server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from conftest import channel, sandbox_call, tone
from notifyd.errors import ConfigError, PermanentSendError
from notifyd.hookspecs import Message

TO = "+6281234567003"
SID = "AC" + "5a" * 16


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_TOKEN", "sandbox-auth-token")


def wav(path: Path, rate: int) -> Path:
    return tone(path, 1.5, "-ar", str(rate))


@pytest.fixture
def audio_server(receiver: Any, tmp_path: Path) -> str:
    """notifyd's audio URLs, as its web app would serve them: /audio/<file>."""
    receiver.audio["n5.wav"] = tmp_path / "n5.wav"
    return receiver.server.url + "/audio"


def make(sandbox: Any, receiver: Any, tmp_path: Path, **overrides: Any) -> Any:
    opts = {
        "base_url": sandbox.url,
        "account_sid": SID,
        "auth_token": "env:TWILIO_TOKEN",
        "from": "+15005550006",
        "status_callback": receiver.url + "/call",
        "loop": 1,
    }
    opts.update(overrides)
    ch = channel("twilio-call", "call", opts, tmp_path)
    receiver.handlers["call"] = ch.handle_webhook
    return ch


def call(ch: Any, message: Message) -> str:
    async def go() -> str:
        try:
            return str(await ch.send(message))
        finally:
            await ch.aclose()

    return asyncio.run(go())


def notice(url: str) -> Message:
    return Message(5, TO, "id", "Izin tinggal Anda berakhir.", audio_url=url)


def test_a_call_plays_the_8_khz_voice_note_and_reports_completed(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path, audio_server: str
) -> None:
    wav(tmp_path / "n5.wav", 8000)
    ch = make(sandbox, receiver, tmp_path)
    sid = call(ch, notice(f"{audio_server}/n5.wav"))
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=twilio-call")
    assert req["path"] == f"/2010-04-01/Accounts/{SID}/Calls.json"
    assert (
        req["body"]["Twiml"] == f'<Response><Play loop="1">{audio_server}/n5.wav</Play></Response>'
    )
    assert req["body"]["To"] == TO and req["body"]["StatusCallback"] == receiver.url + "/call"
    (play,) = sandbox_call(sandbox, "GET", "/_sandbox/calls")[sid]["plays"]
    assert (play["format"], play["rate"], play["ok"]) == ("wav", 8000, True)
    receipts = [x for r in receiver.results("call") for x in r.receipts]
    assert [(x.provider_id, x.status) for x in receipts] == [(sid, "delivered")]


def test_the_sandbox_says_when_the_audio_is_not_telephony_rate(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path, audio_server: str
) -> None:
    wav(tmp_path / "n5.wav", 16000)
    sid = call(make(sandbox, receiver, tmp_path), notice(f"{audio_server}/n5.wav"))
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    (play,) = sandbox_call(sandbox, "GET", "/_sandbox/calls")[sid]["plays"]
    assert play["ok"] is False and "16000 Hz" in play["problem"]


@pytest.mark.parametrize(("kind", "error"), [("busy", "busy"), ("no_answer", "no-answer")])
def test_busy_and_no_answer_are_failed_receipts_saying_which(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path, audio_server: str, kind: str, error: str
) -> None:
    sandbox_call(
        sandbox, "POST", "/_sandbox/faults", {"provider": "twilio-call", "to": TO, "kind": kind}
    )
    sid = call(make(sandbox, receiver, tmp_path), notice(f"{audio_server}/n5.wav"))
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    receipts = [x for r in receiver.results("call") for x in r.receipts]
    assert [(x.provider_id, x.status, x.error) for x in receipts] == [(sid, "failed", error)]
    assert sandbox_call(sandbox, "GET", "/_sandbox/calls")[sid]["plays"] == []  # never answered


def test_an_invalid_number_is_permanent(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    sandbox_call(
        sandbox, "POST", "/_sandbox/faults", {"provider": "twilio-call", "kind": "invalid_number"}
    )
    with pytest.raises(PermanentSendError, match="21211"):
        call(make(sandbox, receiver, tmp_path), notice("https://x/a.wav"))


def test_without_an_audio_url_the_call_is_refused_and_says_why(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    with pytest.raises(PermanentSendError, match="web app"):
        call(make(sandbox, receiver, tmp_path), notice(""))
    assert sandbox_call(sandbox, "GET", "/_sandbox/requests") == []


def test_the_audio_url_is_data_in_the_twiml(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path)
    assert ch.audio_format == "wav"
    assert ch.twiml("https://x/a.wav?t=1&s=<b>") == (
        '<Response><Play loop="1">https://x/a.wav?t=1&amp;s=&lt;b&gt;</Play></Response>'
    )


def test_a_loop_out_of_range_names_its_key(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as info:
        make(sandbox, receiver, tmp_path, loop=50)
    assert info.value.key == "channels.call.options.loop"


def test_an_unsigned_or_forged_call_status_is_refused(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    from notifyd.hookspecs import WebhookRequest

    ch = make(sandbox, receiver, tmp_path)
    url = "https://notifyd.example.go.id/hooks/call"
    params = {"CallSid": "CA" + "1" * 32, "CallStatus": "completed"}
    body = urlencode(params).encode()
    forged = RequestValidator("not-the-token").compute_signature(url, params)
    for headers in ({}, {"x-twilio-signature": forged}):
        result = ch.handle_webhook(WebhookRequest("POST", url, headers, {}, body))
        assert result.status == 403 and not result.receipts
    good = RequestValidator("sandbox-auth-token").compute_signature(url, params)
    result = ch.handle_webhook(WebhookRequest("POST", url, {"x-twilio-signature": good}, {}, body))
    assert [(r.status, r.error) for r in result.receipts] == [("delivered", "")]
