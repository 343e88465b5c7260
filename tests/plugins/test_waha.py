"""The WAHA channel against the sandbox: voice note sent directly, signed ack events."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import channel, ogg_voice_note, sandbox_call
from notifyd.errors import ConfigError, PermanentSendError, TransientSendError
from notifyd.hookspecs import Message, WebhookRequest

TO = "+6281234567004"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAHA_KEY", "sandbox-waha-key")
    monkeypatch.setenv("WAHA_HMAC", "sandbox-waha-hmac")


def make(sandbox: Any, receiver: Any, tmp_path: Path, **overrides: Any) -> Any:
    opts = {"base_url": sandbox.url, "api_key": "env:WAHA_KEY", "hmac_key": "env:WAHA_HMAC"}
    opts.update(overrides)
    ch = channel("waha", "waha", opts, tmp_path)
    receiver.handlers["waha"] = ch.handle_webhook
    return ch


def send(ch: Any, message: Message) -> str:
    async def go() -> str:
        try:
            return str(await ch.send(message))
        finally:
            await ch.aclose()

    return asyncio.run(go())


def test_the_voice_note_goes_straight_to_send_voice_and_acks_come_back_signed(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    audio = ogg_voice_note(tmp_path / "n.ogg")
    ch = make(sandbox, receiver, tmp_path)
    msg_id = send(ch, Message(9, TO, "id", "…", audio))
    assert msg_id.startswith(f"true_{TO.lstrip('+')}@c.us_")
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=waha")
    assert req["path"] == "/api/sendVoice"
    assert req["headers"]["x-api-key"] == "sandbox-waha-key"
    body = req["body"]
    assert (body["session"], body["chatId"]) == ("default", f"{TO.lstrip('+')}@c.us")
    assert body["file"]["mimetype"] == "audio/ogg; codecs=opus"
    assert body["file"]["data"] == f"<{len(base64.b64encode(audio.read_bytes()))} base64 chars>"
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    receipts = [(x.provider_id, x.status) for r in receiver.results("waha") for x in r.receipts]
    assert receipts == [(msg_id, "sent"), (msg_id, "delivered")]


def test_without_audio_the_text_goes(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    send(make(sandbox, receiver, tmp_path), Message(9, TO, "id", "Izin tinggal Anda berakhir."))
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=waha")
    assert req["path"] == "/api/sendText" and req["body"]["text"] == "Izin tinggal Anda berakhir."


def test_a_late_error_ack_is_a_failed_receipt(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    sandbox_call(sandbox, "POST", "/_sandbox/faults", {"provider": "waha", "kind": "late_failure"})
    send(make(sandbox, receiver, tmp_path), Message(9, TO, "id", "teks"))
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    assert [x.status for r in receiver.results("waha") for x in r.receipts] == ["sent", "failed"]


@pytest.mark.parametrize(
    ("fault", "error", "text"),
    [
        ({"kind": "not_on_whatsapp"}, PermanentSendError, "422.*not registered"),
        ({"kind": "rate_limit", "retry_after": 3}, TransientSendError, "429"),
        ({"kind": "http", "status": 502}, TransientSendError, "502"),
    ],
)
def test_waha_errors_are_mapped(
    env: None,
    sandbox: Any,
    receiver: Any,
    tmp_path: Path,
    fault: dict[str, Any],
    error: type,
    text: str,
) -> None:
    sandbox_call(sandbox, "POST", "/_sandbox/faults", {"provider": "waha", **fault})
    with pytest.raises(error, match=text):
        send(make(sandbox, receiver, tmp_path), Message(9, TO, "id", "teks"))


def test_a_refused_api_key_is_permanent_and_says_so(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAHA_KEY", "wrong")
    with pytest.raises(PermanentSendError, match="401.*api_key"):
        send(make(sandbox, receiver, tmp_path), Message(9, TO, "id", "teks"))


def test_the_hmac_matches_wahas_documented_example(
    env: None, sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WAHA's docs: this body, key my-secret-key, sha512 → this X-Webhook-Hmac."""
    body = b'{"event":"message","session":"default","engine":"WEBJS"}'
    documented = (
        "208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8"
        "097c462b2b17a6ce93b6b47a136cf2e78a33a63f6752c2c1631777076153fa89"
    )
    assert hmac.new(b"my-secret-key", body, hashlib.sha512).hexdigest() == documented
    monkeypatch.setenv("WAHA_HMAC", "my-secret-key")
    ch = channel(
        "waha",
        "waha",
        {"base_url": sandbox.url, "api_key": "env:WAHA_KEY", "hmac_key": "env:WAHA_HMAC"},
        tmp_path,
    )
    ok = ch.handle_webhook(WebhookRequest("POST", "u", {"x-webhook-hmac": documented}, {}, body))
    assert ok.status == 200
    bad = ch.handle_webhook(
        WebhookRequest(
            "POST", "u", {"x-webhook-hmac": documented}, {}, body.replace(b"default", b"other")
        )
    )
    assert bad.status == 403
    unsigned = ch.handle_webhook(WebhookRequest("POST", "u", {}, {}, body))
    assert unsigned.status == 403


def test_an_incoming_message_is_a_reply(env: None, sandbox: Any, tmp_path: Path) -> None:
    ch = channel(
        "waha",
        "waha",
        {"base_url": sandbox.url, "api_key": "env:WAHA_KEY", "hmac_key": "env:WAHA_HMAC"},
        tmp_path,
    )
    payload = {"from": "6281234567004@c.us", "fromMe": False, "body": "ok"}
    body = json.dumps({"event": "message", "session": "default", "payload": payload}).encode()
    mac = hmac.new(b"sandbox-waha-hmac", body, hashlib.sha512).hexdigest()
    result = ch.handle_webhook(WebhookRequest("POST", "u", {"x-webhook-hmac": mac}, {}, body))
    assert [(r.from_, r.text) for r in result.replies] == [(TO, "ok")]


def test_the_hmac_key_is_required(env: None, sandbox: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        channel("waha", "waha", {"base_url": sandbox.url, "api_key": "env:WAHA_KEY"}, tmp_path)
    assert info.value.key == "channels.waha.options.hmac_key"
