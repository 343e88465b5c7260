"""The CSV export read as bytes (lines without a quote handed on raw, for the sync to hash)
gives exactly the records, cells and line numbers a text-mode `csv.reader` gives: a property
test over generated exports full of quotes, carriage returns, blank lines and NULs."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import config_dict
from notifyd import config, plugins
from notifyd.config import CANONICAL_COLUMNS
from notifyd_plugins.registry.csv_bytes import byte_encoding

HEADER = ",".join(CANONICAL_COLUMNS) + "\n"


def text_rows(path: Path, encoding: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """What the CSV source gave before the byte read: text mode, csv.reader, line_num."""
    out: list[tuple[int, list[str]]] = []
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        width = len(next(reader))
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if len(row) < width:
                if not any(row):
                    continue
                row += [""] * (width - len(row))
            out.append((line, row))
    return out


def byte_rows(path: Path, encoding: str, delimiter: str) -> tuple[list[Any], list[Any]]:
    """The source's rows, and its raw records in blocks (lines, what each row is built from)."""
    source = plugins.source_for(plugins.make_manager(), "csv")
    data = config_dict(path)
    data["registry"].update(encoding=encoding, delimiter=delimiter)
    cfg = config.parse(data)
    rows = list(source.read_lines(cfg).rows)  # type: ignore[attr-defined]
    lines = source.read_lines(cfg)  # type: ignore[attr-defined]
    assert lines.raw is not None, "every column is used: the raw records are offered"
    return rows, list(lines.raw)


def cells_of(raw: Iterator[Any], encoding: str, delimiter: str) -> list[tuple[int, list[str]]]:
    out = []
    width = len(CANONICAL_COLUMNS)
    for lines, block in raw:
        for line, made_from in zip(lines, block, strict=True):
            if isinstance(made_from, list):  # read by csv
                out.append((line, made_from))
                continue
            assert b'"' not in made_from and b"\r" not in made_from and b"\0" not in made_from
            cells = made_from.decode(encoding).split(delimiter)
            out.append((line, cells + [""] * (width - len(cells))))
    return out


BODY = st.text(alphabet='ab,;"\r\n é\0', max_size=300)


@settings(max_examples=300, deadline=None)
@given(body=BODY, delimiter=st.sampled_from([",", ";"]), crlf=st.booleans())
@example(body='a,"b\nc",d\r\ne\rf\n\n,,\n"x""y"\r', delimiter=",", crlf=False)
@example(body="a\0b,c\r\r\nd", delimiter=",", crlf=True)
def test_the_byte_read_gives_what_the_text_read_gives(
    tmp_path_factory: pytest.TempPathFactory, body: str, delimiter: str, crlf: bool
) -> None:
    path = tmp_path_factory.mktemp("csv") / "r.csv"
    header = HEADER.replace(",", delimiter)
    path.write_bytes(((header.replace("\n", "\r\n") if crlf else header) + body).encode())
    try:
        expected = text_rows(path, "utf-8", delimiter)
    except csv.Error:  # a quote never closed: the byte read fails the same way
        with pytest.raises(csv.Error):
            byte_rows(path, "utf-8", delimiter)
        return
    rows, raw = byte_rows(path, "utf-8", delimiter)
    assert rows == expected
    assert cells_of(iter(raw), "utf-8", delimiter) == expected


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "latin-1"])
def test_a_bom_and_single_byte_code_pages_read_the_same(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "r.csv"
    text = HEADER + 'BLT-1,José,ES\r\n"BLT-2","Zoë\nDoe",NL\n\nBLT-3,Ana\rBLT-4,Bo\n'
    path.write_bytes(text.encode(encoding))
    expected = text_rows(path, encoding, ",")
    rows, raw = byte_rows(path, encoding, ",")
    assert rows == expected and [line for line, _ in rows] == [2, 3, 6, 7]
    assert cells_of(iter(raw), "utf-8" if encoding == "utf-8-sig" else encoding, ",") == expected
    assert rows[0][1][1] == "José" and rows[0][1][0] == "BLT-1"  # the BOM is not in a cell


def test_which_encodings_are_read_as_bytes() -> None:
    assert byte_encoding("utf-8", ",") and byte_encoding("UTF8", ";")
    assert byte_encoding("cp1252", "\t") and byte_encoding("iso-8859-15", "|")
    assert not byte_encoding("utf-16", ",")  # a newline is two bytes
    assert not byte_encoding("shift_jis", "|")  # "|" can be the second byte of a character
    assert not byte_encoding("utf-8", '"') and not byte_encoding("utf-8", "¦")
    assert not byte_encoding("no-such-codec", ",")


#: An export's lines as they come: plain rows (most), a quoted cell (perhaps over lines), a
#: blank line, delimiters only, a lone carriage return, a NUL; each with its own line end.
PLAIN = st.text(alphabet="ab é0", min_size=1, max_size=4).map(
    lambda cell: ",".join([cell] * len(CANONICAL_COLUMNS))
)
LINE = st.one_of(
    PLAIN, PLAIN, PLAIN,
    PLAIN.map(lambda row: row.replace("a", '"a\nb"', 1).replace("b", '"x""y"', 1)),
    PLAIN.map(lambda row: '"' + row.replace(",", ",\r\n", 1) + '"'),
    st.sampled_from(["", ",,", ",,,,,,,,,,,,,", "a\rb", "a\0b", '"open', 'close",x']),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.tuples(LINE, st.sampled_from(["\n", "\r\n", "\n", "\r\n", "\r"])), max_size=12
    ),
    last=st.booleans(),
    size=st.integers(1, 5),
)
def test_runs_split_at_once_give_what_the_text_read_gives_in_the_same_blocks(
    tmp_path_factory: pytest.TempPathFactory, lines: list[tuple[str, str]], last: bool, size: int
) -> None:
    """Runs of `size` lines (at any boundary: a quoted record spanning two runs) read as
    lines read one by one would be, in blocks of exactly `size` records but the last."""
    from notifyd_plugins.registry.csv_bytes import blocks, open_reader

    path = tmp_path_factory.mktemp("csv") / "r.csv"
    body = "".join(text + end for text, end in lines)
    body = body if last or not lines else body.removesuffix(lines[-1][1])
    path.write_bytes((HEADER + body).encode())
    try:
        expected = text_rows(path, "utf-8", ",")
    except csv.Error:
        return  # a quote never closed: the other test holds that the byte read fails alike
    with open(path, "rb") as f:
        feed, reader = open_reader(f, "utf-8", ",")
        width = len(next(reader))
        got = list(blocks(feed, reader, ",", width, size))
    assert cells_of(iter(got), "utf-8", ",") == expected
    assert all(len(block) == size for block, _ in got[:-1]) and all(block for block, _ in got)
