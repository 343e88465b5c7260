"""Small real channels that take webhooks, verified with notifyd.web.signatures, for the web tests.

`TwilioLike` reads Twilio's status-callback form (MessageSid, MessageStatus, ErrorCode) and
inbound SMS (From, Body); `MetaLike` reads WhatsApp Cloud API JSON (statuses, messages with a
button payload) and answers the GET verification challenge.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from notifyd.hookspecs import Message, Receipt, Reply, WebhookRequest, WebhookResult
from notifyd.web.signatures import form_params, verify_meta, verify_twilio

REFUSED = WebhookResult(status=403, body="signature mismatch")
#: Twilio's call and message statuses → notifyd's receipt words.
TWILIO_STATUS = {
    "sent": "sent", "delivered": "delivered", "read": "read", "undelivered": "failed",
    "failed": "failed", "busy": "failed", "no-answer": "failed", "completed": "delivered",
}  # fmt: skip


class Sender:
    """Remembers what it sent, so follow-up tests can look."""

    audio_format: str | None = "ogg"

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Message] = []

    async def send(self, message: Message) -> str:
        self.sent.append(message)
        return f"{self.name}-{len(self.sent)}"


class TwilioLike(Sender):
    webhook_content_types = ("application/x-www-form-urlencoded",)

    def __init__(self, name: str, auth_token: str) -> None:
        super().__init__(name)
        self.auth_token = auth_token

    def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        params = form_params(request.body)
        signature = request.headers.get("x-twilio-signature")
        if not verify_twilio(request.url, params, signature, self.auth_token):
            return REFUSED
        form = dict(params)
        if "Body" in form:
            reply = Reply(from_=form.get("From", ""), text=form["Body"])
            return WebhookResult(replies=(reply,))
        raw = form.get("CallStatus") or form.get("MessageStatus", "")
        status = TWILIO_STATUS.get(raw)
        if status is None:
            return WebhookResult(status=200)
        code = form.get("ErrorCode", "")
        error = raw if raw in ("busy", "no-answer") else f"{code} {raw}".strip()
        sid = form.get("CallSid") or form.get("MessageSid", "")
        receipt = Receipt(sid, status, error=error if status == "failed" else "",
                          opt_out=code == "21610")  # fmt: skip
        return WebhookResult(receipts=(receipt,))


class MetaLike(Sender):
    webhook_content_types = ("application/json",)

    def __init__(self, name: str, app_secret: str, verify_token: str) -> None:
        super().__init__(name)
        self.app_secret, self.verify_token = app_secret, verify_token

    def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if request.method == "GET":
            q = request.query
            if q.get("hub.mode") == "subscribe" and q.get("hub.verify_token") == self.verify_token:
                return WebhookResult(body=q.get("hub.challenge", ""))
            return REFUSED
        if not verify_meta(request.body, request.headers.get("x-hub-signature-256"),
                           self.app_secret):  # fmt: skip
            return REFUSED
        try:
            data = json.loads(request.body)
        except ValueError:
            return WebhookResult(status=400, body="not JSON")
        receipts, replies = [], []
        for entry in data.get("entry", []):
            for change in entry.get("changes", []):
                value = change.get("value", {})
                for st in value.get("statuses", []):
                    at = datetime.fromtimestamp(int(st.get("timestamp", 0)), UTC)
                    errors = st.get("errors") or [{}]
                    error = f"{errors[0].get('code', '')} {errors[0].get('title', '')}".strip()
                    receipts.append(Receipt(st["id"], st["status"], at, error))
                for msg in value.get("messages", []):
                    payload = msg.get("button", {}).get("payload", "")
                    text = msg.get("text", {}).get("body", "")
                    replies.append(Reply(from_="+" + msg["from"], text=text, payload=payload))
        return WebhookResult(receipts=tuple(receipts), replies=tuple(replies))
