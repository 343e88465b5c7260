"""Reading Twilio resources back: fetch one message or call, list them page by page.

Fetch: GET .../Messages/{Sid}.json, .../Calls/{Sid}.json with the status reached so far.
Lists are newest first and page as Twilio's do (PageSize, Page, PageToken; next_page_uri):
https://www.twilio.com/docs/usage/twilios-response#response-formats-list-paging-information
Filters: https://www.twilio.com/docs/messaging/api/message-resource#read-multiple-message-resources
and https://www.twilio.com/docs/voice/api/call-resource#read-multiple-call-resources
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from notifyd.sandbox.state import SANDBOX, as_json
from notifyd.sandbox.twilio import API, auth_error, create_message, public
from notifyd.sandbox.twilio_calls import create_call
from notifyd.sandbox.twilio_rules import twilio_error

MAX_PAGE = 1000
#: list name → (sid prefix, the date field its date filters use, extra equality filters)
LISTS = {
    "Messages": ("SM", "DateSent", {"To": "to", "From": "from"}),
    "Calls": ("CA", "StartTime", {"To": "to", "From": "from", "Status": "status"}),
}


async def fetch(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    sb.record("twilio-read", request, None)
    if (err := auth_error(sb, request)) is not None:
        return err
    res = sb.resources.get(request.match_info["rid"])
    prefix = LISTS[request.match_info["kind"]][0]
    if res is None or not res["sid"].startswith(prefix):
        return twilio_error(20404, 404, path=request.path)
    return as_json(public(res))


def _when(value: str) -> datetime | None:
    """A date filter's value: 2026-12-04 or 2026-12-04T02:30:00Z."""
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _date_ok(created: float, query: dict[str, str], field: str) -> bool:
    at = datetime.fromtimestamp(created, UTC)
    for suffix in ("", "<", ">"):
        raw = query.get(field + suffix)
        if not raw:
            continue
        bound = _when(raw)
        if bound is None:
            raise ValueError(raw)
        day_only = len(raw) == 10
        if suffix == "" and (at.date() != bound.date() if day_only else at != bound):
            return False
        if suffix == "<" and not (at.date() <= bound.date() if day_only else at <= bound):
            return False
        if suffix == ">" and not (at.date() >= bound.date() if day_only else at >= bound):
            return False
    return True


async def listing(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    sb.record("twilio-read", request, None)
    if (err := auth_error(sb, request)) is not None:
        return err
    kind = request.match_info["kind"]
    prefix, date_field, equal = LISTS[kind]
    query = dict(request.query)
    try:
        size = min(max(int(query.get("PageSize", "50")), 1), MAX_PAGE)
        page = max(int(query.get("Page", "0")), 0)
        rows = [
            r
            for r in sorted(sb.resources.values(), key=lambda r: r["_created"], reverse=True)
            if r["sid"].startswith(prefix)
            and all(r.get(attr) == query[name] for name, attr in equal.items() if name in query)
            and _date_ok(r["_created"], query, date_field)
        ]
    except ValueError:
        return twilio_error(20001, 400)
    start = page * size
    chunk = rows[start : start + size]
    base = f"/{API}/Accounts/{sb.settings.twilio_sid}/{kind}.json"
    filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

    def uri(n: int, token: str = "") -> str:
        args = {**filters, "PageSize": str(size), "Page": str(n)}
        if token:
            args["PageToken"] = token
        return f"{base}?{urlencode(args)}"

    more = start + size < len(rows)
    body: dict[str, Any] = {
        kind.lower(): [public(r) for r in chunk],
        "end": start + len(chunk) - 1 if chunk else start,
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, "PA" + chunk[-1]["sid"]) if more and chunk else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
        "start": start,
        "uri": uri(page, query.get("PageToken", "")),
    }
    return as_json(body)


def add_routes(app: web.Application) -> None:
    accounts = f"/{API}/Accounts/{{sid}}"
    app.router.add_post(f"{accounts}/Messages.json", create_message)
    app.router.add_post(f"{accounts}/Calls.json", create_call)
    app.router.add_get(f"{accounts}/{{kind:Messages|Calls}}.json", listing)
    app.router.add_get(f"{accounts}/{{kind:Messages|Calls}}/{{rid}}.json", fetch)
