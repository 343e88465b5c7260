"""The permit numbers a sync has met, with their first lines: exact, whatever the hashes do."""

from __future__ import annotations

import builtins
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifyd.registry import seen
from notifyd.registry.seen import FirstLines, MetKeys


def first_lines_by_dict(chunks: list[list[tuple[str, int]]]) -> list[dict[str, int]]:
    """The answer the sync needs, the plain way."""
    met: dict[str, int] = {}
    out = []
    for rows in chunks:
        here: dict[str, int] = {}
        for number, line in rows:
            here.setdefault(number, met.get(number, line))
        met.update((n, line) for n, line in here.items() if n not in met)
        out.append(here)
    return out


def chunked(numbers: list[str], sizes: list[int]) -> list[list[tuple[str, int]]]:
    rows = [(n, line) for line, n in enumerate(numbers, start=2)]
    chunks, at = [], 0
    for size in sizes:
        chunks.append(rows[at : at + size])
        at += size
    chunks.append(rows[at:])
    return chunks


numbers = st.text(alphabet="AB12-\0é", min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(numbers, max_size=300), st.lists(st.integers(1, 40), max_size=20))
def test_first_lines_match_a_plain_dict(given_numbers: list[str], sizes: list[int]) -> None:
    chunks = chunked(given_numbers, sizes)
    firsts = FirstLines()
    assert [firsts.first(rows) for rows in chunks] == first_lines_by_dict(chunks)


def test_many_numbers_merge_into_few_runs_and_stay_exact() -> None:
    rng = random.Random(5)
    pool = [f"2C11{rng.randrange(10**6):06d}-{rng.randrange(20, 30)}" for _ in range(40_000)]
    chunks = chunked(pool, [rng.randrange(1, 3000) for _ in range(30)])
    firsts = FirstLines()
    assert [firsts.first(rows) for rows in chunks] == first_lines_by_dict(chunks)
    assert len(firsts.runs) <= 12


def test_a_hash_shared_by_two_numbers_keeps_them_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two numbers with one 64-bit hash: each keeps its own line (forced here, rare in life)."""
    real = builtins.hash
    monkeypatch.setattr(
        seen,
        "hash",
        lambda raw: 7 if raw in (b"A1", b"B2") else real(raw),
        raising=False,
    )
    firsts = FirstLines()
    assert firsts.first([("A1", 2)]) == {"A1": 2}
    assert firsts.first([("B2", 3), ("C3", 4)]) == {"B2": 3, "C3": 4}
    assert sum(int((run.keys == 7).sum()) for run in firsts.runs) == 2  # one hash, two numbers
    assert firsts.first([("B2", 5), ("A1", 6)]) == {"B2": 3, "A1": 2}


def test_long_numbers_are_kept_whole() -> None:
    long = "X" * (seen.WIDTH + 1)
    firsts = FirstLines()
    assert firsts.first([(long, 2), (long[:-1] + "Y", 3)]) == {long: 2, long[:-1] + "Y": 3}
    assert firsts.first([(long, 9)]) == {long: 2}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(numbers, max_size=40, unique=True), max_size=20))
def test_keys_met_are_told_as_a_plain_set_tells_them(chunks: list[list[str]]) -> None:
    """With no two keys sharing a hash (a 64-bit hash: the rule), "maybe" is exactly "met"."""
    met, plain = MetKeys(), set[str]()
    for keys in chunks:
        assert met.meet(keys) == [k for k in keys if k in plain]
        plain.update(keys)


def test_many_keys_merge_into_few_runs_of_8_bytes_a_key() -> None:
    met = MetKeys()
    for start in range(0, 300_000, 2_000):
        assert met.meet([f"BLT-{i:07d}" for i in range(start, start + 2_000)]) == []
    assert len(met.runs) <= 12
    assert sum(run.nbytes for run in met.runs) == 300_000 * 8
    assert met.meet(["BLT-0000007", "BLT-9999999", "BLT-0299999"]) == [
        "BLT-0000007",
        "BLT-0299999",
    ]


def test_a_key_sharing_a_hash_with_one_met_is_a_maybe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller settles it (db/sync_first.insert_people asks the people stored)."""
    real = builtins.hash
    monkeypatch.setattr(
        seen, "hash", lambda key: 7 if key in ("A1", "B2") else real(key), raising=False
    )
    met = MetKeys()
    assert met.meet(["A1", "C3"]) == []
    assert met.meet(["B2", "D4"]) == ["B2"]
