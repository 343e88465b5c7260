"""A generic HTTP SMS gateway (notifyd's own simple JSON API), and a JSON sink for Apprise.

The gateway, documented here since it is the sandbox's own:
- `POST /gateway/send`, `Authorization: Bearer <key>`, body `{"to": "+62…", "text": "…"}`
  → 200 `{"status": "queued", "message_id": "gw-…"}`;
  errors → 4xx/5xx `{"status": "error", "error": "…"}` (429 with Retry-After).
- Delivery reports: `POST <gateway webhook>` `{"message_id", "status": "delivered"|"failed",
  "error"}` with the header `X-Gateway-Secret: <key>`.
The sink, `POST /json/<anything>`, takes what Apprise's `json://` notifier posts.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from notifyd.sandbox.rules import Fault
from notifyd.sandbox.state import SANDBOX, Sandbox, as_json, new_id


def gw_error(status: int, error: str, **headers: str) -> web.Response:
    return as_json({"status": "error", "error": error}, status, headers or None)


def _fault_answer(fault: Fault) -> web.Response | None:
    ra = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    if fault.kind == "invalid_number":
        return gw_error(fault.status or 400, "invalid destination number")
    if fault.kind == "rate_limit":
        return gw_error(429, "rate limit", **ra)
    if fault.kind == "http":
        return gw_error(fault.status or 500, "gateway fault", **ra)
    return None


async def send(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    try:
        body = await request.json()
    except ValueError:
        body = await request.text()
    sb.record("gateway", request, body)
    if request.headers.get("Authorization", "") != f"Bearer {sb.settings.gateway_key}":
        return gw_error(401, "bad key")
    if not isinstance(body, dict) or not body.get("to") or not body.get("text"):
        return gw_error(400, "to and text are required")
    if sb.over_rate("gateway"):
        return gw_error(429, "rate limit", **{"Retry-After": "1"})
    fault = sb.fault("gateway", str(body["to"]))
    if fault is not None and fault.kind == "hang":
        await asyncio.sleep(fault.seconds)
    elif fault is not None and (answer := _fault_answer(fault)) is not None:
        return answer
    msg_id = new_id("gw-", 16)
    late = fault is not None and fault.kind == "late_failure"
    sb.later(lambda: _report(sb, msg_id, late))
    return as_json({"status": "queued", "message_id": msg_id})


async def _report(sb: Sandbox, msg_id: str, late: bool) -> None:
    report: dict[str, Any] = {"message_id": msg_id, "status": "failed" if late else "delivered"}
    if late:
        report["error"] = "absent subscriber"
    url = sb.settings.hook("gateway", sb.settings.gateway_webhook)
    headers = {"Content-Type": "application/json", "X-Gateway-Secret": sb.settings.gateway_key}
    await sb.post("gateway", url, json.dumps(report).encode(), headers)


async def json_sink(request: web.Request) -> web.Response:
    """Apprise's json:// posts {version, title, message, type, attachments: [{filename,
    base64, mimetype}]} (apprise/plugins/custom_json.py)."""
    sb = request.app[SANDBOX]
    try:
        body = await request.json()
    except ValueError:
        body = None
    recorded = body
    if isinstance(body, dict) and isinstance(body.get("attachments"), list):
        recorded = {
            **body,
            "attachments": [
                {**a, "base64": f"<{len(a.get('base64', ''))} base64 chars>"}
                for a in body["attachments"]
                if isinstance(a, dict)
            ],
        }
    sb.record("json", request, recorded, attachments_raw=_raw(body))
    fault = sb.fault("json", "*")
    if fault is not None and fault.kind in ("http", "rate_limit"):
        return gw_error(fault.status or (429 if fault.kind == "rate_limit" else 500), "fault")
    return as_json({"status": "ok"})


def _raw(body: Any) -> list[dict[str, str]]:
    if not isinstance(body, dict):
        return []
    return [a for a in body.get("attachments") or [] if isinstance(a, dict)]


def add_routes(app: web.Application) -> None:
    app.router.add_post("/gateway/send", send)
    app.router.add_post("/json/{tail:.*}", json_sink)
