"""Twilio phone-call channel (`twilio-call`): a call that plays the 8 kHz voice note.

Twilio fetches the audio itself, so the call needs the voice note's public, expiring URL from
notifyd's web app (`Message.audio_url`). TwiML: <Response><Play>URL</Play></Response>
(https://www.twilio.com/docs/voice/twiml/play); the call: POST …/Calls.json with To, From,
Twiml and StatusCallback (https://www.twilio.com/docs/voice/api/call-resource).
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

from notifyd.config import Config
from notifyd.hookspecs import (
    Channel,
    ChannelPlugin,
    Message,
    PermanentSendError,
    Receipt,
    WebhookRequest,
    WebhookResult,
    hookimpl,
)
from notifyd_plugins.httpclient import HTTP_OPTIONS, Options
from notifyd_plugins.sms.twilio import ACCOUNT_OPTIONS, TwilioAccount, attempt_of, callback_for

#: Final call statuses (completed, busy, no-answer, failed, canceled). busy and no-answer
#: are failed receipts whose error the core reads as "try again later".
CALL_STATUS = {
    "completed": ("delivered", ""),
    "busy": ("failed", "busy"),
    "no-answer": ("failed", "no-answer"),
    "failed": ("failed", "failed"),
    "canceled": ("failed", "canceled"),
}


class TwilioCallChannel:
    audio_format: str | None = "wav"
    webhook_content_types = ("application/x-www-form-urlencoded",)

    def __init__(self, name: str, opts: Options) -> None:
        self.name = name
        self.account = TwilioAccount(opts)
        self.sender = opts.string("from", example='"+15005550006"')
        self.loop = int(opts.number("loop", 2, 1, 10))

    def twiml(self, audio_url: str) -> str:
        play = f"<Play loop={quoteattr(str(self.loop))}>{escape(audio_url)}</Play>"
        return f"<Response>{play}</Response>"

    async def send(self, message: Message) -> str:
        if not message.audio_url:
            raise PermanentSendError(
                "a call plays the voice note from notifyd's web app, and this notice has no "
                "audio URL: run the web app with a public URL, or drop the call channel"
            )
        form = {"To": message.to, "From": self.sender, "Twiml": self.twiml(message.audio_url)}
        if self.account.status_callback:
            form["StatusCallback"] = callback_for(self.account.status_callback, message.attempt_id)
        return await self.account.create("Calls.json", form)

    def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        params = self.account.verify(request)
        if params is None:
            return WebhookResult(status=403, body="bad signature")
        status = params.get("CallStatus", "")
        if status not in CALL_STATUS or not params.get("CallSid"):
            return WebhookResult()  # initiated, ringing, in-progress: nothing final yet
        receipt_status, error = CALL_STATUS[status]
        if params.get("ErrorCode"):
            error = f"{error} {params['ErrorCode']}".strip()
        receipt = Receipt(params["CallSid"], receipt_status, error=error,
                          attempt_id=attempt_of(request))  # fmt: skip
        return WebhookResult(receipts=(receipt,))

    async def aclose(self) -> None:
        await self.account.http.aclose()


class TwilioCallPlugin:
    name = "twilio-call"
    allowed = ACCOUNT_OPTIONS | {"loop"} | HTTP_OPTIONS

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        return TwilioCallChannel(name, Options(name, options, self.allowed))


@hookimpl
def register_channels() -> list[ChannelPlugin]:
    return [TwilioCallPlugin()]
