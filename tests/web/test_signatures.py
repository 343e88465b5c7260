"""Webhook signatures, checked against independent signers: Twilio's own RequestValidator and
HMAC-SHA256 computed as Meta documents X-Hub-Signature-256."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from notifyd.web.signatures import form_params, verify_meta, verify_twilio

TOKEN = "12345678901234567890123456789012"
URL = "https://notifyd.example.org/hooks/sms?office=BLT&x=1"
PARAMS = {
    "MessageSid": "SM0123456789abcdef0123456789abcdef",
    "MessageStatus": "delivered",
    "To": "+6281234560001",
    "ErrorCode": "",
}


def twilio_signs(url: str, params: dict[str, str], token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def meta_signs(body: bytes, secret: str) -> str:
    """Meta: "sha256=" + hex HMAC-SHA256 of the payload, keyed by the app secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_twilio_signature_of_the_official_library_verifies() -> None:
    assert verify_twilio(URL, PARAMS, twilio_signs(URL, PARAMS), TOKEN)


def test_twilio_signature_over_the_form_body_as_it_arrived() -> None:
    body = urlencode(PARAMS).encode()
    assert verify_twilio(URL, form_params(body), twilio_signs(URL, PARAMS), TOKEN)


def test_twilio_repeated_parameters_are_signed_sorted() -> None:
    from multidict import MultiDict

    pairs = [("MediaUrl", "https://b.example/2"), ("MediaUrl", "https://a.example/1")]
    signature = RequestValidator(TOKEN).compute_signature(URL, MultiDict(pairs))
    assert verify_twilio(URL, pairs, signature, TOKEN)


@pytest.mark.parametrize(
    ("signed_url", "called_url"),
    [
        ("https://notifyd.example.org:443/hooks/sms", "https://notifyd.example.org/hooks/sms"),
        ("https://notifyd.example.org/hooks/sms", "https://notifyd.example.org:443/hooks/sms"),
        ("http://127.0.0.1:80/hooks/sms?a=b", "http://127.0.0.1/hooks/sms?a=b"),
        (
            "https://notifyd.example.org:8443/hooks/sms",
            "https://notifyd.example.org:8443/hooks/sms",
        ),
    ],
)
def test_twilio_url_with_or_without_its_port_verifies(signed_url: str, called_url: str) -> None:
    signature = twilio_signs(signed_url, PARAMS)
    assert verify_twilio(called_url, PARAMS, signature, TOKEN)
    assert RequestValidator(TOKEN).validate(called_url, PARAMS, signature)  # Twilio agrees


def test_twilio_another_port_is_another_url() -> None:
    signature = twilio_signs("https://notifyd.example.org:8443/hooks/sms", PARAMS)
    assert not verify_twilio("https://notifyd.example.org/hooks/sms", PARAMS, signature, TOKEN)


@pytest.mark.parametrize(
    "change",
    [
        {"params": {**PARAMS, "MessageStatus": "read"}},  # tampered body
        {"params": {**PARAMS, "Extra": "1"}},  # a parameter added
        {"url": URL.replace("office=BLT", "office=JKT")},  # the query changed
        {"url": URL.replace("/hooks/sms", "/hooks/call")},  # another path
        {"token": "0" * 32},  # a wrong auth token
    ],
    ids=["body", "added-param", "query", "path", "wrong-token"],
)
def test_twilio_tampering_is_refused(change: dict) -> None:
    signature = twilio_signs(URL, PARAMS)
    url = change.get("url", URL)
    params = change.get("params", PARAMS)
    token = change.get("token", TOKEN)
    assert not verify_twilio(url, params, signature, token)


@pytest.mark.parametrize("signature", [None, "", "not-base64!"])
def test_twilio_missing_or_garbled_signature_is_refused(signature: str | None) -> None:
    assert not verify_twilio(URL, PARAMS, signature, TOKEN)


def test_twilio_without_a_configured_token_nothing_verifies() -> None:
    assert not verify_twilio(URL, PARAMS, twilio_signs(URL, PARAMS, ""), "")


BODY = json.dumps(
    {"object": "whatsapp_business_account",
     "entry": [{"changes": [{"value": {"statuses": [{"id": "wamid.1", "status": "read"}]}}]}]},
    separators=(",", ":"),
).encode()  # fmt: skip
SECRET = "meta-app-secret-0123456789"


def test_meta_signature_over_the_raw_body_verifies() -> None:
    assert verify_meta(BODY, meta_signs(BODY, SECRET), SECRET)


def test_meta_signature_in_upper_case_hex_verifies() -> None:
    header = meta_signs(BODY, SECRET)
    assert verify_meta(BODY, "sha256=" + header.removeprefix("sha256=").upper(), SECRET)


def test_meta_re_serialised_json_is_not_the_signed_body() -> None:
    pretty = json.dumps(json.loads(BODY)).encode()  # same data, other bytes
    assert not verify_meta(pretty, meta_signs(BODY, SECRET), SECRET)


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (BODY.replace(b"read", b"sent"), None, SECRET),  # tampered body
        (BODY, None, "another-secret-0123456789"),  # wrong secret
        (BODY, "", SECRET),  # missing header
        (BODY, "sha1=" + "0" * 40, SECRET),  # another scheme
        (BODY, "sha256=", SECRET),  # empty digest
    ],
    ids=["body", "secret", "missing", "scheme", "empty"],
)
def test_meta_tampering_is_refused(body: bytes, header: str | None, secret: str) -> None:
    signed = meta_signs(BODY, SECRET) if header is None else header
    assert not verify_meta(body, signed, secret)


def test_meta_without_a_configured_secret_nothing_verifies() -> None:
    assert not verify_meta(BODY, meta_signs(BODY, ""), "")
