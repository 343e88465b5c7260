"""The WhatsApp Cloud API as notifyd and common clients use it: media, messages, mark as read,
status and reply webhooks.

Request rules live in wa_checks; shapes follow Meta's references (cited per handler).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from aiohttp import BodyPartReader, web

from notifyd.sandbox import wa_hooks
from notifyd.sandbox.rules import Fault
from notifyd.sandbox.state import SANDBOX, Sandbox, as_json, new_id
from notifyd.sandbox.wa_checks import (
    FREE_FORM,
    MEDIA_TYPES,
    Invalid,
    check_message,
    choices,
    graph_error,
    invalid_response,
    template_buttons,
)

WINDOW = 24 * 3600
VOICE_LIMIT = 512 * 1024
MEDIA_LIMIT = 16 * 1024 * 1024  # audio and video; what the sandbox keeps for any type
# Re-exported for callers that drive the person's side directly (tests, demos).
tap, inbound_text, send_webhook = wa_hooks.tap, wa_hooks.inbound_text, wa_hooks.send_webhook


def _auth_error(sb: Sandbox, request: web.Request) -> web.Response | None:
    if request.headers.get("Authorization", "") != f"Bearer {sb.settings.wa_token}":
        return graph_error(190, 401, subcode=463 if request.headers.get("Authorization") else None)
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
        return graph_error(fault.code or simple[fault.kind], fault.status or 400, headers=ra)
    if fault.kind == "http":
        return graph_error(fault.code or 131000, fault.status or 500, headers=ra)
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
    kind = fields.get("type", mime).split(";")[0]
    if kind == "audio/ogg" and not is_ogg_opus(data):
        return graph_error(100, details="audio/ogg must be an Ogg file with the Opus codec")
    if len(data) > MEDIA_LIMIT:
        return graph_error(131053, details="media over 16 MB")
    media_id = str(int(time.time() * 1e6))
    sb.media[media_id] = (is_ogg_opus(data), len(data))
    sb.files[media_id] = (kind or "application/octet-stream", data)
    return as_json({"id": media_id})


def is_ogg_opus(data: bytes) -> bool:
    return data[:4] == b"OggS" and b"OpusHead" in data[:512]


async def messages(request: web.Request) -> web.Response:
    """POST /{version}/{phone_number_id}/messages: a message, or mark as read.
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
    if body.get("status") == "read":
        return _mark_read(sb, body)
    try:
        kind = check_message(body)
        buttons = template_buttons(body["template"]) if kind == "template" else []
    except Invalid as exc:
        return invalid_response(exc)
    to = str(body["to"]).lstrip("+")
    if not to.isdigit():
        return graph_error(100, details="to must be a phone number in international format")
    if sb.over_rate("whatsapp"):
        return graph_error(130429)
    fault = sb.fault("whatsapp", to)
    if fault is not None and fault.kind == "hang":
        await asyncio.sleep(fault.seconds)
    elif fault is not None and (answer := _fault_answer(fault)) is not None:
        return answer
    if kind in FREE_FORM:
        closed = time.time() - sb.windows.get(to, 0.0) > WINDOW
        if closed and not sb.settings.all_windows_open:
            return graph_error(131047)
    media = body.get(kind) if kind in MEDIA_TYPES else None
    if isinstance(media, dict) and media.get("id"):
        problem = _media_problem(sb, kind, media)
        if problem:
            return graph_error(100, details=problem)
    wamid = "wamid." + new_id("", 40).upper()
    _show(sb, to, wamid, kind, body, buttons)
    late = fault is not None and fault.kind == "late_failure"
    code = fault.code if fault else 0

    async def deliver() -> None:
        if isinstance(media, dict) and media.get("link") and not media.get("id"):
            problem = await _fetch_link(sb, wamid, kind, media)
            if problem:
                return await wa_hooks.send_statuses(sb, wamid, to, body, True, 131053, problem)
        await wa_hooks.send_statuses(sb, wamid, to, body, late, code)

    sb.later(deliver)
    reply: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": body["to"], "wa_id": to}],
        "messages": [{"id": wamid}],
    }
    if kind == "template":
        reply["messages"][0]["message_status"] = "accepted"
    return as_json(reply)


