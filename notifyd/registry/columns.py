"""Which columns of an export feed which registry field; shared by every registry source.

A field reads one header, several headers joined (a registry id from office code and number),
or a constant; one header may feed several fields. The header is checked as a whole, so an
operator sees every problem of the mapping in one run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from notifyd.config import CANONICAL_COLUMNS, REQUIRED_COLUMNS, ColumnSpec, Config, column_spec
from notifyd.errors import ConfigError, ConfigErrors
from notifyd.model import RawRow

#: A row of cells → the registry fields it holds.
Picker = Callable[[Sequence[str]], dict[str, str]]


def fold(name: str) -> str:
    """Headers match without regard to case or spacing: "No. Paspor" and "no.  paspor" are one."""
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def mapping(cfg: Config) -> dict[str, tuple[ColumnSpec, bool]]:
    """Every field → (how it is read, whether the config names it explicitly)."""
    out: dict[str, tuple[ColumnSpec, bool]] = {}
    for field in CANONICAL_COLUMNS:
        spec = cfg.registry.columns.get(field)
        if spec is None:
            out[field] = (((field,), "", None), False)
        else:
            out[field] = (column_spec(spec, f"registry.columns.{field}"), True)
    return out


def header_problems(header: Sequence[str], cfg: Config, where: str) -> list[ConfigError]:
    """Everything wrong with reading this header through the config's mapping."""
    problems: list[ConfigError] = []
    shown = ", ".join(map(repr, header))
    repeated = [n for n, k in Counter(fold(h) for h in header if h.strip()).items() if k > 1]
    if repeated:
        names = ", ".join(repr(h) for h in dict.fromkeys(h for h in header if fold(h) in repeated))
        problems.append(
            ConfigError(
                "registry.columns",
                f"{where} has more than one column named {names}",
                "rename or remove the repeated columns in the export, so each name says "
                "which one holds what",
            )
        )
    index = {fold(h): i for i, h in enumerate(header)}
    for field, ((columns, _, constant), explicit) in mapping(cfg).items():
        if constant is not None:
            continue
        missing = [c for c in columns if fold(c) not in index]
        if not missing or not (explicit or field in REQUIRED_COLUMNS):
            continue
        problems.append(
            ConfigError(
                f"registry.columns.{field}",
                f"{where} has no column {', '.join(map(repr, missing))} (its header: {shown})",
                f"name the column that holds {field}, e.g. {field} = "
                f'"{header[0] if header else "…"}"'
                + ("" if field in REQUIRED_COLUMNS else ", or remove the line to leave it empty"),
            )
        )
    return problems


def header_map(header: Sequence[str], cfg: Config, where: str) -> Picker:
    """A function from a row's cells to its fields; raises every header problem at once."""
    problems = header_problems(header, cfg, where)
    if problems:
        raise ConfigErrors(problems)
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        index.setdefault(fold(h), i)
    simple: list[tuple[str, int]] = []
    built: list[tuple[str, tuple[int, ...], str]] = []
    constants: dict[str, str] = {}
    for field, ((columns, join, constant), _) in mapping(cfg).items():
        if constant is not None:
            constants[field] = constant
        elif all(fold(c) in index for c in columns):
            if len(columns) == 1:
                simple.append((field, index[fold(columns[0])]))
            else:
                built.append((field, tuple(index[fold(c)] for c in columns), join))

    return Pick(tuple(simple), tuple(built), constants)


@dataclass(frozen=True, slots=True)
class Pick:
    """A row's cells → its fields (a Picker). A plain object, not a closure, so that it
    pickles: a sync's worker processes build rows with it."""

    simple: tuple[tuple[str, int], ...]  # field ← one column
    built: tuple[tuple[str, tuple[int, ...], str], ...]  # field ← columns joined
    constants: dict[str, str]

    def __call__(self, cells: Sequence[str]) -> dict[str, str]:
        values = {field: cells[i] for field, i in self.simple}
        for field, at, join in self.built:
            parts = [cells[i].strip() for i in at]
            values[field] = join.join(parts) if all(parts) else ""  # a half id is no id
        if self.constants:
            values.update(self.constants)
        return values


def used_columns(header: Sequence[str], cfg: Config) -> set[int]:
    """Indexes of the header's columns that feed some field (a long cell elsewhere is no harm)."""
    wanted = {fold(c) for (columns, _, _), _ in mapping(cfg).values() for c in columns}
    return {i for i, h in enumerate(header) if fold(h) in wanted}


@dataclass(frozen=True)
class Lines:
    """A source's rows as raw cells, for a sync that decides unchanged lines by their hash
    before it builds any fields: `key` is everything besides the cells that decides what a
    line becomes (header, mapping, limits), `used` the cells that feed some field (a column
    no field reads, such as a row number, changes nothing); `make` builds a line's row.

    `raw`, when a source offers it (only when every column feeds some field), replaces `rows`
    for a sync: blocks of records, (their lines, what `make` takes for each: the record's raw
    text as bytes, or its cells). Raw text is hashed as it is, before anything splits or
    decodes it; a record read as cells (one whose quote spans lines, say) by its cells."""

    key: bytes
    used: tuple[int, ...]
    rows: Iterator[tuple[int, list[str]]]
    make: Callable[[int, Any], RawRow]
    raw: Iterator[tuple[list[int], list[Any]]] | None = None
