"""WAHA channel (`waha`): WhatsApp through a self-hosted WAHA server, voice note sent directly.

WAHA (devlikeapro/waha) drives a WhatsApp account like a phone, so no template or window
applies. Its docs: POST /api/sendVoice {session, chatId "<digits>@c.us", file {mimetype,
filename, data (base64)}} and /api/sendText, authorised by the X-Api-Key header; webhook
events `message.ack` (ack -1 ERROR, 1 SERVER, 2 DEVICE, 3 READ, 4 PLAYED) and `message`,
signed with X-Webhook-Hmac: the hex HMAC-SHA512 of the raw body with the webhook's hmac key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from notifyd.config import Config
from notifyd.hookspecs import (
    Channel,
    ChannelPlugin,
    Message,
    PermanentSendError,
    Receipt,
    Reply,
    TransientSendError,
    WebhookRequest,
    WebhookResult,
    hookimpl,
)
from notifyd_plugins.httpclient import (
    HTTP_OPTIONS,
    Answer,
    Options,
    http_parts,
    redact,
    retry_after,
)

ACKS = {1: "sent", 2: "delivered", 3: "read", 4: "played", -1: "failed"}


class WahaChannel:
    audio_format: str | None = "ogg"

    def __init__(self, name: str, opts: Options) -> None:
        self.name = name
        self.base = opts.url("base_url")
        self.headers = {"X-Api-Key": opts.secret("api_key")}
        self.session = opts.string("session", "default")
        self.hmac_key = opts.secret("hmac_key").encode()
        self.http = http_parts(opts)

    async def send(self, message: Message) -> str:
        body: dict[str, Any] = {"session": self.session, "chatId": f"{message.to.lstrip('+')}@c.us"}
        if message.audio is not None:
            data = base64.b64encode(message.audio.read_bytes()).decode()
            body["file"] = {
                "mimetype": "audio/ogg; codecs=opus",
                "data": data,
                "filename": f"notice-{message.notification_id}.ogg",
            }
            path = "/api/sendVoice"
        else:
            body["text"], path = message.text, "/api/sendText"
        answer = await self.http.request("POST", self.base + path, json=body, headers=self.headers)
        return _message_id(answer)

    def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        given = request.headers.get("x-webhook-hmac", "")
        algorithm = request.headers.get("x-webhook-hmac-algorithm", "sha512").lower()
        expected = hmac.new(self.hmac_key, request.body, hashlib.sha512).hexdigest()
        if algorithm != "sha512" or not hmac.compare_digest(
            given.lower().encode(), expected.encode()
        ):
            return WebhookResult(status=403, body="bad signature")
        try:
            event = json.loads(request.body)
            kind, payload = event.get("event"), event.get("payload") or {}
        except (ValueError, AttributeError):
            return WebhookResult(status=400, body="not a WAHA event")
        if kind == "message.ack" and payload.get("ack") in ACKS and payload.get("id"):
            ack = payload["ack"]
            error = "ERROR" if ack == -1 else ""
            return WebhookResult(receipts=(Receipt(_id(payload["id"]), ACKS[ack], error=error),))
        if kind == "message" and not payload.get("fromMe") and payload.get("from"):
            number = "+" + str(payload["from"]).split("@")[0]
            return WebhookResult(replies=(Reply(number, str(payload.get("body", ""))),))
        return WebhookResult()

    async def aclose(self) -> None:
        await self.http.aclose()


def _id(value: Any) -> str:
    """WEBJS gives the id as a string, other engines as {"_serialized": …}."""
    return str(value.get("_serialized", value)) if isinstance(value, dict) else str(value)


def _message_id(answer: Answer) -> str:
    data = answer.json()
    if 200 <= answer.status < 300 and isinstance(data, dict) and data.get("id"):
        return _id(data["id"])
    message = redact(str(data.get("message", ""))) if isinstance(data, dict) else answer.text()
    reason = f"WAHA HTTP {answer.status}: {message}"
    if answer.status in (408, 429) or answer.status >= 500:
        raise TransientSendError(reason, retry_after(answer.headers))
    if answer.status in (401, 403):
        reason += " — the api_key was refused"
    raise PermanentSendError(reason)


class WahaPlugin:
    name = "waha"
    allowed = {"base_url", "api_key", "session", "hmac_key"} | HTTP_OPTIONS

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        return WahaChannel(name, Options(name, options, self.allowed))


@hookimpl
def register_channels() -> list[ChannelPlugin]:
    return [WahaPlugin()]
