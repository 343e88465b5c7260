"""Generic HTTP SMS gateway channel (`http-sms`): any gateway with an HTTP API, by config alone.

The request is built from templates whose strings may hold {to}, {text}, {sender},
{notification_id}, {attempt_id} and {secret}; values go in as data (JSON-encoded or
form-encoded after substitution), never as markup. Success and the message id are read from
the answer by status code and dotted JSON paths ("data.messages.0.id"); delivery reports likewise.

A gateway that takes a client reference carries our attempt id when its field is given
{attempt_id} (e.g. `body_json = {ref = "{attempt_id}"}`) and `receipts.attempt_path` names
where its delivery reports echo it: a report then settles a send that timed out.
"""

from __future__ import annotations

import hmac
import json
import string
from typing import Any

from notifyd.config import Config
from notifyd.errors import ConfigError
from notifyd.hookspecs import (
    Channel,
    ChannelPlugin,
    Message,
    PermanentSendError,
    Receipt,
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

PLACEHOLDERS = {"to", "text", "sender", "notification_id", "attempt_id", "secret"}
RECEIPT_STATUSES = {"sent", "delivered", "read", "failed"}


def lookup(data: Any, path: str) -> Any:
    """A dotted path into JSON: keys, and list indices as numbers. None when absent."""
    for part in path.split(".") if path else []:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def fill(template: Any, values: dict[str, str]) -> Any:
    """Substitute placeholders in every string of a JSON-like template, one pass."""
    if isinstance(template, str):
        return template.format_map(values)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def _check_template(template: Any, key: str) -> None:
    strings = [template] if isinstance(template, str) else []
    if isinstance(template, dict | list):
        items = template.values() if isinstance(template, dict) else template
        for item in items:
            _check_template(item, key)
    for text in strings:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as exc:
            raise ConfigError(
                key,
                f"{text!r} is not a valid template ({exc})",
                "write placeholders as {to}; a literal brace as {{ or }}",
            ) from exc
        bad = names - PLACEHOLDERS
        if bad:
            raise ConfigError(
                key,
                f"unknown placeholder {{{sorted(bad)[0]}}}",
                f"use {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS))}",
            )


class GatewayChannel:
    audio_format: str | None = None

    def __init__(self, name: str, opts: Options) -> None:
        self.name = name
        self.url = opts.url("url")
        self.method = opts.string("method", "POST").upper()
        if self.method not in ("POST", "PUT", "GET"):
            raise ConfigError(
                opts.key("method"), f"{self.method!r} is not supported", "POST, PUT or GET"
            )
        self.secret = opts.secret("secret", required=False)
        self.sender = opts.string("sender", "")
        self.headers = opts.table("headers")
        self.body_json = opts.options.get("body_json")
        self.body_form = opts.table("body_form")
        self.query = opts.table("query")
        if self.body_json is not None and self.body_form:
            raise ConfigError(
                opts.key("body_form"),
                "both body_json and body_form are set",
                "keep the one your gateway reads",
            )
        for key in ("headers", "body_json", "body_form", "query"):
            _check_template(opts.options.get(key), opts.key(key))
        self.success_status = [int(s) for s in opts.options.get("success_status", [200, 201, 202])]
        self.success_path = opts.string("success_path", "")
        self.success_value = opts.options.get("success_value")
        self.id_path = opts.string("id_path", "message_id")
        self.receipt = opts.table("receipts")
        if self.receipt:
            unknown = sorted(
                set(self.receipt)
                - {
                    "id_path",
                    "status_path",
                    "status_map",
                    "error_path",
                    "secret_header",
                    "attempt_path",
                }
            )
            if unknown or "id_path" not in self.receipt or "status_path" not in self.receipt:
                raise ConfigError(
                    opts.key("receipts"),
                    "needs id_path and status_path "
                    "(and optionally status_map, error_path, secret_header)",
                    'e.g. id_path = "message_id", status_path = "status"',
                )
            if not self.receipt.get("secret_header"):
                raise ConfigError(
                    opts.key("receipts.secret_header"),
                    "receipts without a secret header would take anyone's word for a delivery",
                    'name the header the gateway sends its shared secret in, e.g. "x-api-key", '
                    "and set secret",
                )  # fmt: skip
            if not self.secret:
                raise ConfigError(
                    opts.key("secret"),
                    "receipts.secret_header needs a secret",
                    'secret = "env:GATEWAY_KEY"',
                )
        self.http = http_parts(opts)

    async def send(self, message: Message) -> str:
        values = {
            "to": message.to,
            "text": message.text,
            "sender": self.sender,
            "notification_id": str(message.notification_id),
            "attempt_id": str(message.attempt_id),
            "secret": self.secret,
        }
        kwargs: dict[str, Any] = {"headers": fill(self.headers, values)}
        if self.query:
            kwargs["params"] = fill(self.query, values)
        if self.body_json is not None:
            kwargs["json"] = fill(self.body_json, values)
        elif self.body_form:
            kwargs["data"] = fill(self.body_form, values)
        answer = await self.http.request(self.method, self.url, **kwargs)
        return self._read(answer)

    def _read(self, answer: Answer) -> str:
        data = answer.json()
        ok = answer.status in self.success_status
        if ok and self.success_path:
            got = lookup(data, self.success_path)
            ok = got is not None and (self.success_value is None or got == self.success_value)
        if ok:
            msg_id = lookup(data, self.id_path)
            if msg_id in (None, ""):
                raise PermanentSendError(
                    f"gateway accepted without an id at {self.id_path!r}: {redact(answer.text())}"
                )
            return str(msg_id)
        reason = f"gateway HTTP {answer.status}: {redact(answer.text())}"
        if answer.status in (408, 429) or answer.status >= 500:
            raise TransientSendError(reason, retry_after(answer.headers))
        raise PermanentSendError(reason)

    def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        if not self.receipt:
            return WebhookResult(status=404, body="receipts are not configured for this channel")
        header = str(self.receipt.get("secret_header", "")).lower()
        if header and not hmac.compare_digest(
            request.headers.get(header, "").encode(), self.secret.encode()
        ):
            return WebhookResult(status=403, body="bad secret")
        try:
            data = json.loads(request.body)
        except (ValueError, RecursionError):
            return WebhookResult(status=400, body="not JSON")
        msg_id = lookup(data, self.receipt["id_path"])
        raw = str(lookup(data, self.receipt["status_path"]) or "")
        status = dict(self.receipt.get("status_map", {})).get(raw, raw)
        if msg_id in (None, "") or status not in RECEIPT_STATUSES:
            return WebhookResult()
        error = ""
        if status == "failed":
            error = str(lookup(data, self.receipt.get("error_path", "")) or "") or raw
        echoed = str(lookup(data, self.receipt.get("attempt_path", "")) or "")
        attempt = int(echoed) if echoed.isdigit() and len(echoed) < 19 else 0
        receipt = Receipt(str(msg_id), status, error=error, attempt_id=attempt)
        return WebhookResult(receipts=(receipt,))

    async def aclose(self) -> None:
        await self.http.aclose()


class GatewayPlugin:
    name = "http-sms"
    allowed = {
        "url",
        "method",
        "headers",
        "body_json",
        "body_form",
        "query",
        "secret",
        "sender",
        "success_status",
        "success_path",
        "success_value",
        "id_path",
        "receipts",
    } | HTTP_OPTIONS

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        return GatewayChannel(name, Options(name, options, self.allowed))


@hookimpl
def register_channels() -> list[ChannelPlugin]:
    return [GatewayPlugin()]
