"""The worker's shortcuts give what the plain steps give: the per-rules memo of cells that
decide alone, and clean()'s fast path for printable text.

Rows are drawn from small pools of cell values (valid, invalid, odd spellings) so that a
memo answers most of them from an earlier row, under two sets of rules used in turn."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import config_dict
from notifyd import config
from notifyd.model import RawRow
from notifyd.registry.normalise import (
    FIELDS,
    JOINERS,
    Memo,
    Rules,
    clean,
    normalise,
    normalise_cells,
)
from notifyd.registry.packing import normalise_packed, pack_rows, unpack


def _rules(**overrides: object) -> Rules:
    data = config_dict(Path("registry.csv"), **overrides)  # the file itself is never read
    return Rules.from_config(config.parse(data))


PLAIN = _rules()
#: Other rules for the same cells: a date format, two offices with a default, an alias, a
#: language mapping. A memo that forgot its rules would answer one with the other's result.
OTHER = _rules(
    registry={
        "path": "registry.csv",
        "date_formats": ["%m.%d.%Y"],
        "default_office": "SBY",
        "nationality_aliases": {"Negeri Tirai Bambu": "Tiongkok"},
    },
    offices={
        "BLT": {"name": "Kantor Imigrasi Blitar", "timezone": "Asia/Jakarta"},
        "SBY": {"name": "Kantor Imigrasi Surabaya", "timezone": "Asia/Jakarta"},
    },
    languages={"by_nationality": {"CN": "en"}},
)

CELLS = {
    "registry_id": ["BLT-1", " BLT-2 ", ""],
    "full_name": ["Person One", "윤지민", " a\tb ", "", "x\u202ey"],
    "nationality": ["AU", "Australia", " cn ", "Tiongkok", "Atlantis", "", "Negeri Tirai Bambu"],
    "passport_number": ["pa 123", "", "M939"],
    "permit_type": ["ITAS Work", " ITAS  Work ", "", "KITAS"],
    "permit_number": ["2c11ab0001-26", "", " X-1 "],
    "expiry_date": ["2026-12-31", "31/12/2026", "12.31.2026", "5 Desember 2026", "besok", ""],
    "phone": ["0812-3456-7890", "+61 412 345 678", "+62 809 1234 5678", "0341 123456", "", "1"],
    "whatsapp": ["", "081234567890", "+62 812 3456 7890", "0412 345 678", "abc"],
    "language": ["", "en", "zh-Hant", "xx-!!", "fr", "ko"],
    "channels": ["", "sms", "whatsapp,sms", "pigeon", "SMS | whatsapp"],
    "opted_out": ["", "yes", "sms", "maybe", "tidak"],
    "office": ["", "BLT", "blt", "SBY", "XYZ"],
    "email": [""],
}

rows = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in CELLS.items()})


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(rows, min_size=1, max_size=30))
def test_a_warm_memo_gives_what_a_fresh_one_gives_under_either_rules(
    batch: list[dict[str, str]],
) -> None:
    warm = {id(PLAIN): Memo(PLAIN), id(OTHER): Memo(OTHER)}
    for line, values in enumerate(batch, start=2):
        cells = tuple(values[name] for name in FIELDS)
        for rules in (PLAIN, OTHER):
            got = normalise_cells(line, cells, (), warm[id(rules)])
            assert got == normalise_cells(line, cells, (), Memo(rules))
            row = RawRow(line, values)
            assert unpack(normalise_packed(pack_rows([row]), rules)) == [normalise(row, rules)]


def test_the_memos_stop_growing_at_their_size(monkeypatch) -> None:
    from notifyd.registry import normalise as module

    monkeypatch.setattr(module, "MEMO_SIZE", 3)
    memo = Memo(PLAIN)
    days = [f"2026-12-{d:02d}" for d in range(1, 11)]
    for line, day in enumerate(days, start=2):
        values = {**{k: v[0] for k, v in CELLS.items()}, "expiry_date": day}
        out = normalise_cells(line, tuple(values[name] for name in FIELDS), (), memo)
        assert out[0] and out[8].isoformat() == day
    assert len(memo.date) == 3


def _clean_slowly(value: str) -> str:
    """clean() without its fast path: every character looked up."""
    kept = "".join(
        ch
        for ch in value
        if ch.isspace() or ch in JOINERS or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    return " ".join(kept.split())


@settings(max_examples=1000, deadline=None)
@given(value=st.text())
def test_clean_takes_printable_text_as_the_slow_path_would(value: str) -> None:
    assert clean(value) == _clean_slowly(value)


def test_packed_rows_without_some_fields_read_them_as_empty() -> None:
    """An export without an email or office column: the worker's cells are "" for them."""
    full = {k: v[0] for k, v in CELLS.items()}
    rows = [
        RawRow(2, {k: v for k, v in full.items() if k not in ("email", "office")}),
        RawRow(3, {k: v for k, v in full.items() if k not in ("email", "office", "phone")}),
    ]
    assert rows[0].values.keys() == rows[1].values.keys() | {"phone"}  # the second: a dict
    for rules in (PLAIN, OTHER):
        assert unpack(normalise_packed(pack_rows(rows), rules)) == [
            normalise(r, rules) for r in rows
        ]
