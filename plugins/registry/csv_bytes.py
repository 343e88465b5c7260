"""A CSV export read as bytes: a line with no quote (nor NUL, nor lone carriage return) is
handed on as its raw text, unsplit and undecoded, so that a sync can hash it and skip it when
it is unchanged; the rest goes through the `csv` module exactly as a text-mode read would.

Only for encodings in which a newline, a quote and the delimiter are single ASCII bytes that
never occur inside another character (UTF-8, ASCII, Latin-1, the Windows code pages); other
encodings are read as text. A line is split the way `open(newline="")` and `csv.reader` split
it: at "\\n", "\\r\\n" and a lone "\\r"; a record whose quote spans lines is read whole.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

#: Decodes one physical line; raises UnicodeDecodeError.
Decode = Callable[[bytes], str]
#: (each record's first line, what its row is built from: its raw text when it had no quote,
#: else its cells as `csv` read them)
Block = tuple[list[int], list[bytes | list[str]]]

#: Where a text-mode read ends a line besides "\n": after a "\r" that no "\n" follows.
_LONE_CR = re.compile(r"(?<=\r)(?!\n)")
_SINGLE_BYTE = ("ascii", "utf-8", "utf-8-sig", "latin-1")


def byte_encoding(encoding: str, delimiter: str) -> bool:
    """Whether an export in this encoding and delimiter can be read line by line as bytes."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    fits = name in _SINGLE_BYTE or name.startswith(("iso8859-", "cp125"))
    return fits and len(delimiter) == 1 and delimiter.isascii() and delimiter not in '"\r\n'


def decoders(encoding: str) -> tuple[Decode, Decode]:
    """How to decode the first physical line (with a byte-order mark, if the encoding takes
    one) and every later one."""
    name = codecs.lookup(encoding).name
    later = "utf-8" if name == "utf-8-sig" else name
    return (lambda b: b.decode(name)), (lambda b: b.decode(later))


class Feed:
    """The text lines `csv.reader` reads from, taken from the binary lines one by one, so
    that the lines between its records stay raw; counts the lines given (csv's line_num)."""

    def __init__(self, raw: Iterator[bytes], first: Decode, later: Decode) -> None:
        self.raw = raw
        self.decode = first
        self.later = later
        self.pending: list[str] = []  # the rest of a binary line split at a lone "\r", reversed
        self.count = 0

    def __iter__(self) -> Feed:
        return self

    def __next__(self) -> str:
        if not self.pending:
            self.push(next(self.raw))
        self.count += 1
        return self.pending.pop()

    def push(self, raw: bytes) -> None:
        """Make a binary line the next text line(s) to give."""
        text = self.decode(raw)
        self.decode = self.later
        if "\r" not in text:
            self.pending = [text]
            return
        self.pending = [part for part in _LONE_CR.split(text) if part][::-1]


def blocks(
    feed: Feed, reader: Iterator[list[str]], delimiter: str, width: int, size: int
) -> Iterator[Block]:
    """Every record after the header, in blocks of `size`: its first line, and its raw text
    (bytes) or, for a record csv had to read, its cells padded to the header's `width`.
    Blank lines are skipped, as a text read skips them."""
    raw, blank = feed.raw, delimiter.encode()
    lines: list[int] = []
    given: list[bytes | list[str]] = []
    for line in raw:
        if line[-1:] == b"\n":
            body = line[:-2] if line[-2:-1] == b"\r" else line[:-1]
        else:
            body = line[:-1] if line[-1:] == b"\r" else line
        if b'"' in body or b"\r" in body or b"\0" in body:
            feed.push(line)
            while feed.pending:  # csv reads the record, and what else the line held
                start = feed.count + 1
                cells = next(reader, None)
                if cells is None:
                    break
                if len(cells) < width:
                    if not any(cells):
                        continue
                    cells += [""] * (width - len(cells))
                lines.append(start)
                given.append(cells)
        else:
            feed.count += 1
            if len(body) + 1 < width and not body.strip(blank):
                continue  # a blank line, or delimiters only
            lines.append(feed.count)
            given.append(body)
        if len(lines) >= size:
            yield lines, given
            lines, given = [], []
    if lines:
        yield lines, given


def open_reader(f: BinaryIO, encoding: str, delimiter: str) -> tuple[Feed, Iterator[list[str]]]:
    """A feed over a binary file and the csv reader that reads from it (the header first)."""
    first, later = decoders(encoding)
    feed = Feed(iter(f), first, later)
    return feed, csv.reader(feed, delimiter=delimiter)
