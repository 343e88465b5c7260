"""The WhatsApp Cloud API channel against the sandbox, over real HTTP and real signatures."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from conftest import channel, ogg_voice_note, sandbox_call
from notifyd.errors import ConfigError, OutcomeUnknown, PermanentSendError, TransientSendError
from notifyd.hookspecs import Message, WebhookRequest

SECRET = "sandbox-app-secret"
TO = "+6281234567001"
FIELDS = {
    "name": "Ayu Lestari",
    "permit": "2C11AB0001-26",
    "expiry": "31 Desember 2026",
    "days_left": "7",
    "office_phone": "+62 342 801234",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WA_TOKEN", "sandbox-token")
    monkeypatch.setenv("WA_APP_SECRET", SECRET)
    monkeypatch.setenv("WA_VERIFY", "verify-me")


def options(sandbox: Any, **overrides: Any) -> dict[str, Any]:
    opts = {
        "base_url": sandbox.url,
        "phone_number_id": "106540352242922",
        "token": "env:WA_TOKEN",
        "app_secret": "env:WA_APP_SECRET",
        "verify_token": "env:WA_VERIFY",
        "templates": {
            "id": {"name": "notifyd_izin_tinggal", "language": "id"},
            "en": {
                "name": "notifyd_permit_expiry",
                "language": "en",
                "parameters": ["name", "permit", "expiry", "days_left"],
            },
        },
    }
    opts.update(overrides)
    return opts


def make(sandbox: Any, receiver: Any, tmp_path: Path, **overrides: Any) -> Any:
    ch = channel("whatsapp-cloud", "whatsapp", options(sandbox, **overrides), tmp_path)
    receiver.handlers["whatsapp"] = ch.handle_webhook
    return ch


def notice(n: int = 7, language: str = "id", **kw: Any) -> Message:
    return Message(n, TO, language, "Izin tinggal Anda berakhir.", fields=FIELDS, **kw)


def run(ch: Any, coro: Any) -> Any:
    async def go() -> Any:
        try:
            return await coro
        finally:
            await ch.aclose()

    return asyncio.run(go())


def test_a_cold_notice_is_the_template_with_the_facts_and_a_listen_button(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path)
    wamid = run(ch, ch.send(notice()))
    assert wamid.startswith("wamid.")
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=whatsapp")
    assert req["path"] == "/v23.0/106540352242922/messages"
    assert req["headers"]["authorization"] == "Bearer sandbox-token"
    body = req["body"]
    assert body["messaging_product"] == "whatsapp" and body["to"] == TO.lstrip("+")
    assert body["type"] == "template"
    tpl = body["template"]
    assert tpl["name"] == "notifyd_izin_tinggal" and tpl["language"] == {"code": "id"}
    body_params, button = tpl["components"]
    assert [p["text"] for p in body_params["parameters"]] == list(FIELDS.values())
    assert button == {
        "type": "button",
        "sub_type": "quick_reply",
        "index": "0",
        "parameters": [{"type": "payload", "payload": "listen:7"}],
    }


def test_a_language_without_its_own_template_uses_the_fallback_with_its_parameters(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path)
    run(ch, ch.send(notice(language="ja")))
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=whatsapp")
    tpl = req["body"]["template"]
    assert tpl["name"] == "notifyd_permit_expiry"
    assert len(tpl["components"][0]["parameters"]) == 4


def test_template_tap_then_voice_note(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path)
    audio = ogg_voice_note(tmp_path / "note.ogg")

    async def scenario() -> tuple[str, str]:
        template_id = await ch.send(notice())
        with pytest.raises(PermanentSendError, match="131047"):  # no tap yet: window closed
            await ch.send(notice(audio=audio, followup=True))
        await asyncio.to_thread(sandbox_call, sandbox, "POST", "/_sandbox/tap", {"to": TO})
        voice_id = await ch.send(notice(audio=audio, followup=True))
        return template_id, voice_id

    template_id, voice_id = run(ch, scenario())
    replies = [r for res in receiver.results("whatsapp") for r in res.replies]
    assert [(r.from_, r.payload, r.context_id) for r in replies] == [(TO, "listen:7", template_id)]
    reqs = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=whatsapp")
    upload, audio_msg = reqs[-2:]
    assert upload["path"].endswith("/media")
    assert upload["body"]["messaging_product"] == "whatsapp"
    assert upload["body"]["type"] == "audio/ogg"
    assert upload["body"]["file"]["size"] == audio.stat().st_size
    assert audio_msg["body"]["type"] == "audio"
    assert audio_msg["body"]["audio"]["voice"] is True
    assert voice_id.startswith("wamid.") and voice_id != template_id


def test_inside_an_open_window_the_voice_note_goes_at_once(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    sandbox_call(sandbox, "POST", "/_sandbox/inbound", {"from": TO, "text": "halo"})
    ch = make(sandbox, receiver, tmp_path)
    audio = ogg_voice_note(tmp_path / "note.ogg")
    run(ch, ch.send(notice(audio=audio, window_open=True)))
    types = [
        r["body"].get("type")
        for r in sandbox_call(sandbox, "GET", "/_sandbox/requests")
        if r["path"].endswith("/messages")
    ]
    assert types == ["audio"]


def test_signed_status_callbacks_become_receipts(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path)
    wamid = run(ch, ch.send(notice()))
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    results = receiver.results("whatsapp")
    assert {r.status for r in results} == {200}
    receipts = [(x.provider_id, x.status) for r in results for x in r.receipts]
    assert receipts == [(wamid, "sent"), (wamid, "delivered")]


def test_a_failure_after_sent_arrives_as_a_failed_receipt_with_its_code(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    sandbox_call(
        sandbox,
        "POST",
        "/_sandbox/faults",
        {"provider": "whatsapp", "to": TO, "kind": "late_failure"},
    )
    ch = make(sandbox, receiver, tmp_path)
    run(ch, ch.send(notice()))
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    receipts = [x for r in receiver.results("whatsapp") for x in r.receipts]
    assert [x.status for x in receipts] == ["sent", "failed"]
    assert receipts[1].error.startswith("131026")


def sign(body: bytes, secret: str = SECRET) -> str:
    """As Meta documents it: sha256= and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


