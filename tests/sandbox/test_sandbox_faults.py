"""Every failure rule `notifyd sandbox --help` lists is reachable from Twilio's SDK and from
pywa wherever that provider's API has the failure."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests
from pywa.errors import WhatsAppError
from pywa.types.templates import TemplateLanguage
from twilio.base.exceptions import TwilioRestException
from twins import FROM, TO, close, pywa_client, twilio_client

from conftest import sandbox_call
from notifyd.cli.main import main

WA = TO.lstrip("+")
TWIML = "<Response><Say>Halo</Say></Response>"


def sms(sandbox: Any, **options: Any) -> Any:
    client = twilio_client(sandbox, **options)
    try:
        return client.messages.create(to=TO, from_=FROM, body="halo")
    finally:
        close(client)


def call(sandbox: Any, **options: Any) -> Any:
    client = twilio_client(sandbox, **options)
    try:
        return client.calls.create(to=TO, from_=FROM, twiml=TWIML)
    finally:
        close(client)


def template(sandbox: Any, **options: Any) -> Any:
    wa = pywa_client(sandbox, **options)
    try:
        return wa.send_template(to=WA, name="t", language=TemplateLanguage.INDONESIAN)
    finally:
        close(wa)


def twilio_code(code: int) -> Callable[[Any, Callable[..., Any]], None]:
    def check(sandbox: Any, send: Callable[..., Any]) -> None:
        with pytest.raises(TwilioRestException) as info:
            send(sandbox)
        assert info.value.code == code

    return check


def graph_code(code: int) -> Callable[[Any, Callable[..., Any]], None]:
    def check(sandbox: Any, send: Callable[..., Any]) -> None:
        with pytest.raises(WhatsAppError) as info:
            send(sandbox)
        assert info.value.code == code

    return check


def times_out(error: type[Exception]) -> Callable[[Any, Callable[..., Any]], None]:
    def check(sandbox: Any, send: Callable[..., Any]) -> None:
        with pytest.raises(error):
            send(sandbox, timeout=0.3)

    return check


def final_status(expected: str, code: int | None = None) -> Callable[[Any, Callable], None]:
    """Accepted, then the resource (fetched with the SDK) ends as `expected`."""

    def check(sandbox: Any, send: Callable[..., Any]) -> None:
        sid = send(sandbox).sid
        sandbox_call(sandbox, "POST", "/_sandbox/idle")
        client = twilio_client(sandbox)
        res = (client.messages if sid.startswith("SM") else client.calls)(sid).fetch()
        close(client)
        assert res.status == expected
        if code is not None:
            assert res.error_code == code

    return check


def late_wa_failure(sandbox: Any, send: Callable[..., Any]) -> None:
    wamid = send(sandbox).id
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    assert [i["status"] for i in sandbox.state.feed if i["id"] == wamid] == ["failed"]


#: kind → [(provider, the client's send, what it must see)]
CASES: dict[str, list[tuple[str, Callable[..., Any], Callable[..., None]]]] = {
    "http": [
        ("twilio-sms", sms, twilio_code(20503)),
        ("twilio-call", call, twilio_code(20503)),
        ("whatsapp", template, graph_code(131000)),
    ],
    "rate_limit": [
        ("twilio-sms", sms, twilio_code(20429)),
        ("twilio-call", call, twilio_code(20429)),
        ("whatsapp", template, graph_code(130429)),
    ],
    "hang": [
        ("twilio-sms", sms, times_out(requests.exceptions.Timeout)),
        ("twilio-call", call, times_out(requests.exceptions.Timeout)),
        ("whatsapp", template, times_out(httpx.TimeoutException)),
    ],
    "invalid_number": [
        ("twilio-sms", sms, twilio_code(21211)),
        ("twilio-call", call, twilio_code(21211)),
        ("whatsapp", template, graph_code(100)),
    ],
    "not_on_whatsapp": [("whatsapp", template, graph_code(131026))],
    "window_closed": [("whatsapp", template, graph_code(131047))],
    "pair_rate": [("whatsapp", template, graph_code(131056))],
    "opt_out": [("twilio-sms", sms, twilio_code(21610))],
    "not_mobile": [("twilio-sms", sms, twilio_code(21614))],
    "late_failure": [
        ("twilio-sms", sms, final_status("undelivered", 30003)),
        ("whatsapp", template, late_wa_failure),
    ],
    "busy": [("twilio-call", call, final_status("busy"))],
    "no_answer": [("twilio-call", call, final_status("no-answer"))],
}


def test_every_fault_rule_in_the_help_has_its_cases(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sandbox", "--help"])
    helptext = " ".join(capsys.readouterr().out.split())
    listed = re.search(r"kinds (.+?)(?: --|$)", helptext)
    assert listed is not None
    kinds = [k.strip() for k in listed.group(1).split(",")]
    assert sorted(kinds) == sorted(CASES) and len(kinds) == 12


@pytest.mark.parametrize(
    ("kind", "provider", "send", "check"),
    [(kind, *case) for kind, cases in CASES.items() for case in cases],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_fault_rule_reaches_the_client(
    sandbox: Any, kind: str, provider: str, send: Callable[..., Any], check: Callable[..., None]
) -> None:
    rule = {"kind": kind, "provider": provider, "to": TO, "times": 1, "seconds": 1.0}
    if kind == "http":
        rule["status"] = 503
    sandbox_call(sandbox, "POST", "/_sandbox/faults", rule)
    check(sandbox, send)
    assert sandbox_call(sandbox, "GET", "/_sandbox/faults") == []  # used up by this request
