"""WhatsApp webhooks the sandbox sends: message statuses and the person's own messages.

Envelope and statuses (with `conversation`, `pricing` and `biz_opaque_callback_data`):
https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status/
Signed as Meta signs: X-Hub-Signature-256 = "sha256=" + HMAC-SHA256(app secret, raw body).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import phonenumbers
from aiohttp import web

from notifyd.sandbox.state import Sandbox, new_id
from notifyd.sandbox.wa_checks import ERRORS

BUSINESS_NUMBER, PHONE_NUMBER_ID, WABA_ID = "15550783881", "106540352242922", "102290129340398"


def contact(wa_id: str) -> dict[str, Any]:
    """The person as 2026 webhooks name them: wa_id and a business-scoped user id (BSUID,
    COUNTRY.digits; .../whatsapp/business-scoped-user-ids), stable per number here."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse("+" + wa_id)) or "ZZ"
    except phonenumbers.NumberParseException:
        region = "ZZ"
    digits = int(hashlib.sha256(wa_id.encode()).hexdigest()[:15], 16)
    return {"profile": {"name": "Sandbox"}, "wa_id": wa_id, "user_id": f"{region}.{digits}"}


async def send_statuses(
    sb: Sandbox,
    wamid: str,
    to: str,
    body: dict[str, Any],
    late: bool,
    code: int,
    details: str = "",
) -> None:
    """sent, then delivered (or failed with its error)."""
    people = [contact(to)]
    await send_webhook(sb, {"contacts": people, "statuses": [_status(sb, wamid, to, body, "sent")]})
    if late:
        code = code or 131026
        title, default = ERRORS.get(code, (f"(#{code}) Error", "Error"))
        failed = _status(sb, wamid, to, body, "failed")
        failed["errors"] = [
            {
                "code": code,
                "title": title,
                "message": title,
                "error_data": {"details": details or default},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ]
        sb.set_status(wamid, "failed")
        await send_webhook(sb, {"contacts": people, "statuses": [failed]})
    else:
        sb.set_status(wamid, "delivered")
        delivered = _status(sb, wamid, to, body, "delivered")
        await send_webhook(sb, {"contacts": people, "statuses": [delivered]})


def _status(sb: Sandbox, wamid: str, to: str, body: dict[str, Any], status: str) -> dict[str, Any]:
    """A template is a billable utility message; a free-form reply inside the window is a free
    service message (per-message pricing, PMP)."""
    now = int(time.time())
    template = body.get("type") == "template"
    category = "utility" if template else "service"
    entry: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(now),
        "recipient_id": to,
        "recipient_user_id": contact(to)["user_id"],
    }
    if status != "failed":
        entry["conversation"] = {
            "id": hashlib.md5(f"{to}-{category}".encode()).hexdigest(),
            "origin": {"type": category},
        }
        if status == "sent":
            entry["conversation"]["expiration_timestamp"] = str(now + 24 * 3600)
        entry["pricing"] = {
            "billable": template,
            "pricing_model": "PMP",
            "category": category,
            "type": "regular" if template else "free_customer_service",
        }
    if body.get("biz_opaque_callback_data"):
        entry["biz_opaque_callback_data"] = body["biz_opaque_callback_data"]
    if status == "sent":
        sb.set_status(wamid, "sent")
    return entry


async def send_webhook(sb: Sandbox, value: dict[str, Any]) -> int:
    """One `messages` webhook, signed: X-Hub-Signature-256 = sha256=HMAC(app secret, body)."""
    change = {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": BUSINESS_NUMBER,
                "phone_number_id": PHONE_NUMBER_ID,
            },
            **value,
        },
    }
    body = json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [change]}]}
    ).encode()
    sig = hmac.new(sb.settings.wa_app_secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={sig}"}
    url = sb.settings.hook("whatsapp", sb.settings.whatsapp_webhook)
    return await sb.post("whatsapp", url, body, headers)


async def _from_person(sb: Sandbox, wa_id: str, message: dict[str, Any]) -> int:
    mid = "wamid." + new_id("", 40).upper()
    sb.inbound_ids.add(mid)
    sb.windows[wa_id] = time.time()
    message = {"from": wa_id, "id": mid, "timestamp": str(int(time.time())), **message}
    message["from_user_id"] = contact(wa_id)["user_id"]
    return await send_webhook(sb, {"contacts": [contact(wa_id)], "messages": [message]})


async def tap(sb: Sandbox, to: str, message_id: str = "", choice: int = 0) -> dict[str, Any]:
    """The person taps a button: of `message_id`, or of the last template or interactive
    message they got. A template's quick reply arrives as a `button` message
    (.../webhooks/reference/messages/button/), a reply button or list row as `interactive`."""
    wa_id = to.lstrip("+")
    sent = [m for m in sb.templates.get(wa_id, []) if not message_id or m["id"] == message_id]
    if not sent or not sent[-1]["choices"]:
        raise web.HTTPNotFound(text=f"no message with a button was sent to {to}")
    msg = sent[-1]
    if not 0 <= choice < len(msg["choices"]):
        raise web.HTTPNotFound(text=f"that message has no button {choice}")
    picked = msg["choices"][choice]
    context = {"from": BUSINESS_NUMBER, "id": msg["id"]}
    if msg["kind"] == "template":
        message: dict[str, Any] = {
            "type": "button",
            "button": {"payload": picked["id"], "text": picked["title"]},
        }
    else:
        reply = "list_reply" if msg.get("list") else "button_reply"
        message = {"type": "interactive", "interactive": {"type": reply, reply: picked}}
    status = await _from_person(sb, wa_id, {"context": context, **message})
    sb.show("whatsapp", "+" + wa_id, msg["id"] + "-tap", "tap", text=picked["title"], inbound=True)
    return {"tapped": msg["id"], "payload": picked["id"], "webhook_status": status}


async def inbound_text(sb: Sandbox, frm: str, text: str) -> dict[str, Any]:
    wa_id = frm.lstrip("+")
    status = await _from_person(sb, wa_id, {"type": "text", "text": {"body": text}})
    sb.show("whatsapp", "+" + wa_id, new_id("in"), "text", text=text, inbound=True)
    return {"webhook_status": status}
