"""Registry source: a CSV export (UTF-8 with or without BOM, any one-character delimiter)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TextIO

from notifyd.config import Config
from notifyd.errors import ConfigError
from notifyd.hookspecs import RegistrySource, hookimpl
from notifyd.model import RawRow
from notifyd.registry.columns import header_map, used_columns

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
        r = cfg.registry
        path = cfg.resolve_path(r.path)
        f = self._open(cfg)
        with f:
            reader = csv.reader(f, delimiter=r.delimiter)
            try:
                header = next(reader, [])
                pick = header_map(header, cfg, str(path))
                used = sorted(used_columns(header, cfg))
                limit = r.max_field_chars
                width = len(header)
                start = reader.line_num + 1  # a record spanning lines is known by its first
                for row in reader:
                    line, start = start, reader.line_num + 1
                    if len(row) < width:
                        if not any(row):
                            continue  # a blank line is nothing to reject
                        row += [""] * (width - len(row))
                    long = [i for i in used if len(row[i]) > limit]
                    if not long:
                        yield RawRow(line, pick(row))
                        continue
                    problems = tuple(
                        f"{header[i]!r}: a cell of {len(row[i]):,} characters, more than "
                        f"registry.max_field_chars ({limit:,}); shorten it in the export "
                        "(often a quote that is never closed) or raise the limit"
                        for i in long
                    )
                    for i in long:
                        row[i] = row[i][:80] + "…"
                    yield RawRow(line, pick(row), problems)
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    "registry.encoding", f"{path} is not {r.encoding} ({exc.reason})",
                    'save the export as UTF-8, or set registry.encoding (e.g. "cp1252")',
                ) from exc  # fmt: skip


@hookimpl
def register_registry_sources() -> list[RegistrySource]:
    return [CsvSource()]
