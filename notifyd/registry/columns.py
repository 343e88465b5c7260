"""Which column of an export holds which registry field; shared by every registry source."""

from __future__ import annotations

from collections.abc import Sequence

from notifyd.config import CANONICAL_COLUMNS, REQUIRED_COLUMNS, Config
from notifyd.errors import ConfigError


def _fold(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def header_map(header: Sequence[str], cfg: Config, where: str) -> list[tuple[int, str]]:
    """(column index, field) pairs for the fields found; a missing required field is an error.

    Headers match without regard to case or spacing, so "No. Paspor" and "no. paspor" are one.
    """
    wanted = {_fold(cfg.registry.columns.get(canon, canon)): canon for canon in CANONICAL_COLUMNS}
    found: dict[str, int] = {}
    for i, name in enumerate(header):
        canon = wanted.get(_fold(name))
        if canon is not None and canon not in found:
            found[canon] = i
    missing = sorted(REQUIRED_COLUMNS - found.keys())
    if missing:
        field = missing[0]
        expected = cfg.registry.columns.get(field, field)
        raise ConfigError(
            f"registry.columns.{field}",
            f"{where} has no column {expected!r} (its header: {', '.join(map(repr, header))})",
            f'name the column that holds {field}, e.g. {field} = "{header[0] if header else "…"}"',
        )
    return sorted((i, canon) for canon, i in found.items())
