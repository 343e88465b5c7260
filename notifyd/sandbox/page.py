"""The sandbox's page for people: what each person received, newest first, as a phone shows it.

Server-rendered (Jinja2), no script: a button on a template or an interactive message is a
plain form that makes the person tap it, as Mailpit and MailHog show mail for e-mail.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from notifyd.sandbox import wa_hooks
from notifyd.sandbox.state import SANDBOX, Sandbox

_env = Environment(
    loader=PackageLoader("notifyd.sandbox", "templates"), autoescape=select_autoescape()
)
PROVIDERS = {"whatsapp": "WhatsApp", "twilio-sms": "SMS", "twilio-call": "Call"}


def timeline(sb: Sandbox) -> list[dict[str, Any]]:
    """Messages, calls (with what they played) and callbacks, newest first."""
    items = []
    for entry in sb.feed:
        item = dict(entry, label=PROVIDERS.get(entry["provider"], entry["provider"]))
        if entry["kind"] == "call":
            item["plays"] = sb.calls.get(entry["id"], {}).get("plays", [])
        items.append(item)
    for cb in sb.callbacks:
        items.append({"kind": "callback", "label": "Callback", **cb})
    items.sort(key=lambda i: i["at"], reverse=True)
    for item in items:
        item["when"] = time.strftime("%H:%M:%S", time.localtime(item["at"]))
    return items


async def show(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    html = _env.get_template("page.html").render(items=timeline(sb), faults=sb.faults)
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-store"})


async def media(request: web.Request) -> web.Response:
    """The bytes of an uploaded or fetched file, for the page's players."""
    found = request.app[SANDBOX].files.get(request.match_info["mid"])
    if found is None:
        raise web.HTTPNotFound(text="no such media")
    mime, data = found
    return web.Response(body=data, content_type=mime)


async def tap(request: web.Request) -> web.Response:
    """The page's tap button: the person taps choice N of that message; back to the page."""
    form = await request.post()
    to, mid = str(form.get("to", "")), str(form.get("message_id", ""))
    choice = str(form.get("choice", "0"))
    await wa_hooks.tap(request.app[SANDBOX], to, mid, int(choice) if choice.isdigit() else 0)
    raise web.HTTPSeeOther(location="/_sandbox/")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_sandbox/", show)
    app.router.add_get("/_sandbox/media/{mid}", media)
    app.router.add_post("/_sandbox/page/tap", tap)
