"""The sandbox's settings and failure rules: plain data, no server (the CLI imports this)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROVIDERS = ("whatsapp", "waha", "twilio-sms", "twilio-call", "gateway", "json")
#: What a failure rule can make a provider do; each provider answers in its own words.
KINDS = {
    "http": "answer with HTTP `status` (default 500) and the provider's error body",
    "rate_limit": "the provider's rate-limit error, with Retry-After when `retry_after` is set",
    "hang": "read the request, then answer only after `seconds` (default 30): a timeout",
    "invalid_number": "the provider's invalid-number error",
    "not_on_whatsapp": "WhatsApp 131026 (undeliverable: not on WhatsApp)",
    "window_closed": "WhatsApp 131047 (re-engagement: the 24-hour window is closed)",
    "pair_rate": "WhatsApp 131056 (too many messages to this number)",
    "opt_out": "Twilio 21610 (the person sent STOP)",
    "not_mobile": "Twilio 21614 (not a mobile number)",
    "late_failure": "accept, report sent, then a `failed` status (its `code` if given)",
    "busy": "a call ends busy",
    "no_answer": "a call rings out: no-answer",
}


@dataclass
class Fault:
    """A failure rule: for `provider` (or "*") and the number `to` (or "*")."""

    kind: str
    provider: str = "*"
    to: str = "*"
    times: int = 0  # how many requests it hits; 0: every one, until cleared
    status: int = 0
    code: int = 0
    retry_after: float | None = None
    seconds: float = 30.0

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Fault:
        fault = cls(**data)
        if fault.kind not in KINDS:
            raise ValueError(f"kind {fault.kind!r} is not one of {', '.join(KINDS)}")
        if fault.provider != "*" and fault.provider not in PROVIDERS:
            raise ValueError(f"provider {fault.provider!r} is not one of {', '.join(PROVIDERS)}")
        return fault


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8788
    #: notifyd's webhook base; each provider's callbacks go to BASE/<name> unless set below.
    callback_url: str = ""
    whatsapp_webhook: str = ""
    waha_webhook: str = ""
    twilio_inbound_url: str = ""
    gateway_webhook: str = ""
    callback_delay: float = 0.2
    #: Requests per second per provider before its rate-limit error; 0: no limit.
    rate_limit: float = 0.0
    #: Treat every WhatsApp number as having written within 24 h (benchmarks, demos).
    all_windows_open: bool = False
    wa_token: str = "sandbox-token"
    wa_app_secret: str = "sandbox-app-secret"
    twilio_sid: str = "AC" + "5a" * 16
    twilio_token: str = "sandbox-auth-token"
    waha_api_key: str = "sandbox-waha-key"
    waha_hmac_key: str = "sandbox-waha-hmac"
    waha_session: str = "default"
    gateway_key: str = "sandbox-gateway-key"
    faults: list[Fault] = field(default_factory=list)

    def hook(self, name: str, explicit: str) -> str:
        if explicit:
            return explicit
        return f"{self.callback_url.rstrip('/')}/{name}" if self.callback_url else ""
