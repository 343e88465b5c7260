"""The Twilio SMS channel against the sandbox; callbacks signed by Twilio's own library."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from conftest import channel, sandbox_call
from notifyd.errors import ConfigError, OutcomeUnknown, PermanentSendError, TransientSendError
from notifyd.hookspecs import Lookup, Message, Receipt, WebhookRequest
from notifyd.web.signatures import twilio_signature

TO = "+6281234567002"
SID = "AC" + "5a" * 16
TOKEN = "sandbox-auth-token"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_TOKEN", TOKEN)


def make(sandbox: Any, receiver: Any, tmp_path: Path, **overrides: Any) -> Any:
    opts = {
        "base_url": sandbox.url,
        "account_sid": SID,
        "auth_token": "env:TWILIO_TOKEN",
        "from": "+15005550006",
        "status_callback": receiver.url + "/sms",
    }
    opts.update(overrides)
    ch = channel("twilio-sms", "sms", {k: v for k, v in opts.items() if v is not None}, tmp_path)
    receiver.handlers["sms"] = ch.handle_webhook
    return ch


def send(ch: Any, message: Message) -> str:
    async def go() -> str:
        try:
            return str(await ch.send(message))
        finally:
            await ch.aclose()

    return asyncio.run(go())


NOTICE = Message(3, TO, "en", "Your stay permit expires on 31 December 2026.")


def test_the_text_goes_as_a_form_with_basic_auth_and_the_status_callback(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path)
    sid = send(ch, NOTICE)
    assert sid.startswith("SM") and len(sid) == 34
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=twilio-sms")
    assert req["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert req["headers"]["content-type"].startswith("application/x-www-form-urlencoded")
    assert req["headers"]["authorization"].startswith("Basic ")
    assert req["body"] == {
        "To": TO,
        "Body": NOTICE.text,
        "From": "+15005550006",
        "StatusCallback": receiver.url + "/sms",
    }
    assert ch.audio_format is None


def test_a_messaging_service_replaces_the_sender(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(
        sandbox, receiver, tmp_path, **{"from": None, "messaging_service_sid": "MG" + "1" * 32}
    )
    send(ch, NOTICE)
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=twilio-sms")
    assert req["body"]["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in req["body"]


def test_signed_status_callbacks_become_receipts(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path)
    sid = send(ch, NOTICE)
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    results = receiver.results("sms")
    assert {r.status for r in results} == {200}
    assert [(x.provider_id, x.status) for r in results for x in r.receipts] == [
        (sid, "sent"),
        (sid, "delivered"),
    ]


def test_an_undelivered_callback_after_sent_is_a_failed_receipt_with_its_code(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    sandbox_call(
        sandbox,
        "POST",
        "/_sandbox/faults",
        {"provider": "twilio-sms", "to": TO, "kind": "late_failure", "code": 30006},
    )
    ch = make(sandbox, receiver, tmp_path)
    send(ch, NOTICE)
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    receipts = [x for r in receiver.results("sms") for x in r.receipts]
    assert [(x.status, x.error) for x in receipts] == [
        ("sent", ""),
        ("failed", "30006 undelivered"),
    ]


def test_an_inbound_stop_is_a_reply_that_asks_to_stop(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    make(sandbox, receiver, tmp_path)
    sandbox_call(
        sandbox, "POST", "/_sandbox/inbound", {"provider": "twilio", "from": TO, "text": "stop"}
    )
    (result,) = receiver.results("sms")
    assert result.status == 200
    assert [(r.from_, r.text, r.payload) for r in result.replies] == [(TO, "stop", "stop")]


@pytest.mark.parametrize(
    ("fault", "error", "text", "retry_after", "opt_out"),
    [
        ({"kind": "invalid_number"}, PermanentSendError, "error 21211", None, False),
        ({"kind": "opt_out"}, PermanentSendError, "error 21610.*opted out", None, True),
        ({"kind": "not_mobile"}, PermanentSendError, "error 21614", None, False),
        ({"kind": "rate_limit", "retry_after": 4}, TransientSendError, "error 20429", 4.0, False),
        ({"kind": "http", "status": 503}, TransientSendError, "HTTP 503", None, False),
    ],
)
def test_twilio_errors_are_mapped(
    env: None,
    sandbox: Any,
    receiver: Any,
    tmp_path: Path,
    fault: dict[str, Any],
    error: type,
    text: str,
    retry_after: float | None,
    opt_out: bool,
) -> None:
    sandbox_call(sandbox, "POST", "/_sandbox/faults", {"provider": "twilio-sms", "to": TO, **fault})
    ch = make(sandbox, receiver, tmp_path)
    with pytest.raises(error, match=text) as info:
        send(ch, NOTICE)
    assert TO not in str(info.value) and TO[3:] not in str(info.value)  # reasons reach logs
    assert getattr(info.value, "retry_after", None) == retry_after
    assert getattr(info.value, "opt_out", False) is opt_out


def test_a_wrong_auth_token_is_permanent(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_TOKEN", "wrong")
    with pytest.raises(PermanentSendError, match="HTTP 401, error 20003"):
        send(make(sandbox, receiver, tmp_path), NOTICE)


def test_a_hang_after_sending_is_an_unknown_outcome(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    sandbox_call(
        sandbox,
        "POST",
        "/_sandbox/faults",
        {"provider": "twilio-sms", "kind": "hang", "seconds": 3},
    )
    with pytest.raises(OutcomeUnknown):
        send(make(sandbox, receiver, tmp_path, timeout=0.3), NOTICE)


PARAMS = {
    "MessageSid": "SM" + "0" * 32,
    "MessageStatus": "delivered",
    "AccountSid": SID,
    "To": TO,
    "From": "+15005550006",
    "ApiVersion": "2010-04-01",
}
URL = "https://notifyd.example.go.id/hooks/sms?office=BLT"


def test_our_signature_is_twilios() -> None:
    expected = RequestValidator(TOKEN).compute_signature(URL, PARAMS)
    assert twilio_signature(URL, PARAMS.items(), TOKEN) == expected


def hook(body: dict[str, str], sig: str | None, url: str = URL) -> WebhookRequest:
    headers = {"x-twilio-signature": sig} if sig is not None else {}
    return WebhookRequest("POST", url, headers, {"office": "BLT"}, urlencode(body).encode())


@pytest.mark.parametrize(
    "request_",
    [
        hook(PARAMS, None),  # unsigned
        hook(PARAMS, RequestValidator("another-token").compute_signature(URL, PARAMS)),
        hook(
            {**PARAMS, "MessageStatus": "failed"},
            RequestValidator(TOKEN).compute_signature(URL, PARAMS),
        ),
        hook(PARAMS, RequestValidator(TOKEN).compute_signature(URL, PARAMS), URL + "&x=1"),
    ],
    ids=["unsigned", "wrong-token", "tampered-body", "other-url"],
)
def test_unsigned_or_tampered_callbacks_are_refused_with_403(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path, request_: WebhookRequest
) -> None:
    result = make(sandbox, receiver, tmp_path).handle_webhook(request_)
    assert result.status == 403 and not result.receipts and not result.replies


def test_a_callback_signed_for_the_url_with_its_default_port_is_accepted(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    with_port = URL.replace(".go.id/", ".go.id:443/")
    sig = RequestValidator(TOKEN).compute_signature(with_port, PARAMS)
    result = make(sandbox, receiver, tmp_path).handle_webhook(hook(PARAMS, sig))
    assert [(r.status, r.opt_out) for r in result.receipts] == [("delivered", False)]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"account_sid": "12345"}, "channels.sms.options.account_sid"),
        ({"auth_token": "in-clear"}, "channels.sms.options.auth_token"),
        ({"messaging_service_sid": "MG1"}, "channels.sms.options.from"),  # both given
        ({"status_callback": "not a url"}, "channels.sms.options.status_callback"),
    ],
)
def test_bad_options_name_their_key(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path, change: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as info:
        make(sandbox, receiver, tmp_path, **change)
    assert info.value.key == key


def test_the_attempt_id_rides_in_the_signed_callback_url_and_comes_back(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path, status_callback=receiver.url + "/sms?office=BLT")
    sid = send(ch, Message(3, TO, "en", "Your stay permit expires soon.", attempt_id=981))
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=twilio-sms")
    assert req["body"]["StatusCallback"] == receiver.url + "/sms?office=BLT&attempt=981"
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    receipts = [x for r in receiver.results("sms") for x in r.receipts]
    assert [(x.provider_id, x.attempt_id) for x in receipts] == [(sid, 981), (sid, 981)]


def test_an_attempt_id_put_in_the_url_by_someone_else_fails_the_signature(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path)
    url = receiver.url + "/sms?attempt=5"
    form = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    signed = RequestValidator(TOKEN).compute_signature(url, form)
    forged = WebhookRequest(
        "POST", receiver.url + "/sms?attempt=6", {"x-twilio-signature": signed},
        {"attempt": "6"}, urlencode(form).encode(),
    )  # fmt: skip
    assert ch.handle_webhook(forged).status == 403
    genuine = replace(forged, url=url, query={"attempt": "5"})
    assert [r.attempt_id for r in ch.handle_webhook(genuine).receipts] == [5]


def test_a_send_that_timed_out_is_found_by_the_lookup_and_an_unsent_one_is_not(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    """Twilio accepts the message only after we gave up waiting (the sandbox answers after 1 s,
    the channel times out at 0.3 s): its message list, by number and time, shows it arrived, so
    it is not sent again; a number Twilio never got a message for finds nothing."""
    fault = {"provider": "twilio-sms", "kind": "hang", "seconds": 1}
    sandbox_call(sandbox, "POST", "/_sandbox/faults", fault)
    since = datetime.now(UTC)
    ch = make(sandbox, receiver, tmp_path, timeout=0.3)

    async def go() -> tuple[Receipt | None, Receipt | None]:
        try:
            with pytest.raises(OutcomeUnknown):
                await ch.send(NOTICE)
            found = None
            for _ in range(100):  # until the sandbox has finished its hang and kept the message
                if found := await ch.lookup(Lookup(3, TO, since)):
                    break
                await asyncio.sleep(0.1)
            return found, await ch.lookup(Lookup(4, "+6281299990000", since))
        finally:
            await ch.aclose()

    found, nothing = asyncio.run(go())
    assert found is not None and found.provider_id.startswith("SM")
    # accepted, and on a busy machine perhaps already delivered by the time the lookup runs
    assert found.attempt_id == 3 and found.status in ("sent", "delivered")
    assert nothing is None
