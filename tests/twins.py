"""Clients nobody here wrote, pointed at the sandbox: Twilio's SDK and pywa."""

from __future__ import annotations

from typing import Any

import httpx

from notifyd.hookspecs import WebhookRequest, WebhookResult

SID = "AC" + "5a" * 16
TOKEN = "sandbox-auth-token"
PHONE_ID = "106540352242922"
APP_SECRET = "sandbox-app-secret"
FROM = "+15005550006"
TO = "+6281234567001"


def twilio_client(sandbox: Any, timeout: float | None = None, token: str = TOKEN) -> Any:
    """Twilio's own Client, its API base URL pointed at the sandbox."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    client = Client(SID, token, http_client=TwilioHttpClient(timeout=timeout))
    client.api.base_url = sandbox.url
    return client


def pywa_client(sandbox: Any, timeout: float = 10) -> Any:
    """pywa's WhatsApp client; its httpx session's base URL pointed at the sandbox."""
    from pywa import WhatsApp

    session = httpx.Client(timeout=timeout)
    wa = WhatsApp(
        phone_id=PHONE_ID,
        token="sandbox-token",
        session=session,
        app_secret=APP_SECRET,
        verify_token="verify-me",
    )
    version = str(session.base_url).rstrip("/").rsplit("/", 1)[1]
    session.base_url = f"{sandbox.url}/{version}"
    return wa


def close(client: Any) -> None:
    """Close a client made above: Twilio's requests session or pywa's httpx one."""
    session = getattr(getattr(client, "http_client", None), "session", None)
    if session is None:
        session = client.api._session
    session.close()


class PywaInbox:
    """notifyd's WhatsApp webhook played by pywa: it checks Meta's signature with its own code
    and parses each update into its own types."""

    def __init__(self, wa: Any) -> None:
        self.wa = wa
        self.statuses: list[Any] = []
        self.taps: list[Any] = []
        self.rejected = 0

        @wa.on_message_status()
        def status(_: Any, update: Any) -> None:
            self.statuses.append(update)

        @wa.on_callback_button()
        def tapped(_: Any, update: Any) -> None:
            self.taps.append(update)

    def __call__(self, request: WebhookRequest) -> WebhookResult:
        bad = self.wa.webhook_update_validator(
            request.body, request.headers.get("x-hub-signature-256", "")
        )
        if bad:
            self.rejected += 1
            return WebhookResult(status=bad[1], body=str(bad[0]))
        answer, status = self.wa.webhook_update_handler(request.body)
        return WebhookResult(status=status, body=str(answer))
