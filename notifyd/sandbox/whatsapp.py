"""The WhatsApp Cloud API as notifyd uses it: media upload, messages, status and reply webhooks.

Shapes follow Meta's references (cited per handler); error bodies are Graph API errors:
https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from aiohttp import BodyPartReader, web

from notifyd.sandbox.rules import Fault
from notifyd.sandbox.state import SANDBOX, Sandbox, as_json, new_id

WINDOW = 24 * 3600
VOICE_LIMIT = 512 * 1024
#: code → (message title, what the sandbox says in error_data.details)
ERRORS = {
    100: ("(#100) Invalid parameter", "Invalid parameter"),
    190: ("Error validating access token", "The access token could not be decrypted"),
    131026: ("(#131026) Message undeliverable", "Recipient is not a valid WhatsApp user"),
    131047: (
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the "
        "customer last replied to this number.",
    ),
    130429: ("(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
    131056: (
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from this phone number to the same phone number "
        "in a short period of time.",
    ),
    131000: ("(#131000) Something went wrong", "Something went wrong"),
}


def graph_error(code: int, status: int = 400, details: str = "", **headers: str) -> web.Response:
    """{"error": {message, type, code, error_data, error_subcode, fbtrace_id}}, as Graph sends."""
    title, default = ERRORS.get(code, (f"(#{code}) Error", "Error"))
    kind = "OAuthException"
    body = {
        "error": {
            "message": title,
            "type": kind,
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details or default},
            "error_subcode": 2494010 if code == 131026 else None,
            "fbtrace_id": new_id("A", 22),
        }
    }
    if body["error"]["error_subcode"] is None:
        del body["error"]["error_subcode"]
    return as_json(body, status, headers or None)


def _auth_error(sb: Sandbox, request: web.Request) -> web.Response | None:
    if request.headers.get("Authorization", "") != f"Bearer {sb.settings.wa_token}":
        return graph_error(190, 401)
    return None


def _fault_answer(fault: Fault) -> web.Response | None:
    ra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    simple = {
        "not_on_whatsapp": 131026,
        "window_closed": 131047,
        "pair_rate": 131056,
        "rate_limit": 130429,
        "invalid_number": 100,
    }
    if fault.kind in simple:
        return graph_error(fault.code or simple[fault.kind], fault.status or 400, **ra)
    if fault.kind == "http":
        return graph_error(fault.code or 131000, fault.status or 500, **ra)
    return None


async def upload(request: web.Request) -> web.Response:
    """POST /{version}/{phone_number_id}/media, multipart: messaging_product, type, file.
    https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media → {"id"}"""
    sb = request.app[SANDBOX]
    fields: dict[str, Any] = {}
    data, mime = b"", ""
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "file":
            data = await part.read()
            mime = part.headers.get("Content-Type", "")
            fields["file"] = {"filename": part.filename, "content_type": mime, "size": len(data)}
        elif part.name:
            fields[part.name] = await part.text()
    sb.record("whatsapp", request, fields)
    if (err := _auth_error(sb, request)) is not None:
        return err
    if fields.get("messaging_product") != "whatsapp" or "file" not in fields:
        return graph_error(100, details="messaging_product=whatsapp and file are required")
    if fields.get("type", mime).split(";")[0] == "audio/ogg" and not is_ogg_opus(data):
        return graph_error(100, details="audio/ogg must be an Ogg file with the Opus codec")
    media_id = str(int(time.time() * 1e6))
    sb.media[media_id] = (is_ogg_opus(data), len(data))  # what the checks need, not the bytes
    return as_json({"id": media_id})


def is_ogg_opus(data: bytes) -> bool:
    return data[:4] == b"OggS" and b"OpusHead" in data[:512]


async def messages(request: web.Request) -> web.Response:
    """POST /{version}/{phone_number_id}/messages: template, audio or text.
    https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages"""
    sb = request.app[SANDBOX]
    try:
        body = await request.json()
    except ValueError:
        body = None
    sb.record("whatsapp", request, body)
    if (err := _auth_error(sb, request)) is not None:
        return err
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        return graph_error(100, details="messaging_product must be whatsapp")
    to = str(body.get("to", "")).lstrip("+")
    kind = body.get("type", "text")
    if not to.isdigit() or kind not in ("template", "audio", "text"):
        return graph_error(100, details="to must be a phone number; type template|audio|text")
    if sb.over_rate("whatsapp"):
        return graph_error(130429)
    fault = sb.fault("whatsapp", to)
    if fault is not None and fault.kind == "hang":
        await _sleep(fault.seconds)
    elif fault is not None and (answer := _fault_answer(fault)) is not None:
        return answer
    if kind == "template":
        problem = _template_problem(body.get("template"))
        if problem:
            return graph_error(100, details=problem)
    else:
        closed = time.time() - sb.windows.get(to, 0.0) > WINDOW
        if closed and not sb.settings.all_windows_open:
            return graph_error(131047)
        if kind == "audio":
            problem = _audio_problem(sb, body.get("audio"))
            if problem:
                return graph_error(100, details=problem)
            if sb.media[str(body["audio"]["id"])][1] > VOICE_LIMIT and body["audio"].get("voice"):
                # Not an error for Meta: the note arrives as a download, not a voice note.
                sb.requests[-1]["warning"] = "over 512 KB: shown as a download, not a voice note"
    wamid = "wamid." + new_id("", 40).upper()
    if kind == "template":
        sb.templates.setdefault(to, []).append({"id": wamid, "payload": _payload(body)})
    late = fault is not None and fault.kind == "late_failure"
    sb.later(lambda: send_statuses(sb, wamid, to, late, fault.code if fault else 0))
    reply: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": body["to"], "wa_id": to}],
        "messages": [{"id": wamid}],
    }
    if kind == "template":
        reply["messages"][0]["message_status"] = "accepted"
    return as_json(reply)


def _template_problem(tpl: Any) -> str:
    if not isinstance(tpl, dict) or not tpl.get("name"):
        return "template.name is required"
    if not isinstance(tpl.get("language"), dict) or not tpl["language"].get("code"):
        return "template.language.code is required"
    for comp in tpl.get("components", []):
        if comp.get("type") == "button" and comp.get("sub_type") == "quick_reply":
            params = comp.get("parameters", [])
            if "index" not in comp or not params or params[0].get("type") != "payload":
                return "a quick_reply button needs index and a payload parameter"
    return ""


def _audio_problem(sb: Sandbox, audio: Any) -> str:
    if not isinstance(audio, dict) or str(audio.get("id")) not in sb.media:
        return "audio.id must name uploaded media"
    ogg_opus, _ = sb.media[str(audio["id"])]
    if audio.get("voice") and not ogg_opus:
        return "a voice message must be .ogg with the OPUS codec"
    return ""


def _payload(body: dict[str, Any]) -> str:
    for comp in body["template"].get("components", []):
        if comp.get("sub_type") == "quick_reply":
            return str(comp["parameters"][0].get("payload", ""))
    return ""


async def send_statuses(sb: Sandbox, wamid: str, to: str, late: bool, code: int) -> None:
    """sent, then delivered (or failed): the status webhook.
    .../whatsapp/webhooks/reference/messages/status/"""
    await send_webhook(sb, {"statuses": [_status(wamid, to, "sent")]})
    if late:
        failed = _status(wamid, to, "failed")
        code = code or 131026
        failed["errors"] = [
            {
                "code": code,
                "title": ERRORS.get(code, ("Error",))[0],
                "message": ERRORS.get(code, ("Error",))[0],
                "error_data": {"details": ERRORS.get(code, ("", "Error"))[1]},
            }
        ]
        await send_webhook(sb, {"statuses": [failed]})
    else:
        await send_webhook(sb, {"statuses": [_status(wamid, to, "delivered")]})


def _status(wamid: str, to: str, status: str) -> dict[str, Any]:
    return {"id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": to}


async def send_webhook(sb: Sandbox, value: dict[str, Any]) -> int:
    """One `messages` webhook, signed: X-Hub-Signature-256 = sha256=HMAC(app secret, body)."""
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "15550783881",
                                    "phone_number_id": "106540352242922",
                                },
                                **value,
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
    sig = hmac.new(sb.settings.wa_app_secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={sig}"}
    url = sb.settings.hook("whatsapp", sb.settings.whatsapp_webhook)
    return await sb.post("whatsapp", url, body, headers)


async def tap(sb: Sandbox, to: str) -> dict[str, Any]:
    """The person taps the quick-reply button of the last template they got: the inbound
    button message (.../webhooks/reference/messages/button/), which opens the window."""
    wa_id = to.lstrip("+")
    sent = sb.templates.get(wa_id)
    if not sent:
        raise web.HTTPNotFound(text=f"no template was sent to {to}")
    last = sent[-1]
    sb.windows[wa_id] = time.time()
    message = {
        "context": {"from": "15550783881", "id": last["id"]},
        "from": wa_id,
        "id": "wamid." + new_id("", 40).upper(),
        "timestamp": str(int(time.time())),
        "type": "button",
        "button": {"payload": last["payload"], "text": "Dengarkan"},
    }
    status = await send_webhook(
        sb, {"contacts": [{"profile": {"name": "Sandbox"}, "wa_id": wa_id}], "messages": [message]}
    )
    return {"tapped": last["id"], "payload": last["payload"], "webhook_status": status}


async def inbound_text(sb: Sandbox, frm: str, text: str) -> dict[str, Any]:
    wa_id = frm.lstrip("+")
    sb.windows[wa_id] = time.time()
    message = {
        "from": wa_id,
        "id": "wamid." + new_id("", 40).upper(),
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": text},
    }
    return {"webhook_status": await send_webhook(sb, {"messages": [message]})}


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def add_routes(app: web.Application) -> None:
    app.router.add_post(r"/{version:v\d+\.\d+}/{phone_number_id}/media", upload)
    app.router.add_post(r"/{version:v\d+\.\d+}/{phone_number_id}/messages", messages)
