"""The generic HTTP SMS gateway channel, configured for the sandbox's documented gateway."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from conftest import channel, sandbox_call
from notifyd.errors import ConfigError, PermanentSendError, TransientSendError
from notifyd.hookspecs import Message, WebhookRequest
from notifyd_plugins.sms.gateway import lookup

TO = "+6281234567005"
#: Words a template engine or a JSON writer could trip on: they must arrive as they are.
TEXT = 'Izin "tinggal" {to} Anda\nberakhir & <segera>'


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW_KEY", "sandbox-gateway-key")


def options(sandbox: Any, **overrides: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "url": sandbox.url + "/gateway/send",
        "secret": "env:GW_KEY",
        "headers": {"Authorization": "Bearer {secret}"},
        "body_json": {"to": "{to}", "text": "{text}", "ref": "notice-{notification_id}"},
        "success_path": "status",
        "success_value": "queued",
        "id_path": "message_id",
        "receipts": {
            "id_path": "message_id",
            "status_path": "status",
            "error_path": "error",
            "secret_header": "X-Gateway-Secret",
        },
    }
    opts.update(overrides)
    return opts


def make(sandbox: Any, receiver: Any, tmp_path: Path, **overrides: Any) -> Any:
    ch = channel("http-sms", "gateway", options(sandbox, **overrides), tmp_path)
    receiver.handlers["gateway"] = ch.handle_webhook
    return ch


def send(ch: Any, message: Message) -> str:
    async def go() -> str:
        try:
            return str(await ch.send(message))
        finally:
            await ch.aclose()

    return asyncio.run(go())


def test_the_body_is_built_from_the_template_with_values_as_data(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    msg_id = send(make(sandbox, receiver, tmp_path), Message(11, TO, "id", TEXT))
    assert msg_id.startswith("gw-")
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=gateway")
    assert req["headers"]["authorization"] == "Bearer sandbox-gateway-key"
    assert req["body"] == {"to": TO, "text": TEXT, "ref": "notice-11"}


def test_a_form_body_works_too(env: None, sandbox: Any, tmp_path: Path) -> None:
    ch = channel(
        "http-sms",
        "gw",
        {
            "url": sandbox.url + "/json/form",
            "body_json": None,
            "body_form": {"msisdn": "{to}", "msg": "{text}"},
            "id_path": "status",
        },
        tmp_path,
    )
    send(ch, Message(11, TO, "id", TEXT))
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=json")
    assert req["headers"]["content-type"] == "application/x-www-form-urlencoded"


def test_delivery_reports_become_receipts(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    sandbox_call(
        sandbox,
        "POST",
        "/_sandbox/faults",
        {"provider": "gateway", "kind": "late_failure", "times": 1},
    )
    ch = make(sandbox, receiver, tmp_path)

    async def two() -> list[str]:
        try:
            return [await ch.send(Message(n, TO, "id", "teks")) for n in (1, 2)]
        finally:
            await ch.aclose()

    failed_id, ok_id = asyncio.run(two())
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    receipts = {
        x.provider_id: (x.status, x.error) for r in receiver.results("gateway") for x in r.receipts
    }
    assert receipts == {failed_id: ("failed", "absent subscriber"), ok_id: ("delivered", "")}


def test_a_report_without_the_shared_secret_is_refused(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path)
    body = json.dumps({"message_id": "gw-1", "status": "delivered"}).encode()
    for headers in ({}, {"x-gateway-secret": "guess"}):
        assert ch.handle_webhook(WebhookRequest("POST", "u", headers, {}, body)).status == 403


@pytest.mark.parametrize(
    ("fault", "error", "retry_after"),
    [
        ({"kind": "invalid_number"}, PermanentSendError, None),
        ({"kind": "rate_limit", "retry_after": 9}, TransientSendError, 9.0),
        ({"kind": "http", "status": 500}, TransientSendError, None),
    ],
)
def test_gateway_errors_are_mapped(
    env: None,
    sandbox: Any,
    receiver: Any,
    tmp_path: Path,
    fault: dict[str, Any],
    error: type,
    retry_after: float | None,
) -> None:
    sandbox_call(sandbox, "POST", "/_sandbox/faults", {"provider": "gateway", **fault})
    with pytest.raises(error, match="gateway HTTP") as info:
        send(make(sandbox, receiver, tmp_path), Message(1, TO, "id", "teks"))
    assert getattr(info.value, "retry_after", None) == retry_after


def test_a_200_that_does_not_say_success_is_not_taken_for_one(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    ch = make(sandbox, receiver, tmp_path, success_value="sent")  # the gateway says "queued"
    with pytest.raises(PermanentSendError, match="HTTP 200"):
        send(ch, Message(1, TO, "id", "teks"))


def test_json_paths_read_keys_and_list_indices() -> None:
    data = {"data": {"messages": [{"id": "a"}, {"id": "b"}]}}
    assert lookup(data, "data.messages.1.id") == "b"
    assert lookup(data, "data.messages.5.id") is None and lookup(data, "nope") is None


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"body_json": {"to": "{phone}"}}, "channels.gateway.options.body_json"),
        ({"headers": {"X": "{secret"}}, "channels.gateway.options.headers"),
        ({"method": "DELETE"}, "channels.gateway.options.method"),
        ({"secret": "in-clear"}, "channels.gateway.options.secret"),
        ({"receipts": {"status_path": "s"}}, "channels.gateway.options.receipts"),
        (  # receipts nobody signs would take anyone's word for a delivery
            {"receipts": {"id_path": "id", "status_path": "status"}},
            "channels.gateway.options.receipts.secret_header",
        ),
    ],
)
def test_bad_options_name_their_key(
    env: None, sandbox: Any, tmp_path: Path, change: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as info:
        channel("http-sms", "gateway", options(sandbox, **change), tmp_path)
    assert info.value.key == key


def test_a_gateway_that_hangs_after_the_request_is_an_unknown_outcome(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    from notifyd.errors import OutcomeUnknown

    sandbox_call(
        sandbox, "POST", "/_sandbox/faults", {"provider": "gateway", "kind": "hang", "seconds": 3}
    )
    with pytest.raises(OutcomeUnknown, match="no answer within 0.3 s"):
        send(make(sandbox, receiver, tmp_path, timeout=0.3), Message(1, TO, "id", "teks"))


def test_a_gateway_field_carries_the_attempt_id_and_its_reports_bring_it_back(
    env: None, sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    body = {"to": "{to}", "text": "{text}", "client_ref": "{attempt_id}"}
    receipts = {**options(sandbox)["receipts"], "attempt_path": "client_ref"}
    ch = make(sandbox, receiver, tmp_path, body_json=body, receipts=receipts)
    send(ch, Message(5, TO, "id", TEXT, attempt_id=314))
    (req,) = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=gateway")
    assert req["body"]["client_ref"] == "314"
    ch = channel("http-sms", "gateway", options(sandbox, body_json=body, receipts=receipts),
                 tmp_path)  # fmt: skip
    report = {"message_id": "gw-1", "status": "delivered", "client_ref": "314"}
    headers = {"x-gateway-secret": "sandbox-gateway-key"}
    hook = WebhookRequest("POST", "https://x/hooks/gateway", headers, {},
                          json.dumps(report).encode())  # fmt: skip
    assert [(r.provider_id, r.attempt_id) for r in ch.handle_webhook(hook).receipts] == [
        ("gw-1", 314)
    ]
    deep = WebhookRequest("POST", "https://x/hooks/gateway", headers, {}, b"[" * 5000)
    assert ch.handle_webhook(deep).status == 400