STATUS = json.dumps(
    {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "statuses": [
                                {
                                    "id": "wamid.X",
                                    "status": "read",
                                    "timestamp": "1767225600",
                                    "recipient_id": "1",
                                }
                            ]
                        },
                    }
                ],
            }
        ],
    }
).encode()


@pytest.mark.parametrize(
    ("body", "header"),
    [
        (STATUS, None),  # unsigned
        (STATUS, sign(STATUS, "another-secret")),  # wrong secret
        (STATUS.replace(b"read", b"sent"), sign(STATUS)),  # tampered body
        (STATUS, sign(STATUS)[:-1]),  # cut signature
        (STATUS, sign(STATUS).replace("sha256=", "sha1=")),
    ],
)
def test_unsigned_or_tampered_webhooks_are_refused_with_403(
    env: None, sandbox: Any, tmp_path: Path, body: bytes, header: str | None
) -> None:
    ch = channel("whatsapp-cloud", "whatsapp", options(sandbox), tmp_path)
    headers = {"x-hub-signature-256": header} if header else {}
    result = ch.handle_webhook(
        WebhookRequest("POST", "https://x/hooks/whatsapp", headers, {}, body)
    )
    assert result.status == 403 and not result.receipts and not result.replies


def test_a_webhook_signed_as_meta_documents_is_read(
    env: None, sandbox: Any, tmp_path: Path
) -> None:
    ch = channel("whatsapp-cloud", "whatsapp", options(sandbox), tmp_path)
    headers = {"x-hub-signature-256": sign(STATUS)}
    result = ch.handle_webhook(
        WebhookRequest("POST", "https://x/hooks/whatsapp", headers, {}, STATUS)
    )
    assert result.status == 200
    assert [(r.provider_id, r.status, r.at.year if r.at else 0) for r in result.receipts] == [
        ("wamid.X", "read", 2026)
    ]


@pytest.mark.parametrize(
    ("token", "status", "body"),
    [("verify-me", 200, "1158201444"), ("guess", 403, "verification failed")],
)
def test_the_subscription_check_echoes_the_challenge_only_for_the_verify_token(
    env: None, sandbox: Any, tmp_path: Path, token: str, status: int, body: str
) -> None:
    ch = channel("whatsapp-cloud", "whatsapp", options(sandbox), tmp_path)
    query = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "1158201444"}
    result = ch.handle_webhook(WebhookRequest("GET", "https://x/hooks/whatsapp", {}, query, b""))
    assert (result.status, result.body) == (status, body)


@pytest.mark.parametrize(
    ("fault", "error", "text", "retry_after"),
    [
        ({"kind": "not_on_whatsapp"}, PermanentSendError, "131026", None),
        ({"kind": "window_closed"}, PermanentSendError, "131047", None),
        ({"kind": "invalid_number"}, PermanentSendError, "code 100", None),
        ({"kind": "rate_limit"}, TransientSendError, "130429", None),
        ({"kind": "pair_rate"}, TransientSendError, "131056", None),
        ({"kind": "http", "status": 503, "retry_after": 7}, TransientSendError, "503", 7.0),
        (
            {"kind": "http", "status": 429, "code": 4, "retry_after": 2},
            TransientSendError,
            "429",
            2.0,
        ),
    ],
)
def test_graph_errors_are_mapped(
    env: None,
    sandbox: Any,
    receiver: Any,
    tmp_path: Path,
    fault: dict[str, Any],
    error: type,
    text: str,
    retry_after: float | None,
) -> None:
    sandbox_call(sandbox, "POST", "/_sandbox/faults", {"provider": "whatsapp", "to": TO, **fault})
    ch = make(sandbox, receiver, tmp_path)
    with pytest.raises(error, match=text) as info:
        run(ch, ch.send(notice()))
    if retry_after is not None:
        assert info.value.retry_after == retry_after


