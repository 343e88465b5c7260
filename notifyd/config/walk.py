"""The typed walk: a TOML table into a dataclass, each value checked against its type hint, so
that every wrong type or unknown key names its key."""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, fields
from typing import Any

from notifyd.errors import ConfigError


def _type_name(tp: Any) -> str:
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
    if tp in names:
        return names[tp]
    origin = typing.get_origin(tp)
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0]).removeprefix('a ')}s"
    if origin is dict:
        return "a table"
    return "a table"


def build(cls: Any, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(path or "(top level)", "must be a table", f"write it as [{path}]")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls) if f.name != "source_path"}
    unknown = sorted(set(data) - set(known))
    if unknown:
        key = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(
            key, "unknown key",
            f"remove it or check its spelling; keys allowed here: {', '.join(sorted(known))}",
        )  # fmt: skip
    values = {}
    for name, value in data.items():
        key = f"{path}.{name}" if path else name
        values[name] = _value(hints[name], value, key)
    for name, f in known.items():
        if name not in values and f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"{path}.{name}", "missing", "add it")
    return cls(**values)


def _value(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(
                key, f"must be {_type_name(tp)}", f"write it as [ … ], e.g. {key} = []"
            )
        return [_value(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(key, "must be a table", f"write it as [{key}] with key = value lines")
        return {str(k): _value(item, v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and hasattr(tp, "__dataclass_fields__"):
        return build(tp, value, key)
    if isinstance(tp, types.UnionType):
        raise TypeError(tp)  # not used in config dataclasses
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(
            key, f"must be {_type_name(tp)}, not {value!r}", f"give {key} {_type_name(tp)}"
        )
    return value
