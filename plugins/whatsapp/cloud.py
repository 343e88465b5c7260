"""WhatsApp Business Cloud API channel (`whatsapp-cloud`): template first, voice note on the tap.

Outside the 24-hour customer-service window only an approved template may go, and templates
cannot carry audio; so a cold notice is a utility template with a quick-reply button, and the
voice note follows as an `audio` message with `"voice": true` when the person taps it (or at
once when the window is open). See docs/whatsapp.md.
"""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from typing import Any

from notifyd.config import Config
from notifyd.errors import ConfigError
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
from notifyd.web.signatures import verify_meta
from notifyd_plugins.httpclient import (
    HTTP_OPTIONS,
    Answer,
    Options,
    http_parts,
    redact,
    retry_after,
)

#: "The play icon appears only if the file is ≤ 512 KB"; larger shows as a download.
#: https://developers.facebook.com/documentation/business-messaging/whatsapp/messages/audio-messages
VOICE_LIMIT = 512 * 1024
DEFAULT_PARAMETERS = ["name", "permit", "expiry", "days_left", "office_phone"]
#: Graph error codes worth retrying: throttling (4, 80007, 130429, 131048, 131056, 133016),
#: service trouble (1, 2, 131000, 131016) and a media fetch (131053). Codes and meanings:
#: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
TRANSIENT = {1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131053, 131056, 133016}
HINTS = {
    131047: "the 24-hour window is closed: only the template may go",
    131026: "undeliverable: the number is not on WhatsApp or cannot receive",
    190: "the access token was refused: check the token option",
    100: "a parameter was refused",
}
STATUSES = {"sent", "delivered", "read", "played", "failed"}


