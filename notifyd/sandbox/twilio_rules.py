"""Twilio's error bodies and request validation, kept apart from the routes that use them.

Error body (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions):
{"code", "message", "more_info", "status"} and, for some errors, "details"; the SDKs raise
TwilioRestException from exactly these fields. Codes and wording follow
https://www.twilio.com/docs/api/errors/<code>.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from aiohttp import web

from notifyd.sandbox.state import as_json
from notifyd.voice import segments

BODY_LIMIT = 1600  # https://www.twilio.com/docs/api/errors/21617
MESSAGES = {
    20001: "Invalid parameter: check the paging and filter values",
    20003: "Authentication Error - invalid username",
    20004: "Method not allowed",
    20404: "The requested resource {path} was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21201: "No 'To' number specified",
    21205: "Url parameter is required. Provide Url, Twiml or ApplicationSid.",
    21211: "Invalid 'To' Phone Number: {to}",
    21213: "'From' phone number is required",
    21217: "Phone number does not appear to be valid",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit",
}
#: The generic code Twilio gives an HTTP status when nothing more specific applies.
STATUS_CODES = {401: 20003, 404: 20404, 405: 20004, 429: 20429, 500: 20500, 503: 20503}
DETAILS = {20003: {"detail": "Your AccountSid or AuthToken was incorrect."}}


def twilio_error(
    code: int, status: int = 400, to: str = "", path: str = "", **headers: str
) -> web.Response:
    body: dict[str, Any] = {
        "code": code,
        "message": MESSAGES.get(code, "Twilio error {code}").format(to=to, path=path, code=code),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    if code in DETAILS:
        body["details"] = DETAILS[code]
    return as_json(body, status, headers or None)


def code_for_status(status: int) -> int:
    """5xx and 4xx answers carry Twilio's code for that status (20503 for a 503, …)."""
    if status in STATUS_CODES:
        return STATUS_CODES[status]
    return 20500 if status >= 500 else 20001


def is_phone(number: str) -> bool:
    """E.164 as Twilio wants it: '+', country code, a number that could exist."""
    if not number.startswith("+"):
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return False


def message_problem(form: dict[str, str]) -> tuple[int, str] | None:
    """The first rule a Messages create breaks, as (code, the To for the message)."""
    to = form.get("To", "")
    if not to:
        return 21604, to
    if not to.startswith("whatsapp:") and not is_phone(to):
        return 21211, to
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return 21603, to
    if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
        return 21602, to
    if len(form.get("Body", "")) > BODY_LIMIT:
        return 21617, to
    return None


def call_problem(form: dict[str, str]) -> tuple[int, str] | None:
    """The first rule a Calls create breaks: To, From, then Url/Twiml/ApplicationSid."""
    to = form.get("To", "")
    if not to:
        return 21201, to
    if not to.startswith(("client:", "sip:")) and not is_phone(to):
        return 21211, to
    if not form.get("From"):
        return 21213, to
    if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
        return 21205, to
    return None


def num_segments(body: str) -> str:
    """As Twilio counts them: GSM-7 160/153, UCS-2 70/67 (notifyd.voice.segments)."""
    return str(segments.count(body).number) if body else "0"
