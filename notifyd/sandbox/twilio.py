"""Twilio's Messages resource as the official SDK uses it, with signed status callbacks.

Messages: https://www.twilio.com/docs/messaging/api/message-resource (201 + the resource);
status callbacks: https://www.twilio.com/docs/messaging/guides/track-outbound-message-status.
Errors come from twilio_rules; calls live in twilio_calls, GET and list in twilio_read.
Callbacks are signed with Twilio's own RequestValidator, so notifyd's check meets the real one.
"""

from __future__ import annotations

import asyncio
import base64
import time
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from notifyd.sandbox.rules import Fault
from notifyd.sandbox.state import SANDBOX, Sandbox, as_json, new_id
from notifyd.sandbox.twilio_rules import (
    code_for_status,
    message_problem,
    num_segments,
    twilio_error,
)

API = "2010-04-01"


def sign(sb: Sandbox, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature as Twilio computes it (its own library, a dev-only dependency)."""
    try:
        from twilio.request_validator import RequestValidator
    except ImportError as exc:  # pragma: no cover - the sandbox extra is missing
        raise RuntimeError(
            "the sandbox needs the twilio package: pip install notifyd[sandbox]"
        ) from exc
    return str(RequestValidator(sb.settings.twilio_token).compute_signature(url, params))


async def signed_post(sb: Sandbox, kind: str, url: str, params: dict[str, str]) -> int:
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(sb, url, params),
    }
    return await sb.post(kind, url, urlencode(params).encode(), headers)


def auth_error(sb: Sandbox, request: web.Request) -> web.Response | None:
    """HTTP basic auth with the account SID and auth token, and the SID in the path."""
    pair = f"{sb.settings.twilio_sid}:{sb.settings.twilio_token}".encode()
    expected = "Basic " + base64.b64encode(pair).decode()
    if request.match_info["sid"] != sb.settings.twilio_sid or (
        request.headers.get("Authorization", "") != expected
    ):
        return twilio_error(20003, 401)
    return None


async def read_form(
    sb: Sandbox, request: web.Request, kind: str
) -> tuple[dict[str, str], list[str], web.Response | None]:
    """The form (last value of each name), StatusCallbackEvent's values, and an auth or
    rate error if there is one."""
    post = await request.post()
    form = {k: str(v) for k, v in post.items()}
    events = " ".join(str(v) for v in post.getall("StatusCallbackEvent", [])).split()
    sb.record(kind, request, form)
    if (err := auth_error(sb, request)) is not None:
        return form, events, err
    if sb.over_rate(kind):
        return form, events, twilio_error(20429, 429)
    return form, events, None


def fault_answer(fault: Fault | None, to: str) -> web.Response | None:
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
        return twilio_error(fault.code or code_for_status(status), status, **ra)
    return None


def now_rfc2822() -> str:
    return formatdate(usegmt=True).replace("GMT", "+0000")


def resource(sb: Sandbox, kind: str, sid: str, form: dict[str, str], **extra: Any) -> dict:
    now = now_rfc2822()
    plural = "Messages" if kind == "message" else "Calls"
    return {
        "sid": sid,
        "account_sid": sb.settings.twilio_sid,
        "api_version": API,
        "to": form.get("To"),
        "from": form.get("From"),
        "date_created": now,
        "date_updated": now,
        "direction": "outbound-api",
        "price": None,
        "price_unit": "USD",
        "error_code": None,
        "error_message": None,
        "uri": f"/{API}/Accounts/{sb.settings.twilio_sid}/{plural}/{sid}.json",
        "_created": time.time(),  # for the sandbox's own sorting; never shown to clients
        **extra,
    }


async def create_message(request: web.Request) -> web.Response:
    """POST /2010-04-01/Accounts/{Sid}/Messages.json, form-encoded, basic auth → 201."""
    sb = request.app[SANDBOX]
    form, _, err = await read_form(sb, request, "twilio-sms")
    if err is not None:
        return err
    if (problem := message_problem(form)) is not None:
        return twilio_error(problem[0], 400, problem[1])
    fault = sb.fault("twilio-sms", form["To"])
    if fault is not None and fault.kind == "hang":
        await asyncio.sleep(fault.seconds)
    elif (answer := fault_answer(fault, form["To"])) is not None:
        return answer
    sid = new_id("SM")
    service = form.get("MessagingServiceSid")
    body = form.get("Body", "")
    media = [form["MediaUrl"]] if form.get("MediaUrl") else []
    msg = resource(
        sb,
        "message",
        sid,
        form,
        body=body,
        num_segments=num_segments(body),
        num_media=str(len(media)),
        messaging_service_sid=service,
        status="accepted" if service else "queued",
        date_sent=None,
        subresource_uris={
            "media": f"/{API}/Accounts/{sb.settings.twilio_sid}/Messages/{sid}/Media.json"
        },
    )
    sb.resources[sid] = msg
    sb.show("twilio-sms", form["To"], sid, "sms", text=body, status=msg["status"])
    late = fault is not None and fault.kind == "late_failure"
    code = (fault.code if fault else 0) or 30003
    sb.later(lambda: _message_statuses(sb, msg, form, late, code))
    return as_json(public(msg), 201)


def public(res: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in res.items() if not k.startswith("_")}


async def _message_statuses(sb: Sandbox, msg: dict, form: dict, late: bool, code: int) -> None:
    """sent, then delivered or undelivered: MessageSid, MessageStatus, SmsStatus, ErrorCode …
    (no callback for the initial `queued`/`accepted`:
    twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks)."""
    url = form.get("StatusCallback", "")
    base = {
        "AccountSid": sb.settings.twilio_sid,
        "ApiVersion": API,
        "From": form.get("From", ""),
        "To": form["To"],
        "MessageSid": msg["sid"],
        "SmsSid": msg["sid"],
    }
    if form.get("MessagingServiceSid"):
        base["MessagingServiceSid"] = form["MessagingServiceSid"]
    for status in ("sent", "undelivered" if late else "delivered"):
        msg.update(status=status, date_updated=now_rfc2822())
        if status == "sent":
            msg["date_sent"] = msg["date_updated"]
            msg["price"] = f"-{0.0075 * int(msg['num_segments'] or 1):.4f}"
        params = {**base, "MessageStatus": status, "SmsStatus": status}
        if status == "undelivered":
            params["ErrorCode"] = str(code)
            msg.update(error_code=code, error_message=f"Twilio error {code}")
        sb.set_status(msg["sid"], status)
        await signed_post(sb, "twilio-sms", url, params)


async def inbound(sb: Sandbox, frm: str, text: str, to: str = "+15005550006") -> dict[str, Any]:
    """An SMS from the person (e.g. STOP) to the number's messaging webhook."""
    params = {
        "MessageSid": new_id("SM"),
        "SmsSid": "",
        "AccountSid": sb.settings.twilio_sid,
        "From": frm,
        "To": to,
        "Body": text,
        "NumMedia": "0",
        "NumSegments": num_segments(text),
        "SmsStatus": "received",
        "ApiVersion": API,
    }
    params["SmsSid"] = params["MessageSid"]
    url = sb.settings.hook("sms", sb.settings.twilio_inbound_url)
    return {"webhook_status": await signed_post(sb, "twilio-sms", url, params)}
