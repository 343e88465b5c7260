"""Twilio SMS channel (`twilio-sms`): the notice's text through the Messages resource.

Also the Twilio pieces the call channel shares: the account options, the error-code table
and X-Twilio-Signature, written here from Twilio's documented algorithm so that the daemon
never needs the `twilio` package (tests check it against Twilio's own RequestValidator).
"""

from __future__ import annotations

import base64
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from notifyd.config import Config
from notifyd.errors import ConfigError
from notifyd.hookspecs import (
    Channel,
    ChannelPlugin,
    Lookup,
    Message,
    PermanentSendError,
    Receipt,
    Reply,
    TransientSendError,
    WebhookRequest,
    WebhookResult,
    hookimpl,
)
from notifyd.web.signatures import verify_twilio
from notifyd_plugins.httpclient import (
    HTTP_OPTIONS,
    Answer,
    Http,
    Options,
    http_parts,
    redact,
    retry_after,
)

#: Retrying helps (providers notes, from Twilio's error pages twilio.com/docs/api/errors/NNNNN):
#: 20429 too many requests, 30001 queue overflow, 30003 unreachable handset (a one-time
#: downstream issue), 30008 unknown error, 63018 rate limit. Everything else 4xx is permanent:
#: 21211 invalid To, 21610 unsubscribed (STOP), 21614 not a mobile, 21612, 21408, 30002-30007 …
TRANSIENT = {20429, 30001, 30003, 30008, 63018}
OPT_OUT = 21610
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "BERHENTI"}
#: Twilio statuses → receipts; queued/accepted/sending/scheduled say nothing new.
MESSAGE_STATUS = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
}
ACCOUNT_OPTIONS = {"base_url", "account_sid", "auth_token", "from", "status_callback"}


class TwilioAccount:
    """What both Twilio channels need: where, who, and how to read Twilio's answers."""

    def __init__(self, opts: Options) -> None:
        base = opts.url("base_url", "https://api.twilio.com")
        self.sid = opts.string("account_sid", example='"AC…"')
        if not (self.sid.startswith("AC") and len(self.sid) == 34):
            raise ConfigError(
                opts.key("account_sid"),
                "is not an account SID",
                "copy it from the Twilio console: AC and 32 characters",
            )
        self.token = opts.secret("auth_token")
        self.api = f"{base}/2010-04-01/Accounts/{self.sid}"
        basic = base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        self.headers = {"Authorization": f"Basic {basic}"}
        self.status_callback = (
            opts.url("status_callback", "") if opts.options.get("status_callback") else ""
        )
        self.http: Http = http_parts(opts)

    async def create(self, resource: str, form: dict[str, str]) -> str:
        """POST a form to Messages.json or Calls.json; 201 → the new resource's sid."""
        answer = await self.http.request(
            "POST", f"{self.api}/{resource}", data=form, headers=self.headers
        )
        data = answer.json()
        if answer.status in (200, 201) and isinstance(data, dict) and data.get("sid"):
            return str(data["sid"])
        raise mapped_error(answer)

    def verify(self, request: WebhookRequest) -> dict[str, str] | None:
        """The callback's form parameters if its signature is Twilio's, else None."""
        params = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        header = request.headers.get("x-twilio-signature", "")
        if not verify_twilio(request.url, params, header, self.token):
            return None
        return dict(params)


