"""Registry source: a CSV export (UTF-8 with or without BOM, any one-character delimiter)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from notifyd.config import Config
from notifyd.errors import ConfigError
from notifyd.hookspecs import RegistrySource, hookimpl
from notifyd.model import RawRow
from notifyd.registry.columns import Lines, header_map, mapping, used_columns

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
        lines that changed. The header is read (and checked) before this returns."""
        r = cfg.registry
        path = cfg.resolve_path(r.path)
        f = self._open(cfg)
        try:
            reader = csv.reader(f, delimiter=r.delimiter)
            header = self._header(reader, path, r.encoding)
            pick = header_map(header, cfg, str(path))
        except BaseException:
            f.close()
            raise
        used = sorted(used_columns(header, cfg))
        limit = r.max_field_chars
        width = len(header)

        def make(line: int, row: list[str]) -> RawRow:
            long = [i for i in used if len(row[i]) > limit]
            if not long:
                return RawRow(line, pick(row))
            problems = tuple(
                f"{header[i]!r}: a cell of {len(row[i]):,} characters, more than "
                f"registry.max_field_chars ({limit:,}); shorten it in the export "
                "(often a quote that is never closed) or raise the limit"
                for i in long
            )
            row = list(row)
            for i in long:
                row[i] = row[i][:80] + "…"
            return RawRow(line, pick(row), problems)

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

        key = repr((header, mapping(cfg), limit)).encode()
        return Lines(key, tuple(used), rows(), make)

    @staticmethod
    def _header(reader: Iterator[list[str]], path: object, encoding: str) -> list[str]:
        try:
            return next(reader, [])
        except UnicodeDecodeError as exc:
            raise _not_encoded(path, encoding, exc) from exc


def _not_encoded(path: object, encoding: str, exc: UnicodeDecodeError) -> ConfigError:
    return ConfigError(
        "registry.encoding", f"{path} is not {encoding} ({exc.reason})",
        'save the export as UTF-8, or set registry.encoding (e.g. "cp1252")',
    )  # fmt: skip


@hookimpl
def register_registry_sources() -> list[RegistrySource]:
    return [CsvSource()]
