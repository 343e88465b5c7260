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
from itertools import chain, islice
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
    later = later_codec(encoding)
    return (lambda b: b.decode(name)), (lambda b: b.decode(later))


def later_codec(encoding: str) -> str:
    """The codec of every line after the first (a byte-order mark only starts a file)."""
    name = codecs.lookup(encoding).name
    return "utf-8" if name == "utf-8-sig" else name


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
    Blank lines are skipped, as a text read skips them.

    The file is taken `size` lines at a time, split at once where its line ends are all
    "\\n" (or all "\\r\\n") and it holds no NUL: then only a line with a quote costs a step
    of its own (csv reads it); any other run is read line by line."""
    raw, blank = feed.raw, delimiter.encode()
    out = _Out(feed, reader, raw, blank, width)
    while part := list(islice(raw, size)):
        data = b"".join(part)
        bodies = _bodies(part, data)
        if bodies is None:
            out.by_line(part)
        else:
            at = 0
            for i in [*_quoted(data), len(bodies)]:
                if i < at:
                    continue  # a line of a record whose quoted field spans lines
                out.plain(bodies[at:i])
                at = out.record(part, i) if i < len(bodies) else i
        while len(out.lines) >= size:
            yield out.lines[:size], out.given[:size]
            del out.lines[:size], out.given[:size]
    if out.lines:
        yield out.lines, out.given


def _bodies(part: list[bytes], data: bytes) -> list[bytes] | None:
    """A run's lines (`data` is them joined) without their line ends, split at once: None
    when the run holds a NUL, a lone carriage return or line ends of both kinds."""
    if b"\0" in data:
        return None
    if b"\r" not in data:
        return data.removesuffix(b"\n").split(b"\n")
    last = part[-1]  # every line ends at its first "\n", but the file's last may have none
    if last[-1:] == b"\n" and last[-2:] != b"\r\n":
        return None
    if data.count(b"\r") != (len(part) if last[-1:] == b"\n" else len(part) - 1):
        return None  # a carriage return that ends no line
    bodies = data.removesuffix(b"\r\n").split(b"\r\n")
    return bodies if len(bodies) == len(part) else None


def _quoted(data: bytes) -> list[int]:
    """The indices of a run's lines that hold a quote, found by searching the run, not by a
    step a line."""
    found: list[int] = []
    line, last = 0, 0
    at = data.find(b'"')
    while at >= 0:
        line += data.count(b"\n", last, at)
        found.append(line)
        last = data.find(b"\n", at)
        if last < 0:
            break
        at = data.find(b'"', last)
    return found


class _Out:
    """The records read so far (their first lines, and what each is built from), and how
    each kind of line adds to them."""

    def __init__(
        self, feed: Feed, reader: Iterator[list[str]], raw: Iterator[bytes], blank: bytes,
        width: int,
    ) -> None:  # fmt: skip
        self.feed, self.reader, self.raw, self.blank, self.width = feed, reader, raw, blank, width
        self.lines: list[int] = []
        self.given: list[bytes | list[str]] = []

    def plain(self, bodies: list[bytes]) -> None:
        """Lines without a quote, their line ends cut: each is its record's raw text."""
        if not bodies:
            return
        first = self.feed.count + 1
        self.feed.count += len(bodies)
        if min(map(len, bodies)) + 1 >= self.width:  # none can be blank
            self.lines += range(first, first + len(bodies))
            self.given += bodies
            return
        for line, body in enumerate(bodies, start=first):
            if len(body) + 1 < self.width and not body.strip(self.blank):
                continue  # a blank line, or delimiters only
            self.lines.append(line)
            self.given.append(body)

    def record(self, part: list[bytes], i: int) -> int:
        """The records csv reads from the line `part[i]` and from the lines after it that a
        quoted field spans (in `part`, then in the file); the index in `part` to go on from."""
        after = iter(range(i + 1, len(part)))
        self.feed.raw = chain(map(part.__getitem__, after), self.raw)
        try:
            self.cells(part[i])
        finally:
            self.feed.raw = self.raw
        return next(after, len(part))  # the first line csv did not read

    def cells(self, line: bytes) -> None:
        """A physical line through csv: its record, and what else the line held."""
        feed = self.feed
        feed.push(line)
        while feed.pending:
            start = feed.count + 1
            cells = next(self.reader, None)
            if cells is None:
                break
            if len(cells) < self.width:
                if not any(cells):
                    continue
                cells += [""] * (self.width - len(cells))
            self.lines.append(start)
            self.given.append(cells)

    def by_line(self, part: list[bytes]) -> None:
        """A run read line by line, as a line with a lone carriage return or a NUL needs."""
        run = iter(part)
        self.feed.raw = chain(run, self.raw)  # a quote spanning lines reads on into the run
        try:
            for line in run:
                if line[-1:] == b"\n":
                    body = line[:-2] if line[-2:-1] == b"\r" else line[:-1]
                else:
                    body = line[:-1] if line[-1:] == b"\r" else line
                if b'"' in body or b"\r" in body or b"\0" in body:
                    self.cells(line)
                else:
                    self.plain([body])
        finally:
            self.feed.raw = self.raw


def open_reader(f: BinaryIO, encoding: str, delimiter: str) -> tuple[Feed, Iterator[list[str]]]:
    """A feed over a binary file and the csv reader that reads from it (the header first)."""
    first, later = decoders(encoding)
    feed = Feed(iter(f), first, later)
    return feed, csv.reader(feed, delimiter=delimiter)