def callback_for(url: str, attempt_id: int) -> str:
    """The status callback URL with our attempt id as a query parameter: Twilio calls that
    exact URL and signs it whole, so the id comes back with each status, unforgeable."""
    if not url or not attempt_id:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "attempt"]
    query.append(("attempt", str(attempt_id)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def attempt_of(request: WebhookRequest) -> int:
    """The attempt id of a verified callback's URL (see callback_for), or 0."""
    value = request.query.get("attempt", "")
    return int(value) if value.isdigit() and len(value) < 19 else 0


def _created(message: dict[str, Any]) -> Any:
    """A message's date_created (RFC 2822, as Twilio writes it) as an aware UTC instant."""
    try:
        return parsedate_to_datetime(str(message.get("date_created", ""))).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def mapped_error(answer: Answer) -> Exception:
    data = answer.json()
    code = data.get("code") if isinstance(data, dict) else None
    message = (
        redact(str(data.get("message", ""))) if isinstance(data, dict) else redact(answer.text())
    )
    reason = f"Twilio HTTP {answer.status}" + (
        f", error {code}: {message}" if code else f": {message}"
    )
    if answer.status == 429 or answer.status >= 500 or code in TRANSIENT:
        return TransientSendError(reason, retry_after(answer.headers))
    if code == OPT_OUT:
        return PermanentSendError(reason + " — the person opted out (STOP)", opt_out=True)
    return PermanentSendError(reason)


class TwilioSmsChannel:
    audio_format: str | None = None
    webhook_content_types = ("application/x-www-form-urlencoded",)

    def __init__(self, name: str, opts: Options) -> None:
        self.name = name
        self.account = TwilioAccount(opts)
        self.sender = opts.string("from", "")
        self.service = opts.string("messaging_service_sid", "")
        if bool(self.sender) == bool(self.service):
            raise ConfigError(
                opts.key("from"),
                "give either from or messaging_service_sid",
                'e.g. from = "+15005550006", or messaging_service_sid = "MG…"',
            )

    async def send(self, message: Message) -> str:
        form = {"To": message.to, "Body": message.text}
        form.update({"From": self.sender} if self.sender else {"MessagingServiceSid": self.service})
        if self.account.status_callback:
            form["StatusCallback"] = callback_for(self.account.status_callback, message.attempt_id)
        return await self.account.create("Messages.json", form)

    async def lookup(self, attempt: Lookup) -> Receipt | None:
        """Did a send of unknown outcome reach Twilio after all? Its message list to that
        number, created from the attempt's start on (Twilio's Message resource does not show
        the callback URL, so the attempt is matched by number and time; notices to one number
        are spaced by dispatch.same_phone_interval). None: Twilio has no such message."""
        since = attempt.since.astimezone(UTC) - timedelta(seconds=2)  # clocks differ a little
        query = {"To": attempt.to, "DateSent>": since.strftime("%Y-%m-%d"), "PageSize": "50"}
        try:
            answer = await self.account.http.request(
                "GET", f"{self.account.api}/Messages.json", params=query,
                headers=self.account.headers,
            )  # fmt: skip
        except Exception as exc:  # a lookup that cannot be made is no answer
            raise TransientSendError(f"Twilio lookup failed: {type(exc).__name__}") from exc
        data = answer.json()
        if answer.status != 200 or not isinstance(data, dict):
            raise TransientSendError(f"Twilio lookup: HTTP {answer.status}")
        found = sorted(
            (created, m)
            for m in data.get("messages") or []
            if isinstance(m, dict) and m.get("to") == attempt.to and m.get("sid")
            and (created := _created(m)) is not None and created >= since
        )  # fmt: skip
        if not found:
            return None
        message = found[0][1]
        status = MESSAGE_STATUS.get(str(message.get("status", "")), "sent")  # queued: it left
        code = message.get("error_code")
        error = f"{code} {message.get('status')}" if status == "failed" and code else ""
        return Receipt(str(message["sid"]), status, error=error, attempt_id=attempt.attempt_id)

    def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        params = self.account.verify(request)
        if params is None:
            return WebhookResult(status=403, body="bad signature")
        status = params.get("MessageStatus", "")
        if status in MESSAGE_STATUS and params.get("MessageSid"):
            code = params.get("ErrorCode", "")
            receipt = Receipt(
                params["MessageSid"],
                MESSAGE_STATUS[status],
                error=f"{code} {status}" if code else "",
                opt_out=code == str(OPT_OUT),
                attempt_id=attempt_of(request),
            )
            return WebhookResult(receipts=(receipt,))
        if "Body" in params and params.get("From"):  # the person wrote to us
            text = params["Body"].strip()
            stop = text.upper() in STOP_WORDS or params.get("OptOutType") == "STOP"
            reply = Reply(params["From"], text, "stop" if stop else "")
            return WebhookResult(
                body="<Response/>", content_type="application/xml", replies=(reply,)
            )
        return WebhookResult()

    async def aclose(self) -> None:
        await self.account.http.aclose()


class TwilioSmsPlugin:
    name = "twilio-sms"
    allowed = ACCOUNT_OPTIONS | {"messaging_service_sid"} | HTTP_OPTIONS

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        return TwilioSmsChannel(name, Options(name, options, self.allowed))


@hookimpl
def register_channels() -> list[ChannelPlugin]:
    return [TwilioSmsPlugin()]