class CloudChannel:
    audio_format: str | None = "ogg"
    webhook_content_types = ("application/json",)  # Meta and Twilio send nothing else

    def __init__(self, name: str, opts: Options) -> None:
        self.name = name
        base = opts.url("base_url", "https://graph.facebook.com")
        version = opts.string("api_version", "v23.0", '"v23.0"')
        self.phone_number_id = opts.string("phone_number_id", example='"1234567890"')
        self.endpoint = f"{base}/{version}/{self.phone_number_id}"
        self.token = opts.secret("token")
        self.app_secret = opts.secret("app_secret")
        self.verify_token = opts.secret("verify_token")
        self.templates = _templates(opts)
        self.fallback = opts.string("fallback_language", "en", '"en"')
        if self.fallback not in self.templates:
            raise ConfigError(
                opts.key("fallback_language"),
                f"{self.fallback!r} has no template",
                f"add [{opts.key('templates')}.{self.fallback}] or name a language that has one",
            )
        self.button_payload = opts.string("button_payload", "listen:{notification_id}")
        try:
            carries = "{notification_id}" in self.button_payload
            self.button_payload.format(notification_id=1)
        except (KeyError, IndexError, ValueError):
            carries = False
        if not carries:
            raise ConfigError(
                opts.key("button_payload"),
                "does not carry {notification_id} (and no other placeholder)",
                'e.g. "listen:{notification_id}": the tap must say which notice it answers',
            )
        self.http = http_parts(opts)
        self.auth = {"Authorization": f"Bearer {self.token}"}

    async def send(self, message: Message) -> str:
        if message.followup or message.window_open:
            if message.audio is None:
                if message.followup:
                    raise PermanentSendError("a voice-note follow-up without audio: none rendered")
                return await self._post(
                    {**_head(message), "type": "text", "text": {"body": message.text}}
                )
            return await self._voice(message)
        return await self._post(self.template_body(message))

    def template_body(self, message: Message) -> dict[str, Any]:
        """The template message: body parameters from the notice's fields, and the button's
        payload naming the notice. Shape: https://developers.facebook.com/docs/whatsapp/
        cloud-api/guides/send-message-templates (components, sub_type quick_reply)."""
        tpl = self.templates.get(message.language) or self.templates[self.fallback]
        missing = [f for f in tpl["parameters"] if f not in message.fields]
        if missing:
            raise PermanentSendError(
                f"template {tpl['name']!r} needs the fields {missing}, the notice has "
                f"{sorted(message.fields)}: fix the template's parameters option"
            )
        # Meta refuses parameter text with new lines, tabs or more than 4 spaces in a row
        body = [
            {"type": "text", "text": " ".join(str(message.fields[f]).split())}
            for f in tpl["parameters"]
        ]
        payload = self.button_payload.format(notification_id=message.notification_id)
        return {
            **_head(message),
            "type": "template",
            "template": {
                "name": tpl["name"],
                "language": {"code": tpl["language"]},
                "components": [
                    {"type": "body", "parameters": body},
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": "0",
                        "parameters": [{"type": "payload", "payload": payload}],
                    },
                ],
            },
        }

    async def _voice(self, message: Message) -> str:
        assert message.audio is not None
        data = message.audio.read_bytes()
        if len(data) > VOICE_LIMIT:
            raise PermanentSendError(
                f"voice note is {len(data) / 1024:.0f} KB, over WhatsApp's 512 KB voice-note "
                "limit: shorten the words or lower the bitrate"
            )
        import aiohttp  # on first use: loading the plugin (every command does) stays light

        # Upload: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", "audio/ogg")
        form.add_field(
            "file", data, filename=f"notice-{message.notification_id}.ogg", content_type="audio/ogg"
        )
        answer = await self.http.request(
            "POST", f"{self.endpoint}/media", data=form, headers=self.auth
        )
        media_id = _checked(answer).get("id")
        if not isinstance(media_id, str):
            raise PermanentSendError(
                f"media upload answered without an id: {redact(answer.text())}"
            )
        return await self._post(
            {**_head(message), "type": "audio", "audio": {"id": media_id, "voice": True}}
        )

    async def _post(self, body: dict[str, Any]) -> str:
        answer = await self.http.request(
            "POST", f"{self.endpoint}/messages", json=body, headers=self.auth
        )
        try:
            return str(_checked(answer)["messages"][0]["id"])
        except (KeyError, IndexError, TypeError) as exc:
            raise PermanentSendError(
                f"message accepted without an id: {redact(answer.text())}"
            ) from exc

    def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method == "GET":  # the subscription check Meta makes once
            token = request.query.get("hub.verify_token", "")
            if request.query.get("hub.mode") == "subscribe" and hmac.compare_digest(
                token.encode(), self.verify_token.encode()
            ):
                return WebhookResult(body=request.query.get("hub.challenge", ""))
            return WebhookResult(status=403, body="verification failed")
        if not verify_meta(
            request.body, request.headers.get("x-hub-signature-256"), self.app_secret
        ):
            return WebhookResult(status=403, body="bad signature")
        try:
            data = json.loads(request.body)
            receipts, replies = parse_webhook(data)
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
            # signed but not a webhook we can read (or nested thousands deep): a 4xx, which
            # Meta does not retry, never a 500
            return WebhookResult(status=400, body="not a WhatsApp webhook")
        return WebhookResult(receipts=tuple(receipts), replies=tuple(replies))

    async def aclose(self) -> None:
        await self.http.aclose()


def parse_webhook(data: dict[str, Any]) -> tuple[list[Receipt], list[Reply]]:
    """Statuses and messages of a `messages` webhook. Shapes:
    .../whatsapp/webhooks/reference/messages/status/ and .../messages/button/"""
    receipts: list[Receipt] = []
    replies: list[Reply] = []
    for entry in data.get("entry", []):
        for change in entry.get("changes", []):
            value = change.get("value", {})
            for st in value.get("statuses", []):
                if st.get("status") not in STATUSES:
                    continue
                errors = st.get("errors") or []
                error = "; ".join(_error_text(e) for e in errors)
                attempt = _attempt_id(st.get("biz_opaque_callback_data"))
                receipts.append(
                    Receipt(str(st["id"]), st["status"], _at(st), error, False, attempt)
                )
            for msg in value.get("messages", []):
                kind = msg.get("type")
                text, payload = "", ""
                if kind == "button":
                    text, payload = msg["button"].get("text", ""), msg["button"].get("payload", "")
                elif kind == "text":
                    text = msg["text"].get("body", "")
                elif kind == "interactive":
                    reply = msg["interactive"].get("button_reply", {})
                    text, payload = reply.get("title", ""), reply.get("id", "")
                context = msg.get("context", {}).get("id", "")
                replies.append(Reply("+" + str(msg["from"]).lstrip("+"), text, payload, context))
    return receipts, replies


