"""Registry source: a CSV export (UTF-8 with or without BOM, any one-character delimiter)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, TextIO

from notifyd.config import Config
from notifyd.errors import ConfigError
from notifyd.hookspecs import RegistrySource, hookimpl
from notifyd.model import RawRow
from notifyd.registry.columns import Lines, Picker, header_map, mapping, used_columns
from notifyd_plugins.registry.csv_bytes import blocks, byte_encoding, later_codec, open_reader

#: Lines in a block of raw records (what a sync looks up at once).
BLOCK = 2000
#: csv's own limit is lifted so that a long cell rejects its row (registry.max_field_chars)
#: instead of stopping the whole read; the file is on disk, so memory stays bounded by it.
csv.field_size_limit(2**31 - 1)


class CsvSource:
    name = "csv"

    def describe(self, cfg: Config) -> str:
        return str(cfg.resolve_path(cfg.registry.path))

    def _open(self, cfg: Config) -> TextIO:
        r = cfg.registry
        if not r.path:
            raise ConfigError("registry.path", "missing", "give the path of the registry export")
        path = cfg.resolve_path(r.path)
        try:
            return open(path, encoding=r.encoding, newline="")  # noqa: SIM115 (caller closes)
        except OSError as exc:
            raise ConfigError(
                "registry.path", f"cannot open {path}: {exc.strerror}", "check the path"
            ) from exc

    def read(self, cfg: Config) -> Iterator[RawRow]:
        lines = self.read_lines(cfg)
        make = lines.make
        for line, cells in lines.rows:
            yield make(line, cells)

    def read_lines(self, cfg: Config) -> Lines:
        """The export as raw cells: a sync hashes each line and builds the fields of only the
        lines that changed. The header is read (and checked) before this returns.

        In an encoding read as bytes (UTF-8, Latin-1, …), a line without a quote is given as
        its raw text (`Lines.raw`) when every column feeds some field, so that an unchanged
        line is hashed and skipped without being decoded or split."""
        r = cfg.registry
        if not byte_encoding(r.encoding, r.delimiter):
            return self._text_lines(cfg)
        path = cfg.resolve_path(r.path)
        f = self._open_binary(cfg)
        try:
            feed, reader = open_reader(f, r.encoding, r.delimiter)
        except BaseException:
            f.close()
            raise
        header, pick = self._begin(f, reader, cfg)
        used = sorted(used_columns(header, cfg))
        width = len(header)
        make = MakeRow(header, pick, tuple(used), r.max_field_chars, later_codec(r.encoding),
                       r.delimiter, str(path), r.encoding)  # fmt: skip
        cells, delimiter = make.cells, r.delimiter

        def raw() -> Iterator[tuple[list[int], list[bytes | list[str]]]]:
            with f:
                try:
                    yield from blocks(feed, reader, delimiter, width, BLOCK)
                except UnicodeDecodeError as exc:
                    raise _not_encoded(path, r.encoding, exc) from exc

        def rows() -> Iterator[tuple[int, list[str]]]:
            for lines, given in raw():
                for line, one in zip(lines, given, strict=True):
                    yield line, cells(one)

        key = repr((header, mapping(cfg), r.max_field_chars, r.encoding, delimiter)).encode()
        if len(used) < width:  # a column no field reads (a row number): hash the cells used
            return Lines(key, tuple(used), rows(), make)
        return Lines(key, tuple(used), rows(), make, raw())

    def _begin(
        self, f: IO[Any], reader: Iterator[list[str]], cfg: Config
    ) -> tuple[list[str], Picker]:
        """The header, checked, and the column mapping's picker; `f` closed on any error."""
        path = cfg.resolve_path(cfg.registry.path)
        try:
            header = self._header(reader, path, cfg.registry.encoding)
            return header, header_map(header, cfg, str(path))
        except BaseException:
            f.close()
            raise

    def _open_binary(self, cfg: Config) -> BinaryIO:
        path = cfg.resolve_path(cfg.registry.path)
        self._open(cfg).close()  # the same checks and messages as a text read
        return open(path, "rb")  # noqa: SIM115 (the caller closes it)

    def _text_lines(self, cfg: Config) -> Lines:
        """An export in an encoding read as text (UTF-16, …): every line through csv."""
        r = cfg.registry
        path = cfg.resolve_path(r.path)
        f = self._open(cfg)
        reader = csv.reader(f, delimiter=r.delimiter)
        header, pick = self._begin(f, reader, cfg)
        used = sorted(used_columns(header, cfg))
        width = len(header)

        def rows() -> Iterator[tuple[int, list[str]]]:
            with f:
                start = reader.line_num + 1  # a record spanning lines is known by its first
                try:
                    for row in reader:
                        line, start = start, reader.line_num + 1
                        if len(row) < width:
                            if not any(row):
                                continue  # a blank line is nothing to reject
                            row += [""] * (width - len(row))
                        yield line, row
                except UnicodeDecodeError as exc:
                    raise _not_encoded(path, r.encoding, exc) from exc

        key = repr((header, mapping(cfg), r.max_field_chars)).encode()
        make = MakeRow(header, pick, tuple(used), r.max_field_chars)
        return Lines(key, tuple(used), rows(), make)

    @staticmethod
    def _header(reader: Iterator[list[str]], path: object, encoding: str) -> list[str]:
        try:
            return next(reader, [])
        except UnicodeDecodeError as exc:
            raise _not_encoded(path, encoding, exc) from exc


