"""The sandbox driven by Twilio's official Python SDK, its base URL pointed at the sandbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twins import FROM, SID, TO, TOKEN

from conftest import sandbox_call
from notifyd.hookspecs import WebhookRequest, WebhookResult
from notifyd.sandbox.twilio_rules import MESSAGES
from notifyd.web.signatures import verify_twilio

TWIML = "<Response><Say>Izin tinggal Anda berakhir.</Say></Response>"


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("é" * 200, 2),  # é is in the GSM-7 basic table: 200 septets
        ("ê" * 200, 3),  # ê is not: UCS-2, 67 per part
        ("€" * 80, 1),  # the extension table: two septets each, 160 in one part
        ("€" * 81, 2),
        ("😀" * 35, 1),  # two UTF-16 units each: 70
        ("😀" * 36, 2),
    ],
)
def test_a_message_counts_segments_as_twilio_does(
    twilio: Any, sandbox: Any, body: str, segments: int
) -> None:
    msg = twilio.messages.create(to=TO, from_=FROM, body=body)
    assert (msg.status, msg.num_segments) == ("queued", str(segments))
    assert msg.body == body and msg.sid.startswith("SM")


def test_a_fetched_message_has_the_status_it_reached(twilio: Any, sandbox: Any) -> None:
    msg = twilio.messages.create(to=TO, messaging_service_sid="MG" + "1" * 32, body="halo")
    assert msg.status == "accepted"
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    fetched = twilio.messages(msg.sid).fetch()
    assert (fetched.sid, fetched.status, fetched.error_code) == (msg.sid, "delivered", None)
    assert fetched.date_sent is not None and fetched.price is not None


def test_messages_list_newest_first_page_by_page_and_filter(twilio: Any, sandbox: Any) -> None:
    other = "+6281234567002"
    sids = [
        twilio.messages.create(to=TO if i % 2 else other, from_=FROM, body=f"m{i}").sid
        for i in range(5)
    ]
    assert [m.sid for m in twilio.messages.list(page_size=2)] == sids[::-1]
    first = twilio.messages.page(page_size=2)
    assert [m.sid for m in first] == sids[4:2:-1] and first.next_page_url is not None
    assert [m.sid for m in first.next_page()] == sids[2:0:-1]
    assert [m.sid for m in twilio.messages.list(to=TO)] == [sids[3], sids[1]]


def test_a_call_is_fetched_and_listed_with_its_outcome(
    twilio: Any, sandbox: Any, receiver: Any
) -> None:
    seen: list[dict[str, str]] = []

    def hook(request: WebhookRequest) -> WebhookResult:
        params = parse_qsl(request.body.decode())
        sig = request.headers.get("x-twilio-signature", "")
        assert verify_twilio(request.url, params, sig, "sandbox-auth-token")
        seen.append(dict(params))
        return WebhookResult()

    receiver.handlers["call"] = hook
    call = twilio.calls.create(
        to=TO,
        from_=FROM,
        twiml=TWIML,
        status_callback=receiver.url + "/call",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    assert call.status == "queued"
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    fetched = twilio.calls(call.sid).fetch()
    assert (fetched.status, fetched.duration) == ("completed", "0")
    assert [c.sid for c in twilio.calls.list(status="completed")] == [call.sid]
    assert twilio.calls.list(status="busy") == []
    assert [p["CallStatus"] for p in seen] == ["queued", "ringing", "in-progress", "completed"]
    assert seen[-1]["CallDuration"] == "0" and seen[-1]["SequenceNumber"] == "3"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": TO, "body": "no sender"}, 21603),
        ({"to": "not-a-phone", "from_": FROM, "body": "x"}, 21211),
        ({"to": TO, "from_": FROM, "body": "x" * 1700}, 21617),
        ({"to": TO, "from_": FROM}, 21602),
    ],
)
def test_messages_twilio_refuses_are_refused_with_its_code(
    twilio: Any, sandbox: Any, kwargs: dict[str, str], code: int
) -> None:
    with pytest.raises(TwilioRestException) as info:
        twilio.messages.create(**kwargs)
    assert (info.value.code, info.value.status) == (code, 400)
    assert info.value.msg.startswith("Unable to create record: ") and MESSAGES[code] in (
        info.value.msg.replace("not-a-phone", "{to}")
    )
    assert sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=twilio-sms")  # it arrived


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": TO, "from_": "", "twiml": TWIML}, 21213),  # the SDK needs from_
        ({"to": TO, "from_": FROM}, 21205),
        ({"to": "12", "from_": FROM, "twiml": TWIML}, 21211),
    ],
)
def test_calls_twilio_refuses_are_refused_with_its_code(
    twilio: Any, kwargs: dict[str, str], code: int
) -> None:
    with pytest.raises(TwilioRestException) as info:
        twilio.calls.create(**kwargs)
    assert (info.value.code, info.value.status) == (code, 400)
    assert info.value.msg.endswith(MESSAGES[code].format(to="12"))


def test_unknown_resources_and_bad_credentials_answer_as_twilio(twilio: Any, sandbox: Any) -> None:
    from twilio.rest import Client

    with pytest.raises(TwilioRestException) as info:
        twilio.messages("SM" + "0" * 32).fetch()
    assert (info.value.code, info.value.status) == (20404, 404)
    stranger = Client(twilio.username, "wrong-token")
    stranger.api.base_url = sandbox.url
    with pytest.raises(TwilioRestException) as info:
        stranger.messages.create(to=TO, from_=FROM, body="x")
    assert (info.value.code, info.value.status) == (20003, 401)
    assert info.value.details == {"detail": "Your AccountSid or AuthToken was incorrect."}


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503), (429, 20429)])
def test_an_error_body_has_every_field_twilio_documents(
    sandbox: Any, status: int, code: int
) -> None:
    """{code, message, more_info, status}: the SDKs read these (twilios-response docs)."""
    sandbox_call(sandbox, "POST", "/_sandbox/faults", {"kind": "http", "status": status})
    answer = httpx.post(
        f"{sandbox.url}/2010-04-01/Accounts/{SID}/Messages.json",
        data={"To": TO, "From": FROM, "Body": "x"},
        auth=(SID, TOKEN),
    )
    assert answer.status_code == status
    assert answer.json() == {
        "code": code,
        "message": MESSAGES[code],
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def test_an_unserved_method_or_path_is_a_twilio_error_not_plain_text(sandbox: Any) -> None:
    base = f"{sandbox.url}/2010-04-01/Accounts/{SID}"
    wrong_method = httpx.delete(f"{base}/Messages.json", auth=(SID, TOKEN))
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, 20004)
    nowhere = httpx.get(f"{base}/Recordings.json", auth=(SID, TOKEN))
    assert (nowhere.status_code, nowhere.json()["code"]) == (404, 20404)
