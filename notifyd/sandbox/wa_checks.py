"""What the WhatsApp Cloud API accepts in a message request, and its Graph error bodies.

Message shapes: https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages;
limits per type are those the references state (text 4,096; reply buttons 1-3, titles 20;
lists up to 10 rows, row titles 24; header and footer 60; biz_opaque_callback_data 512).
Errors: https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from notifyd.sandbox.state import as_json, new_id

#: code → (message, what the sandbox says in error_data.details)
ERRORS = {
    100: ("(#100) Invalid parameter", "Invalid parameter"),
    190: ("Error validating access token", "The access token could not be decrypted"),
    2500: ("Unknown path components", "Unknown path components"),
    131009: ("(#131009) Parameter value is not valid", "Parameter value is not valid"),
    131026: ("(#131026) Message undeliverable", "Recipient is not a valid WhatsApp user"),
    131047: (
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the "
        "customer last replied to this number.",
    ),
    131053: ("(#131053) Media upload error", "Unable to download the media from the link"),
    130429: ("(#130429) Rate limit hit", "Cloud API message throughput has been reached."),
    131056: (
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from this phone number to the same phone number "
        "in a short period of time.",
    ),
    131000: ("(#131000) Something went wrong", "Something went wrong"),
}
MEDIA_TYPES = ("audio", "image", "document", "video", "sticker")
FREE_FORM = ("text", "interactive", *MEDIA_TYPES)
TYPES = ("template", *FREE_FORM)


class Invalid(Exception):
    """A request Graph refuses: code 100 (a parameter) or 131009 (a value)."""

    def __init__(self, details: str, code: int = 100, message: str = "") -> None:
        super().__init__(details)
        self.details, self.code, self.message = details, code, message


def graph_error(
    code: int,
    status: int = 400,
    details: str = "",
    message: str = "",
    subcode: int | None = None,
    kind: str = "OAuthException",
    headers: dict[str, str] | None = None,
) -> web.Response:
    """{"error": {message, type, code, error_data, error_subcode, fbtrace_id}}, as Graph sends."""
    title, default = ERRORS.get(code, (f"(#{code}) Error", "Error"))
    error: dict[str, Any] = {
        "message": message or title,
        "type": kind,
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or default},
        "fbtrace_id": new_id("A", 22),
    }
    subcode = subcode if subcode is not None else (2494010 if code == 131026 else None)
    if subcode is not None:
        error["error_subcode"] = subcode
    return as_json({"error": error}, status, headers or None)


def invalid_response(exc: Invalid) -> web.Response:
    return graph_error(exc.code, details=exc.details, message=exc.message)


def required(obj: Any, key: str, where: str) -> Any:
    """Graph's wording: (#100) The parameter text['body'] is required."""
    value = obj.get(key) if isinstance(obj, dict) else None
    if value in (None, "", [], {}):
        name = f"{where}['{key}']" if where else key
        text = f"The parameter {name} is required."
        raise Invalid(text, message=f"(#100) {text}")
    return value


def at_most(value: Any, limit: int, name: str, code: int = 100) -> None:
    if isinstance(value, str) and len(value) > limit:
        text = f"Param {name} must be at most {limit} characters long."
        raise Invalid(text, code, f"(#{code}) {text}")


def check_message(body: dict[str, Any]) -> str:
    """The request's type once every documented rule holds; raises Invalid otherwise."""
    required(body, "to", "")
    kind = str(body.get("type", "text")).lower()
    if kind not in TYPES:
        raise Invalid(f"(#100) Param type must be one of {{{', '.join(TYPES)}}}")
    opaque = body.get("biz_opaque_callback_data")
    if opaque is not None and not isinstance(opaque, str):
        raise Invalid("Param biz_opaque_callback_data must be a string")
    at_most(opaque, 512, "biz_opaque_callback_data")
    if kind == "text":
        text = required(body, "text", "")
        at_most(required(text, "body", "text"), 4096, "text['body']")
    elif kind == "template":
        template_buttons(required(body, "template", ""))
    elif kind == "interactive":
        check_interactive(required(body, "interactive", ""))
    else:
        media = required(body, kind, "")
        if not isinstance(media, dict) or not (media.get("id") or media.get("link")):
            raise Invalid(f"The parameter {kind}['id'] or {kind}['link'] is required.")
        if media.get("link") and not str(media["link"]).startswith(("http://", "https://")):
            raise Invalid(f"Param {kind}['link'] must be a valid URL", 131009)
        at_most(media.get("caption"), 1024, f"{kind}['caption']")
    return kind


