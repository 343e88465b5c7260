"""Registry source: a CSV export (UTF-8 with or without BOM, any one-character delimiter)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from operator import itemgetter

from notifyd.config import Config
from notifyd.errors import ConfigError
from notifyd.hookspecs import RegistrySource, hookimpl
from notifyd.model import RawRow
from notifyd.registry.columns import header_map


class CsvSource:
    name = "csv"

    def describe(self, cfg: Config) -> str:
        return str(cfg.resolve_path(cfg.registry.path))

    def read(self, cfg: Config) -> Iterator[RawRow]:
        r = cfg.registry
        if not r.path:
            raise ConfigError("registry.path", "missing", "give the path of the registry export")
        path = cfg.resolve_path(r.path)
        try:
            f = open(path, encoding=r.encoding, newline="")  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise ConfigError(
                "registry.path", f"cannot open {path}: {exc.strerror}", "check the path"
            ) from exc
        with f:
            reader = csv.reader(f, delimiter=r.delimiter)
            try:
                header = next(reader, [])
                columns = header_map(header, cfg, str(path))
                names = tuple(canon for _, canon in columns)
                pick = itemgetter(*(i for i, _ in columns))
                width = len(header)
                start = reader.line_num + 1  # a record spanning lines is known by its first
                for row in reader:
                    line, start = start, reader.line_num + 1
                    if len(row) < width:
                        if not any(row):
                            continue  # a blank line is nothing to reject
                        row += [""] * (width - len(row))
                    yield RawRow(line, dict(zip(names, pick(row), strict=True)))
            except UnicodeDecodeError as exc:
                raise ConfigError(
                    "registry.encoding", f"{path} is not {r.encoding} ({exc.reason})",
                    'save the export as UTF-8, or set registry.encoding (e.g. "cp1252")',
                ) from exc  # fmt: skip


@hookimpl
def register_registry_sources() -> list[RegistrySource]:
    return [CsvSource()]