def _error_text(err: dict[str, Any]) -> str:
    details = (err.get("error_data") or {}).get("details", "")
    title = err.get("title") or err.get("message") or ""
    return " ".join(p for p in (str(err.get("code", "")), title, details and f"({details})") if p)


def _at(status: dict[str, Any]) -> datetime | None:
    """The status's time; None (the time it arrived is used) for one out of range."""
    try:
        return datetime.fromtimestamp(int(status["timestamp"]), UTC)
    except (KeyError, ValueError, TypeError, OverflowError, OSError):
        return None


#: How our attempt id travels in `biz_opaque_callback_data`, which Meta echoes in every status
#: webhook of the message (up to 512 characters).
ATTEMPT_PREFIX = "notifyd-attempt:"


def _attempt_id(value: Any) -> int:
    if not isinstance(value, str) or not value.startswith(ATTEMPT_PREFIX):
        return 0
    digits = value.removeprefix(ATTEMPT_PREFIX)
    return int(digits) if digits.isdigit() and len(digits) < 19 else 0


def _head(message: Message) -> dict[str, Any]:
    head = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.to.lstrip("+"),
    }
    if message.attempt_id:  # comes back with each status, so a timed-out send still settles
        head["biz_opaque_callback_data"] = f"{ATTEMPT_PREFIX}{message.attempt_id}"
    return head


def _checked(answer: Answer) -> dict[str, Any]:
    """The body of a 2xx answer; a Graph error body mapped to the right send error."""
    data = answer.json()
    if 200 <= answer.status < 300 and isinstance(data, dict):
        return data
    err = data.get("error", {}) if isinstance(data, dict) else {}
    code = err.get("code") if isinstance(err, dict) else None
    details = (err.get("error_data") or {}).get("details", "") if isinstance(err, dict) else ""
    reason = f"WhatsApp HTTP {answer.status}"
    if code is not None:
        reason += f", code {code}: {redact(str(err.get('message', '')))}".rstrip()
        if details:
            reason += f" ({redact(str(details))})"
        if code in HINTS:
            reason += f" — {HINTS[code]}"
    else:
        reason += f": {redact(answer.text())}"
    if answer.status == 429 or answer.status >= 500 or code in TRANSIENT:
        raise TransientSendError(reason, retry_after(answer.headers))
    raise PermanentSendError(reason)


def _templates(opts: Options) -> dict[str, dict[str, Any]]:
    table = opts.table("templates")
    if not table:
        raise ConfigError(
            opts.key("templates"),
            "no template configured",
            f'add [{opts.key("templates")}.en] name = "…", language = "en" (see docs/whatsapp.md)',
        )
    out = {}
    for lang, tpl in table.items():
        key = f"{opts.key('templates')}.{lang}"
        if not isinstance(tpl, dict) or not isinstance(tpl.get("name"), str):
            raise ConfigError(f"{key}.name", "missing", 'name the approved template, e.g. "…"')
        unknown = sorted(set(tpl) - {"name", "language", "parameters"})
        if unknown:
            raise ConfigError(
                f"{key}.{unknown[0]}", "unknown key", "use name, language, parameters"
            )
        params = tpl.get("parameters", DEFAULT_PARAMETERS)
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            raise ConfigError(f"{key}.parameters", "must be a list of field names", '["name", …]')
        language = tpl.get("language", lang)
        if not isinstance(language, str):
            raise ConfigError(f"{key}.language", "must be a string", 'e.g. "id" or "en_US"')
        out[lang] = {"name": tpl["name"], "language": language, "parameters": params}
    return out


class CloudPlugin:
    name = "whatsapp-cloud"
    allowed = {
        "base_url",
        "api_version",
        "phone_number_id",
        "token",
        "app_secret",
        "verify_token",
        "templates",
        "fallback_language",
        "button_payload",
    } | HTTP_OPTIONS

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        return CloudChannel(name, Options(name, options, self.allowed))


@hookimpl
def register_channels() -> list[ChannelPlugin]:
    return [CloudPlugin()]