def test_a_refused_token_is_permanent_and_says_so(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WA_TOKEN", "expired")
    ch = make(sandbox, receiver, tmp_path)
    with pytest.raises(PermanentSendError, match="code 190.*token"):
        run(ch, ch.send(notice()))


def test_no_answer_after_sending_is_an_unknown_outcome(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    sandbox_call(
        sandbox, "POST", "/_sandbox/faults", {"provider": "whatsapp", "kind": "hang", "seconds": 3}
    )
    ch = make(sandbox, receiver, tmp_path, timeout=0.3)
    with pytest.raises(OutcomeUnknown):
        run(ch, ch.send(notice()))


def test_no_connection_at_all_is_transient(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ch = make(sandbox, receiver, tmp_path, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(TransientSendError, match="cannot connect"):
        run(ch, ch.send(notice()))


def test_a_voice_note_over_512_kb_is_refused_before_anything_is_sent(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    big = tmp_path / "long.ogg"
    big.write_bytes(b"OggS" + b"\0" * (600 * 1024))
    ch = make(sandbox, receiver, tmp_path)
    with pytest.raises(PermanentSendError, match="600 KB, over WhatsApp's 512 KB"):
        run(ch, ch.send(notice(audio=big, followup=True)))
    assert sandbox_call(sandbox, "GET", "/_sandbox/requests") == []


def test_a_template_parameter_the_notice_lacks_is_named(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path)
    lacking = Message(7, TO, "id", "…", fields={"name": "Ayu"})
    with pytest.raises(PermanentSendError, match="needs the fields .*'permit'"):
        run(ch, ch.send(lacking))


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"phone_number_id": None}, "channels.whatsapp.options.phone_number_id"),
        ({"token": "EAAG-in-clear"}, "channels.whatsapp.options.token"),
        ({"templates": {}}, "channels.whatsapp.options.templates"),
        ({"fallback_language": "fr"}, "channels.whatsapp.options.fallback_language"),
        ({"button_payload": "listen"}, "channels.whatsapp.options.button_payload"),
        (
            {"button_payload": "{office}:{notification_id}"},
            "channels.whatsapp.options.button_payload",
        ),
        ({"base_url": "graph.facebook.com"}, "channels.whatsapp.options.base_url"),
        ({"colour": "green"}, "channels.whatsapp.options.colour"),
    ],
)
def test_bad_options_name_their_key(
    env: None, sandbox: Any, tmp_path: Path, change: dict[str, Any], key: str
) -> None:
    opts = {k: v for k, v in {**options(sandbox), **change}.items() if v is not None}
    with pytest.raises(ConfigError) as info:
        channel("whatsapp-cloud", "whatsapp", opts, tmp_path)
    assert info.value.key == key


def test_every_send_carries_its_attempt_id_and_statuses_bring_it_back(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path)
    run(ch, ch.send(notice(attempt_id=4242)))
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=whatsapp")
    assert req["body"]["biz_opaque_callback_data"] == "notifyd-attempt:4242"
    ch = channel("whatsapp-cloud", "whatsapp", options(sandbox), tmp_path)
    echoed = STATUS.replace(b'"recipient_id"', b'"biz_opaque_callback_data": '
                            b'"notifyd-attempt:4242", "recipient_id"')  # fmt: skip
    result = ch.handle_webhook(
        WebhookRequest("POST", "https://x/hooks/whatsapp", {"x-hub-signature-256": sign(echoed)},
                       {}, echoed)
    )  # fmt: skip
    assert [(r.provider_id, r.attempt_id) for r in result.receipts] == [("wamid.X", 4242)]
    forged = echoed.replace(b"notifyd-attempt:4242", b"notifyd-attempt:42x")
    result = ch.handle_webhook(
        WebhookRequest("POST", "https://x/hooks/whatsapp", {"x-hub-signature-256": sign(forged)},
                       {}, forged)
    )  # fmt: skip
    assert [r.attempt_id for r in result.receipts] == [0]  # not ours: matched by wamid only


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000 + b"]" * 5000,  # RecursionError in a naive parser
        STATUS.replace(b'"1767225600"', b'"' + b"1" + b"0" * 30 + b'"'),  # OverflowError
        b'{"entry": "not a list"}',
        b"\xff\xfe not json",
    ],
)
def test_signed_but_hostile_bodies_are_a_4xx_or_read_safely(
    env: None, sandbox: Any, tmp_path: Path, body: bytes
) -> None:
    ch = channel("whatsapp-cloud", "whatsapp", options(sandbox), tmp_path)
    headers = {"x-hub-signature-256": sign(body)}
    result = ch.handle_webhook(
        WebhookRequest("POST", "https://x/hooks/whatsapp", headers, {}, body)
    )
    if result.status == 200:  # the huge timestamp: read, with the time of arrival instead
        assert [(r.provider_id, r.at) for r in result.receipts] == [("wamid.X", None)]
    else:
        assert result.status == 400 and not result.receipts
