"""Rows → a table staff can read, JSON scripts can rely on, or CSV safe in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

FORMATS = ("table", "json", "csv")
#: OWASP: a cell starting with one of these may run as a formula in a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def render(rows: Sequence[dict[str, Any]], fmt: str, tz: ZoneInfo | None = None) -> str:
    if fmt == "json":
        return json.dumps([_jsonable(r) for r in rows], ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return _csv(rows, tz)
    return _table(rows, tz)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in row.items()}


def cell(value: Any, tz: ZoneInfo | None = None) -> str:
    """A value as staff read it: local times, lists joined, nothing that drives a terminal."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = value.astimezone(tz) if tz else value
        return local.strftime("%Y-%m-%d %H:%M %Z").strip()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "; ".join(cell(v, tz) for v in value)
    return escape_controls(str(value))


def escape_controls(text: str) -> str:
    """Show control and bidi-override characters as escapes instead of obeying them."""
    if text.isprintable():
        return text
    return "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cf") else f"\\u{ord(ch):04x}" for ch in text
    )


def neutralise(text: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula with a quote."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv(rows: Sequence[dict[str, Any]], tz: ZoneInfo | None) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rows[0].keys())
        for row in rows:
            writer.writerow(neutralise(cell(v, tz)) for v in row.values())
    return out.getvalue()


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(rows: Sequence[dict[str, Any]], tz: ZoneInfo | None) -> str:
    if not rows:
        return "(nothing)\n"
    headers = list(rows[0].keys())
    body = [[cell(row[h], tz) for h in headers] for row in rows]
    widths = [max(_width(x) for x in [h, *(b[i] for b in body)]) for i, h in enumerate(headers)]
    lines = []
    for cells in [headers, ["-" * w for w in widths], *body]:
        lines.append(
            "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True))
        )
    return "\n".join(line.rstrip() for line in lines) + "\n"
