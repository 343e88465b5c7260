"""Webhook signatures of the providers notifyd talks to, checked in constant time.

Pure functions, public for channel plugins. Neither provider signs a timestamp, so a replayed
request verifies: receipts must be idempotent (see notifyd.delivery.receipts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit, urlunsplit

__all__ = ["form_params", "twilio_signature", "verify_meta", "verify_twilio"]

Params = Mapping[str, str] | Iterable[tuple[str, str]]


def form_params(body: bytes) -> list[tuple[str, str]]:
    """The pairs of an application/x-www-form-urlencoded body, empty values kept (they are
    signed too)."""
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def twilio_signature(url: str, params: Params, auth_token: str) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by every POST parameter,
    sorted by name (a name's values sorted too), as name+value."""
    pairs = params.items() if isinstance(params, Mapping) else params
    by_name: dict[str, set[str]] = {}
    for name, value in pairs:
        by_name.setdefault(name, set()).add(value)
    data = url + "".join(
        name + value for name in sorted(by_name) for value in sorted(by_name[name])
    )
    mac = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def verify_twilio(url: str, params: Params, signature: str | None, auth_token: str) -> bool:
    """True when `signature` signs this URL (with or without its port, as Twilio's own
    validator tries both) and these parameters; a missing signature or token fails."""
    if not signature or not auth_token:
        return False
    pairs = list(params.items() if isinstance(params, Mapping) else params)
    given = signature.strip().encode()
    ok = False
    for candidate in _with_and_without_port(url):
        expected = twilio_signature(candidate, pairs, auth_token).encode()
        ok |= hmac.compare_digest(expected, given)
    return ok


def _with_and_without_port(url: str) -> list[str]:
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.port is not None:
        bare = netloc.rsplit(":", 1)[0]
        return [urlunsplit(parts._replace(netloc=bare)), url]
    port = 443 if parts.scheme == "https" else 80
    return [url, urlunsplit(parts._replace(netloc=f"{netloc}:{port}"))]


def verify_meta(body: bytes, header: str | None, app_secret: str) -> bool:
    """X-Hub-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the raw body, keyed by the
    app secret; a missing header, another scheme or an empty secret fails."""
    if not header or not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.removeprefix("sha256=").lower().encode())
