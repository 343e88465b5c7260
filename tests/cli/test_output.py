"""output.py: rows → a table staff can read, JSON scripts can rely on, CSV safe in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from notifyd.cli.output import render

#: 2026-12-04 02:30 UTC: 09:30 in Jakarta (WIB), 10:30 in Makassar (WITA), 11:30 in Jayapura (WIT).
INSTANT = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)
#: What a spreadsheet may run as a formula when a cell starts with it (OWASP).
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def parsed_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


# --- CSV --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://x")',
        "=cmd|' /C calc'!A0",
        "+62 812 3456 7890",
        "-2+3",
        "@SUM(A1:A9)",
    ],
)
def test_csv_prefixes_a_formula_cell_with_a_quote(value: str) -> None:
    header, row = parsed_csv(render([{"full_name": value, "line": 2}], "csv"))
    assert header == ["full_name", "line"]
    assert row == ["'" + value, "2"]


@pytest.mark.parametrize("value", ["\t=SUM(A1)", "\r=SUM(A1)", "\0=SUM(A1)"])
def test_csv_cells_starting_with_a_control_character_are_inert(value: str) -> None:
    (_, row) = parsed_csv(render([{"full_name": value}], "csv"))
    assert not row[0].startswith(DANGEROUS_START)
    assert row[0].endswith("=SUM(A1)")


@pytest.mark.parametrize(
    "value", ["Zhang Wei", "张伟", "2C11AB0001-26", "a=b", "0812-3456-7890", "O'Brien", ""]
)
def test_csv_leaves_other_cells_alone(value: str) -> None:
    (_, row) = parsed_csv(render([{"full_name": value}], "csv"))
    assert row == [value]


def test_csv_of_the_hyperlink_name_round_trips_to_an_inert_string() -> None:
    rows = [{"registry_id": "BLT-1", "full_name": '=HYPERLINK("http://x")'}]
    text = render(rows, "csv")
    assert "\n=" not in text and ",=" not in text and ',"=' not in text
    assert parsed_csv(text)[1][1] == '\'=HYPERLINK("http://x")'


# --- JSON -------------------------------------------------------------------------------------


def test_json_is_valid_with_iso_dates_and_datetimes() -> None:
    rows = [
        {
            "registry_id": "BLT-1",
            "full_name": "张伟",
            "expiry_date": date(2026, 12, 31),
            "due_at": INSTANT,
            "stage": 7,
            "catch_up": False,
            "reason": None,
        }
    ]
    text = render(rows, "json", ZoneInfo("Asia/Makassar"))
    (loaded,) = json.loads(text)
    assert loaded == {
        "registry_id": "BLT-1",
        "full_name": "张伟",
        "expiry_date": "2026-12-31",
        "due_at": "2026-12-04T02:30:00+00:00",
        "stage": 7,
        "catch_up": False,
        "reason": None,
    }
    assert datetime.fromisoformat(loaded["due_at"]) == INSTANT
    assert "张伟" in text  # readable, not \\u escapes


def test_json_of_no_rows_is_an_empty_list() -> None:
    assert json.loads(render([], "json")) == []


# --- table ------------------------------------------------------------------------------------


def test_table_columns_align_with_wide_cjk_characters() -> None:
    rows = [
        {"full_name": "王小明张伟李娜", "nat": "CN", "permit": "A-0001"},
        {"full_name": "Ann", "nat": "AU", "permit": "A-0002"},
        {"full_name": "Nguyễn Thị", "nat": "VN", "permit": "A-0003"},
        {"full_name": "ｆｕｌｌ 山田", "nat": "JP", "permit": "A-0004"},  # full-width Latin is F
        {"full_name": "김민준", "nat": "KR", "permit": "A-0005"},
    ]
    lines = render(rows, "table").splitlines()
    assert len(lines) == 2 + len(rows)
    assert {display_width(line) for line in lines} == {14 + 2 + 3 + 2 + 6}
    assert lines[1].split() == ["-" * 14, "---", "------"]  # the widest name is 14 columns
    for line, row in zip(lines[2:], rows, strict=True):
        assert line.startswith(row["full_name"])
        assert line.endswith(f"{row['nat']}   {row['permit']}")  # nat is 3 wide


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("Eve\u202eregnaH", "Eve\\u202eregnaH", id="right-to-left-override"),
        pytest.param("\u2067Ann\u2069", "\\u2067Ann\\u2069", id="bidi-isolate"),
        pytest.param("\x1b[2J\x1b[31mAnn", "\\u001b[2J\\u001b[31mAnn", id="terminal-escape"),
        pytest.param("Ann\nDrop", "Ann\\u000aDrop", id="newline"),
        pytest.param("Ann\rDrop", "Ann\\u000dDrop", id="carriage-return"),
        pytest.param("Ann\x07", "Ann\\u0007", id="bell"),
    ],
)
def test_table_shows_control_and_bidi_characters_escaped(value: str, shown: str) -> None:
    text = render([{"full_name": value, "nat": "AU"}], "table")
    lines = text.splitlines()
    assert len(lines) == 3
    assert lines[2].startswith(shown + "  ")
    assert all(ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf") for ch in text)


@pytest.mark.parametrize(
    ("tz", "shown"),
    [
        (ZoneInfo("Asia/Jakarta"), "2026-12-04 09:30 WIB"),
        (ZoneInfo("Asia/Makassar"), "2026-12-04 10:30 WITA"),
        (ZoneInfo("Asia/Jayapura"), "2026-12-04 11:30 WIT"),
        (None, "2026-12-04 02:30 UTC"),
    ],
)
def test_table_shows_datetimes_in_the_given_time_zone(tz: ZoneInfo | None, shown: str) -> None:
    lines = render([{"due_at": INSTANT, "stage": 7}], "table", tz).splitlines()
    assert lines[2].split("  ")[0] == shown


def test_table_shows_dates_lists_and_booleans_as_staff_read_them() -> None:
    row: dict[str, Any] = {
        "expiry_date": date(2026, 12, 31),
        "channels": ["whatsapp", "sms"],
        "catch_up": True,
        "reason": None,
    }
    lines = render([row], "table").splitlines()
    assert lines[0].split() == ["expiry_date", "channels", "catch_up", "reason"]
    assert lines[2].split() == ["2026-12-31", "whatsapp;", "sms", "yes"]


def test_table_of_no_rows_says_so() -> None:
    assert render([], "table") == "(nothing)\n"
