"""CSV for spreadsheets, by the CLI's rules (notifyd/cli/output.py is above the console in the
layout, so the rules are restated here from the same OWASP list, and a test checks that both
give the same text)."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

#: OWASP: a cell starting with one of these may run as a formula in a spreadsheet.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def cell(value: Any, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "; ".join(cell(v, tz) for v in value)
    text = str(value)
    if text.isprintable():
        return text
    # control and bidi-override characters shown as escapes, never obeyed
    return "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cf") else f"\\u{ord(ch):04x}" for ch in text
    )


def csv_text(rows: Sequence[dict[str, Any]], tz: ZoneInfo) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rows[0].keys())
        for row in rows:
            values = (cell(v, tz) for v in row.values())
            writer.writerow("'" + v if v.startswith(FORMULA_START) else v for v in values)
    return out.getvalue()