def _padded(cells: list[str], width: int) -> list[str]:
    if len(cells) < width:
        cells += [""] * (width - len(cells))
    return cells


@dataclass(frozen=True, slots=True)
class MakeRow:
    """How a line becomes its row (`Lines.make`): from its raw text (decoded and split here)
    or its cells. A cell longer than registry.max_field_chars rejects the row (shown cut
    short) instead of stopping the read. A plain object, not a closure, so that it pickles:
    a first sync's worker processes build the rows."""

    header: list[str]
    pick: Picker
    used: tuple[int, ...]
    limit: int
    decoding: str = ""  # the codec of raw lines (none: only cells are given)
    delimiter: str = ","
    path: str = ""
    encoding: str = ""  # as configured, for the message

    def cells(self, given: bytes | list[str]) -> list[str]:
        """A raw line's cells (decoded and split); cells already split as they are."""
        if not isinstance(given, bytes):
            return given
        try:
            return _padded(given.decode(self.decoding).split(self.delimiter), len(self.header))
        except UnicodeDecodeError as exc:
            raise _not_encoded(self.path, self.encoding, exc) from exc

    def __call__(self, line: int, given: bytes | list[str]) -> RawRow:
        if given.__class__ is bytes:
            row = self.cells(given)
            if len(given) <= self.limit:  # no cell can be too long
                return RawRow(line, self.pick(row))
        else:
            row = given  # type: ignore[assignment]
        long = [i for i in self.used if len(row[i]) > self.limit]
        if not long:
            return RawRow(line, self.pick(row))
        problems = tuple(
            f"{self.header[i]!r}: a cell of {len(row[i]):,} characters, more than "
            f"registry.max_field_chars ({self.limit:,}); shorten it in the export "
            "(often a quote that is never closed) or raise the limit"
            for i in long
        )
        row = list(row)
        for i in long:
            row[i] = row[i][:80] + "…"
        return RawRow(line, self.pick(row), problems)


def _not_encoded(path: object, encoding: str, exc: UnicodeDecodeError) -> ConfigError:
    return ConfigError(
        "registry.encoding", f"{path} is not {encoding} ({exc.reason})",
        'save the export as UTF-8, or set registry.encoding (e.g. "cp1252")',
    )  # fmt: skip


@hookimpl
def register_registry_sources() -> list[RegistrySource]:
    return [CsvSource()]
