"""Twilio's Messages and Calls resources as notifyd uses them, with signed status callbacks.

Messages: https://www.twilio.com/docs/messaging/api/message-resource (201 + the resource);
Calls: https://www.twilio.com/docs/voice/api/call-resource; errors, as Twilio answers them:
{"code", "message", "more_info", "status"} (https://www.twilio.com/docs/usage/twilios-response).
Callbacks are signed with Twilio's own RequestValidator, so notifyd's check meets the real one.
"""

from __future__ import annotations

import asyncio
import base64
import io
import time
import wave
import xml.etree.ElementTree as ET
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from notifyd.sandbox.rules import Fault
from notifyd.sandbox.state import SANDBOX, Sandbox, as_json, new_id

MESSAGES = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "The 'To' number {to} is not a valid phone number.",
    21602: "Message body is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}


def twilio_error(code: int, status: int = 400, to: str = "", **headers: str) -> web.Response:
    body = {
        "code": code,
        "message": MESSAGES.get(code, "Error").format(to=to),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return as_json(body, status, headers or None)


def sign(sb: Sandbox, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature as Twilio computes it (its own library, a dev-only dependency)."""
    try:
        from twilio.request_validator import RequestValidator
    except ImportError as exc:  # pragma: no cover - the sandbox extra is missing
        raise RuntimeError(
            "the sandbox needs the twilio package: pip install notifyd[sandbox]"
        ) from exc
    return str(RequestValidator(sb.settings.twilio_token).compute_signature(url, params))


async def _signed_post(sb: Sandbox, kind: str, url: str, params: dict[str, str]) -> int:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(sb, url, params),
    }
    return await sb.post(kind, url, urlencode(params).encode(), headers)


async def _form(sb: Sandbox, request: web.Request, kind: str) -> tuple[dict[str, str], Any]:
    form = {k: str(v) for k, v in (await request.post()).items()}
    sb.record(kind, request, form)
    expected = (
        "Basic "
        + base64.b64encode(f"{sb.settings.twilio_sid}:{sb.settings.twilio_token}".encode()).decode()
    )
    if request.match_info["sid"] != sb.settings.twilio_sid or (
        request.headers.get("Authorization", "") != expected
    ):
        return form, twilio_error(20003, 401)
    if sb.over_rate(kind):
        return form, twilio_error(20429, 429)
    return form, None


def _fault_answer(fault: Fault | None, to: str) -> web.Response | None:
    if fault is None:
        return None
    ra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    simple = {"invalid_number": 21211, "opt_out": 21610, "not_mobile": 21614}
    if fault.kind in simple:
        return twilio_error(fault.code or simple[fault.kind], fault.status or 400, to)
    if fault.kind == "rate_limit":
        return twilio_error(fault.code or 20429, 429, **ra)
    if fault.kind == "http":
        status = fault.status or 500
        return twilio_error(fault.code or (20429 if status == 429 else 20500), status, **ra)
    return None


def _resource(sb: Sandbox, kind: str, sid: str, form: dict[str, str], **extra: Any) -> dict:
    now = formatdate(usegmt=True).replace("GMT", "+0000")
    plural = "Messages" if kind == "message" else "Calls"
    return {
        "sid": sid,
        "account_sid": sb.settings.twilio_sid,
        "api_version": "2010-04-01",
        "to": form.get("To"),
        "from": form.get("From"),
        "date_created": now,
        "date_updated": now,
        "direction": "outbound-api",
        "price": None,
        "price_unit": "USD",
        "error_code": None,
        "error_message": None,
        "uri": f"/2010-04-01/Accounts/{sb.settings.twilio_sid}/{plural}/{sid}.json",
        **extra,
    }


async def create_message(request: web.Request) -> web.Response:
    """POST /2010-04-01/Accounts/{Sid}/Messages.json, form-encoded, basic auth → 201."""
    sb = request.app[SANDBOX]
    form, err = await _form(sb, request, "twilio-sms")
    if err is not None:
        return err
    if not form.get("To"):
        return twilio_error(21604)
    if not form.get("Body"):
        return twilio_error(21602)
    fault = sb.fault("twilio-sms", form["To"])
    if fault is not None and fault.kind == "hang":
        await asyncio.sleep(fault.seconds)
    elif (answer := _fault_answer(fault, form["To"])) is not None:
        return answer
    sid = new_id("SM")
    service = form.get("MessagingServiceSid")
    late = fault is not None and fault.kind == "late_failure"
    code = (fault.code if fault else 0) or 30003
    sb.later(lambda: _message_statuses(sb, sid, form, late, code))
    body = _resource(
        sb,
        "message",
        sid,
        form,
        body=form["Body"],
        num_segments="1",
        num_media="0",
        messaging_service_sid=service,
        status="accepted" if service else "queued",
        date_sent=None,
        subresource_uris={
            "media": f"/2010-04-01/Accounts/{sb.settings.twilio_sid}/Messages/{sid}/Media.json"
        },
    )
    return as_json(body, 201)


async def _message_statuses(sb: Sandbox, sid: str, form: dict, late: bool, code: int) -> None:
    """Status callbacks: MessageSid, MessageStatus, ErrorCode … (no callback for `queued`:
    twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks)."""
    url = form.get("StatusCallback", "")
    base = {
        "AccountSid": sb.settings.twilio_sid,
        "ApiVersion": "2010-04-01",
        "From": form.get("From", ""),
        "To": form["To"],
        "MessageSid": sid,
        "SmsSid": sid,
    }
    for status in ("sent", "undelivered" if late else "delivered"):
        params = {**base, "MessageStatus": status, "SmsStatus": status}
        if status == "undelivered":
            params["ErrorCode"] = str(code)
        await _signed_post(sb, "twilio-sms", url, params)


async def create_call(request: web.Request) -> web.Response:
    """POST /2010-04-01/Accounts/{Sid}/Calls.json with To, From, Url or Twiml, StatusCallback."""
    sb = request.app[SANDBOX]
    form, err = await _form(sb, request, "twilio-call")
    if err is not None:
        return err
    if not form.get("To"):
        return twilio_error(21604)
    if not form.get("Url") and not form.get("Twiml"):
        return twilio_error(21205, 400)  # "Url parameter is required"
    fault = sb.fault("twilio-call", form["To"])
    if fault is not None and fault.kind == "hang":
        await asyncio.sleep(fault.seconds)
    elif (answer := _fault_answer(fault, form["To"])) is not None:
        return answer
    sid = new_id("CA")
    outcome = {"busy": "busy", "no_answer": "no-answer"}.get(fault.kind if fault else "", "")
    sb.calls[sid] = {"to": form["To"], "plays": [], "status": "queued"}
    sb.later(lambda: _run_call(sb, sid, form, outcome))
    return as_json(_resource(sb, "call", sid, form, status="queued", duration=None), 201)


async def _run_call(sb: Sandbox, sid: str, form: dict[str, str], outcome: str) -> None:
    """Ring; if answered, fetch the TwiML and every <Play> URL for real, then report."""
    call = sb.calls[sid]
    seconds = 0.0
    if not outcome:
        twiml = form.get("Twiml", "")
        if not twiml:
            twiml = await _fetch_twiml(sb, sid, form)
        for url in _play_urls(twiml):
            check = await _fetch_audio(url)
            call["plays"].append(check)
            seconds += check.get("seconds", 0.0)
    call["status"] = outcome or "completed"
    params = {
        "AccountSid": sb.settings.twilio_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": call["status"],
        "Direction": "outbound-api",
        "From": form.get("From", ""),
        "To": form["To"],
        "CallDuration": str(round(seconds)),
        "Timestamp": formatdate(usegmt=True),
    }
    await _signed_post(sb, "twilio-call", form.get("StatusCallback", ""), params)


async def _fetch_twiml(sb: Sandbox, sid: str, form: dict[str, str]) -> str:
    params = {
        "CallSid": sid,
        "AccountSid": sb.settings.twilio_sid,
        "From": form.get("From", ""),
        "To": form["To"],
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
    }
    headers = {"X-Twilio-Signature": sign(sb, form["Url"], params)}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as client:
        async with client.post(form["Url"], data=params, headers=headers) as resp:
            return await resp.text()


def _play_urls(twiml: str) -> list[str]:
    """<Response><Play>URL</Play></Response>: https://www.twilio.com/docs/voice/twiml/play"""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError:
        return []
    return [(el.text or "").strip() for el in root.iter("Play")]


async def _fetch_audio(url: str) -> dict[str, Any]:
    """What Twilio would play: it fetches the file; WAV (here: 8 kHz, telephony) or MP3."""
    check: dict[str, Any] = {"url": url, "at": time.time()}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as client:
            async with client.get(url) as resp:
                check["status"] = resp.status
                check["content_type"] = resp.headers.get("Content-Type", "")
                data = await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        check.update(ok=False, problem=f"fetch failed: {exc}")
        return check
    if check["status"] != 200:
        check.update(ok=False, problem=f"HTTP {check['status']}")
    elif data[:4] == b"RIFF":
        try:
            with wave.open(io.BytesIO(data)) as w:
                rate, frames = w.getframerate(), w.getnframes()
        except (wave.Error, EOFError) as exc:
            check.update(ok=False, problem=f"bad WAV: {exc}")
            return check
        check.update(
            format="wav",
            rate=rate,
            seconds=frames / rate,
            ok=rate == 8000,
            problem="" if rate == 8000 else f"WAV at {rate} Hz, not 8 kHz",
        )
    elif data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        check.update(format="mp3", ok=True, problem="")
    else:
        check.update(ok=False, problem="neither WAV nor MP3")
    return check


async def inbound(sb: Sandbox, frm: str, text: str, to: str = "+15005550006") -> dict[str, Any]:
    """An SMS from the person (e.g. STOP) to the number's messaging webhook."""
    params = {
        "MessageSid": new_id("SM"),
        "AccountSid": sb.settings.twilio_sid,
        "From": frm,
        "To": to,
        "Body": text,
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
    }
    url = sb.settings.hook("sms", sb.settings.twilio_inbound_url)
    return {"webhook_status": await _signed_post(sb, "twilio-sms", url, params)}


def add_routes(app: web.Application) -> None:
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", create_message)
    app.router.add_post("/2010-04-01/Accounts/{sid}/Calls.json", create_call)
