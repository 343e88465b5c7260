"""The provider sandbox itself: loopback only, control endpoints, the providers' own rules."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from conftest import ogg_voice_note, sandbox_call
from notifyd.cli.main import main
from notifyd.sandbox.app import Background, check_loopback
from notifyd.sandbox.rules import Settings

HEADERS = {"Authorization": "Bearer sandbox-token", "Content-Type": "application/json"}
MESSAGES = "/v23.0/106540352242922/messages"


def post(
    server: Any, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    req = urllib.request.Request(
        server.url + path, data=json.dumps(body).encode(), headers=headers or HEADERS, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org"])
def test_it_refuses_to_listen_beyond_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        check_loopback(host)
    assert main(["sandbox", "--listen", f"{host}:8788"]) == 1


def test_the_command_serves_until_stopped(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "notifyd.cli",
            "sandbox",
            "--listen",
            f"127.0.0.1:{port}",
            "--fault",
            "whatsapp:+6281:not_on_whatsapp",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert f"notifyd sandbox on http://127.0.0.1:{port}" in proc.stdout.readline()
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/faults") as r:
                    faults = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.1)
        assert [(f["provider"], f["to"], f["kind"]) for f in faults] == [
            ("whatsapp", "+6281", "not_on_whatsapp")
        ]
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_fault_rule_with_an_unknown_kind_is_refused(sandbox: Any) -> None:
    status, body = post(sandbox, "/_sandbox/faults", {"kind": "gremlins"})
    assert status == 400 and "gremlins" in body["error"]


def test_a_counted_fault_hits_that_many_requests_then_goes(sandbox: Any) -> None:
    sandbox_call(sandbox, "POST", "/_sandbox/faults", {"kind": "http", "status": 502, "times": 2})
    template = {
        "messaging_product": "whatsapp",
        "to": "628123",
        "type": "template",
        "template": {"name": "t", "language": {"code": "id"}},
    }
    statuses = [post(sandbox, MESSAGES, template)[0] for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert len(sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=whatsapp")) == 3


def test_free_form_messages_need_the_window_and_a_tap_opens_it(sandbox: Any) -> None:
    text = {"messaging_product": "whatsapp", "to": "628123", "type": "text", "text": {"body": "hi"}}
    status, body = post(sandbox, MESSAGES, text)
    assert status == 400 and body["error"]["code"] == 131047
    assert set(body["error"]) >= {"message", "type", "code", "error_data", "fbtrace_id"}
    sandbox_call(sandbox, "POST", "/_sandbox/inbound", {"from": "+628123", "text": "halo"})
    assert post(sandbox, MESSAGES, text)[0] == 200


def test_the_token_and_the_product_are_checked(sandbox: Any) -> None:
    body = {
        "messaging_product": "whatsapp",
        "to": "628123",
        "type": "template",
        "template": {"name": "t", "language": {"code": "id"}},
    }
    status, err = post(
        sandbox, MESSAGES, body, {"Authorization": "Bearer x", "Content-Type": "application/json"}
    )
    assert (status, err["error"]["code"]) == (401, 190)
    status, err = post(sandbox, MESSAGES, {**body, "messaging_product": "sms"})
    assert (status, err["error"]["code"]) == (400, 100)


def upload(server: Any, data: bytes) -> tuple[int, Any]:
    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="messaging_product"\r\n\r\n'
        "whatsapp\r\n",
        f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\naudio/ogg\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.ogg"\r\n'
        "Content-Type: audio/ogg\r\n\r\n",
    ]
    body = "".join(parts).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(
        server.url + "/v23.0/1/media",
        data=body,
        method="POST",
        headers={
            "Authorization": "Bearer sandbox-token",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_an_upload_must_really_be_ogg_opus(sandbox: Any, tmp_path: Path) -> None:
    assert upload(sandbox, b"ID3 an mp3 pretending")[0] == 400
    status, body = upload(sandbox, ogg_voice_note(tmp_path / "n.ogg").read_bytes())
    assert status == 200 and body["id"].isdigit()


def test_rate_limits_are_off_unless_asked_for() -> None:
    server = Background(Settings(port=0, rate_limit=2)).start()
    try:
        body = {
            "messaging_product": "whatsapp",
            "to": "628123",
            "type": "template",
            "template": {"name": "t", "language": {"code": "id"}},
        }
        codes = [post(server, MESSAGES, body)[1].get("error", {}).get("code") for _ in range(5)]
        assert 130429 in codes and codes[0] is None
    finally:
        server.stop()
    assert Settings().rate_limit == 0


def test_a_call_with_a_twiml_url_fetches_it_signed_as_twilio_signs(
    sandbox: Any, receiver: Any, tmp_path: Path
) -> None:
    import base64

    from notifyd.hookspecs import WebhookResult
    from notifyd.web.signatures import verify_twilio

    seen = []

    def twiml(request: Any) -> WebhookResult:
        from urllib.parse import parse_qsl

        params = parse_qsl(request.body.decode())
        seen.append(
            verify_twilio(
                request.url,
                params,
                request.headers.get("x-twilio-signature", ""),
                "sandbox-auth-token",
            )
        )
        return WebhookResult(
            body="<Response><Play>https://127.0.0.1:9/none.mp3</Play></Response>",
            content_type="application/xml",
        )

    receiver.handlers["twiml"] = twiml
    sid = "AC" + "5a" * 16
    auth = base64.b64encode(f"{sid}:sandbox-auth-token".encode()).decode()
    form = f"To=%2B6281234567001&From=%2B15005550006&Url={receiver.url}/twiml".encode()
    req = urllib.request.Request(
        f"{sandbox.url}/2010-04-01/Accounts/{sid}/Calls.json",
        data=form,
        headers={"Authorization": f"Basic {auth}"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        call_sid = json.loads(resp.read())["sid"]
    sandbox_call(sandbox, "POST", "/_sandbox/idle")
    assert seen == [True]
    (play,) = sandbox_call(sandbox, "GET", "/_sandbox/calls")[call_sid]["plays"]
    assert play["ok"] is False and "fetch failed" in play["problem"]


def test_a_voice_note_over_512_kb_goes_but_is_flagged_as_a_download(
    sandbox: Any, tmp_path: Path
) -> None:
    big = ogg_voice_note(tmp_path / "n.ogg").read_bytes() + b"\0" * (600 * 1024)
    status, media = upload(sandbox, big)
    assert status == 200
    sandbox_call(sandbox, "POST", "/_sandbox/inbound", {"from": "+628123", "text": "halo"})
    audio = {
        "messaging_product": "whatsapp",
        "to": "628123",
        "type": "audio",
        "audio": {"id": media["id"], "voice": True},
    }
    assert post(sandbox, MESSAGES, audio)[0] == 200
    last = sandbox_call(sandbox, "GET", "/_sandbox/requests?provider=whatsapp")[-1]
    assert "shown as a download" in last["warning"]


@pytest.mark.parametrize("rule", ["whatsapp:+6281:gremlins", "pigeon:+6281:busy", "nothing"])
def test_a_bad_fault_rule_on_the_command_line_is_named(
    rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", "--listen", "127.0.0.1:1", "--fault", rule]) == 1
    assert f"--fault {rule!r}" in capsys.readouterr().err