def _mark_read(sb: Sandbox, body: dict[str, Any]) -> web.Response:
    """{"status": "read", "message_id"} → {"success": true}; an id the person never sent is
    131009: .../whatsapp/messages/mark-message-as-read"""
    mid = str(body.get("message_id", ""))
    if mid not in sb.inbound_ids:
        return graph_error(131009, details=f"message_id {mid!r} is not a message you received")
    sb.set_status(mid, "read")
    return as_json({"success": True})


def _media_problem(sb: Sandbox, kind: str, media: dict[str, Any]) -> str:
    mid = str(media["id"])
    if mid not in sb.media:
        return f"{kind}['id'] must name uploaded media"
    ogg_opus, size = sb.media[mid]
    if kind == "audio" and media.get("voice") and not ogg_opus:
        return "a voice message must be .ogg with the OPUS codec"
    if kind == "audio" and media.get("voice") and size > VOICE_LIMIT:
        # Not an error for Meta: the note arrives as a download, not a voice note.
        sb.requests[-1]["warning"] = "over 512 KB: shown as a download, not a voice note"
    return ""


async def _fetch_link(sb: Sandbox, wamid: str, kind: str, media: dict[str, Any]) -> str:
    """Meta downloads a `link` itself when it sends; a failure is a failed status (131053)."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as client:
            async with client.get(str(media["link"])) as resp:
                data = await resp.read()
                mime = resp.headers.get("Content-Type", "application/octet-stream")
                if resp.status != 200:
                    return f"HTTP {resp.status} from {media['link']}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"could not download {media['link']}: {exc}"
    if len(data) > MEDIA_LIMIT:
        return "media over 16 MB"
    if kind == "audio" and media.get("voice") and not is_ogg_opus(data):
        return "a voice message must be .ogg with the OPUS codec"
    sb.files[wamid] = (mime.split(";")[0], data)
    for item in sb.feed:
        if item["id"] == wamid:
            item["file"] = wamid
    return ""


def _show(sb: Sandbox, to: str, wamid: str, kind: str, body: dict[str, Any], buttons: list) -> None:
    """Remember the message as the person's phone would show it (the page), and what can be
    tapped on it (the tap endpoint)."""
    fields: dict[str, Any] = {"status": "accepted"}
    obj = body.get(kind) or {}
    if kind == "text":
        fields["text"] = obj["body"]
    elif kind == "template":
        params = [
            str(p.get("text", ""))
            for c in obj.get("components") or []
            if str(c.get("type", "")).lower() == "body"
            for p in c.get("parameters") or []
        ]
        fields.update(template=obj["name"], text=" · ".join(params))
        taps = [{"id": b["payload"], "title": "Dengarkan"} for b in buttons]
        fields["choices"] = taps
        sb.templates.setdefault(to, []).append(
            {"id": wamid, "payload": taps[0]["id"] if taps else "", "kind": kind, "choices": taps}
        )
    elif kind == "interactive":
        fields.update(text=obj["body"]["text"], choices=choices(body))
        sb.templates.setdefault(to, []).append(
            {
                "id": wamid,
                "payload": "",
                "kind": kind,
                "choices": fields["choices"],
                "list": str(obj.get("type", "")).lower() == "list",
            }
        )
    elif kind in MEDIA_TYPES:
        fields.update(text=obj.get("caption", ""), voice=bool(obj.get("voice")))
        if obj.get("id"):
            fields["file"] = str(obj["id"])
    sb.show("whatsapp", to, wamid, kind, **fields)


def add_routes(app: web.Application) -> None:
    app.router.add_post(r"/{version:v\d+\.\d+}/{phone_number_id}/media", upload)
    app.router.add_post(r"/{version:v\d+\.\d+}/{phone_number_id}/messages", messages)