def template_buttons(tpl: Any) -> list[dict[str, str]]:
    """The template's quick-reply buttons: components' type and sub_type in either case,
    index as a number or a string (both appear in Meta's own examples)."""
    required(tpl, "name", "template")
    required(required(tpl, "language", "template"), "code", "template['language']")
    buttons = []
    for comp in tpl.get("components") or []:
        if not isinstance(comp, dict):
            raise Invalid("Param template['components'] must be a list of objects")
        ctype = str(comp.get("type", "")).lower()
        if ctype not in ("header", "body", "footer", "button"):
            raise Invalid(f"Param template['components'][type] {comp.get('type')!r} is invalid")
        if ctype != "button":
            continue
        sub = str(required(comp, "sub_type", "template['components']")).lower()
        index = comp.get("index")
        if not str(index).isdigit():
            raise Invalid("The parameter template['components'][index] is required.")
        if sub == "quick_reply":
            params = comp.get("parameters") or []
            if not params or str(params[0].get("type", "")).lower() != "payload":
                raise Invalid("a quick_reply button needs a payload parameter", 131009)
            buttons.append({"index": str(index), "payload": str(params[0].get("payload", ""))})
    return buttons


def check_interactive(obj: Any) -> None:
    """Reply buttons (1-3, title ≤20, id ≤256, unique) and lists (≤10 rows in ≤10 sections)."""
    kind = str(required(obj, "type", "interactive")).lower()
    if kind not in ("button", "list"):
        raise Invalid(f"interactive type {kind!r} is not emulated (button, list)", 131009)
    at_most(
        required(required(obj, "body", "interactive"), "text", "interactive['body']"),
        1024 if kind == "button" else 4096,
        "interactive['body']['text']",
        131009,
    )
    header, footer = obj.get("header") or {}, obj.get("footer") or {}
    at_most(header.get("text"), 60, "interactive['header']['text']", 131009)
    at_most(footer.get("text"), 60, "interactive['footer']['text']", 131009)
    action = required(obj, "action", "interactive")
    if kind == "button":
        buttons = required(action, "buttons", "interactive['action']")
        if not 1 <= len(buttons) <= 3:
            raise Invalid("Reply buttons: between 1 and 3 buttons", 131009)
        ids = []
        for b in buttons:
            reply = required(b, "reply", "button")
            at_most(required(reply, "title", "reply"), 20, "reply['title']", 131009)
            ids.append(required(reply, "id", "reply"))
            at_most(ids[-1], 256, "reply['id']", 131009)
        if len(set(ids)) != len(ids):
            raise Invalid("Reply button ids must be unique", 131009)
        return
    at_most(required(action, "button", "interactive['action']"), 20, "action['button']", 131009)
    sections = required(action, "sections", "interactive['action']")
    rows = [row for s in sections for row in required(s, "rows", "section")]
    if len(sections) > 10 or not 1 <= len(rows) <= 10:
        raise Invalid("A list has at most 10 sections and 1 to 10 rows in all", 131009)
    for row in rows:
        at_most(required(row, "title", "row"), 24, "row['title']", 131009)
        at_most(required(row, "id", "row"), 200, "row['id']", 131009)
        at_most(row.get("description"), 72, "row['description']", 131009)


def choices(body: dict[str, Any]) -> list[dict[str, str]]:
    """What the person can tap on this message: [{"id", "title"}] (reply buttons, list rows)."""
    obj = body.get("interactive") or {}
    action = obj.get("action") or {}
    if str(obj.get("type", "")).lower() == "button":
        return [{"id": b["reply"]["id"], "title": b["reply"]["title"]} for b in action["buttons"]]
    return [
        {"id": r["id"], "title": r["title"], "description": r.get("description", "")}
        for s in action.get("sections", [])
        for r in s["rows"]
    ]
