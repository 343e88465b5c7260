"""WAHA (the self-hosted WhatsApp HTTP API) as notifyd uses it: send a voice note, ack events.

Endpoints and fields from WAHA's docs (devlikeapro/waha, docs "Send messages": POST
/api/sendVoice with session, chatId "<digits>@c.us" and file {mimetype, data|url, filename};
"Security": the X-Api-Key header; "Webhooks": message.ack events, ack -1 ERROR … 4 PLAYED, and
HMAC: X-Webhook-Hmac = hex HMAC-SHA512 of the raw body, X-Webhook-Hmac-Algorithm: sha512).
WAHA documents no error bodies; the sandbox answers with NestJS's {statusCode, message, error}.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from aiohttp import web

from notifyd.sandbox.state import SANDBOX, Sandbox, as_json, new_id
from notifyd.sandbox.whatsapp import is_ogg_opus

ACKS = {-1: "ERROR", 0: "PENDING", 1: "SERVER", 2: "DEVICE", 3: "READ", 4: "PLAYED"}


def nest_error(status: int, message: str, **headers: str) -> web.Response:
    names = {
        400: "Bad Request",
        401: "Unauthorized",
        422: "Unprocessable Entity",
        429: "Too Many Requests",
        500: "Internal Server Error",
    }
    body = {"statusCode": status, "message": message, "error": names.get(status, "Error")}
    return as_json(body, status, headers or None)


async def _checked(request: web.Request) -> tuple[Sandbox, dict[str, Any], web.Response | None]:
    sb = request.app[SANDBOX]
    try:
        body = await request.json()
    except ValueError:
        body = None
    recorded = body
    if isinstance(body, dict) and isinstance(body.get("file"), dict):
        recorded = {
            **body,
            "file": {
                k: (f"<{len(v)} base64 chars>" if k == "data" else v)
                for k, v in body["file"].items()
            },
        }
    sb.record("waha", request, recorded)
    if request.headers.get("X-Api-Key", "") != sb.settings.waha_api_key:
        return sb, {}, nest_error(401, "Unauthorized")
    if not isinstance(body, dict):
        return sb, {}, nest_error(400, "body must be JSON")
    if body.get("session") != sb.settings.waha_session:
        return sb, body, nest_error(422, f'Session "{body.get("session")}" does not exist')
    chat = str(body.get("chatId", ""))
    if not chat.endswith("@c.us") or not chat[:-5].isdigit():
        return sb, body, nest_error(400, "chatId must be <phone digits>@c.us")
    if sb.over_rate("waha"):
        return sb, body, nest_error(429, "Too Many Requests")
    fault = sb.fault("waha", chat[:-5])
    if fault is None:
        return sb, body, None
    ra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    if fault.kind == "hang":
        await asyncio.sleep(fault.seconds)
    elif fault.kind in ("invalid_number", "not_on_whatsapp"):
        return sb, body, nest_error(422, f"{chat} is not registered on WhatsApp")
    elif fault.kind == "rate_limit":
        return sb, body, nest_error(429, "Too Many Requests", **ra)
    elif fault.kind == "http":
        return sb, body, nest_error(fault.status or 500, "sandbox fault", **ra)
    elif fault.kind == "late_failure":
        body = {**body, "_late": True}
    return sb, body, None


async def send_voice(request: web.Request) -> web.Response:
    sb, body, err = await _checked(request)
    if err is not None:
        return err
    file = body.get("file")
    if not isinstance(file, dict) or not (file.get("data") or file.get("url")):
        return nest_error(400, "file.data (base64) or file.url is required")
    if file.get("data"):
        try:
            data = base64.b64decode(file["data"], validate=True)
        except (binascii.Error, ValueError):
            return nest_error(400, "file.data is not base64")
        if not body.get("convert") and not is_ogg_opus(data):
            return nest_error(400, "a voice message must be OGG/Opus (or set convert: true)")
    return _sent(sb, body, "")


async def send_text(request: web.Request) -> web.Response:
    sb, body, err = await _checked(request)
    if err is not None:
        return err
    if not body.get("text"):
        return nest_error(400, "text is required")
    return _sent(sb, body, str(body["text"]))


def _sent(sb: Sandbox, body: dict[str, Any], text: str) -> web.Response:
    """The sent message as WEBJS reports it (fields vary with the engine)."""
    chat = body["chatId"]
    msg_id = f"true_{chat}_{new_id('', 20).upper()}"
    late = bool(body.get("_late"))
    sb.later(lambda: _acks(sb, msg_id, chat, late))
    return as_json(
        {
            "id": msg_id,
            "timestamp": int(time.time()),
            "from": "6281100000000@c.us",
            "fromMe": True,
            "to": chat,
            "body": text,
            "hasMedia": not text,
            "ack": 1,
            "ackName": "SERVER",
        },
        201,
    )


async def _acks(sb: Sandbox, msg_id: str, chat: str, late: bool) -> None:
    for ack in (1, -1) if late else (1, 2):
        await send_event(
            sb,
            "message.ack",
            {
                "id": msg_id,
                "from": chat,
                "participant": None,
                "fromMe": True,
                "ack": ack,
                "ackName": ACKS[ack],
            },
        )


async def send_event(sb: Sandbox, event: str, payload: dict[str, Any]) -> int:
    body = json.dumps(
        {
            "event": event,
            "session": sb.settings.waha_session,
            "engine": "WEBJS",
            "me": {"id": "6281100000000@c.us", "pushName": "Kantor Imigrasi"},
            "payload": payload,
        }
    ).encode()
    mac = hmac.new(sb.settings.waha_hmac_key.encode(), body, hashlib.sha512).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Webhook-Hmac": mac,
        "X-Webhook-Hmac-Algorithm": "sha512",
    }
    return await sb.post("waha", sb.settings.hook("waha", sb.settings.waha_webhook), body, headers)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/sendVoice", send_voice)
    app.router.add_post("/api/sendText", send_text)
