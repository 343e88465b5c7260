"""The console's CSV says exactly what the CLI's does (the same formula and control rules)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from notifyd.cli import output
from notifyd.console.csvout import csv_text

TZ = ZoneInfo("Asia/Jakarta")


def test_the_console_csv_matches_the_cli_csv() -> None:
    rows = [
        {"when": datetime(2026, 12, 4, 2, 30, tzinfo=UTC), "name": '=HYPERLINK("x")\u202eevil',
         "reasons": ["phone: not a number", "-1"], "ok": True, "empty": None},
        {"when": datetime(2026, 12, 5, 2, 30, tzinfo=UTC), "name": "@SUM(A1)", "reasons": [],
         "ok": False, "empty": "+62812"},
    ]  # fmt: skip
    text = csv_text(rows, TZ)
    assert text == output.render(rows, "csv", TZ)
    assert "'=HYPERLINK" in text and "\\u202e" in text and "'@SUM" in text and "'+62812" in text
