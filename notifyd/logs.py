"""The daemon's logging: one JSON object per line on stdout (journald keeps it), with phone
and passport numbers, e-mail addresses and names masked once, in a handler filter, before
anything is written.

Stable keys: `ts` (UTC, ISO 8601), `level`, `logger`, `msg`, then the record's `extra`
fields by name, and `exc` for a traceback. Numbers are found by pattern in the message, its
arguments, extras and tracebacks; names cannot be found by pattern, so any `extra` key that
names a name (`name`, `full_name`, `person_name`, …) is masked whole.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

MASK = "***"
#: International numbers (+62 812-3456-7890, +61412345678) and national ones written with a
#: leading 0 or 62 (0812-3456-7890, (0342) 123456, 6281234567890): 8 to 15 digits with
#: spaces, dots, hyphens or brackets between groups. ISO dates (2026-12-04) do not qualify:
#: they start with neither + nor 0 and have too few digits.
PHONE = re.compile(
    r"(?<![\w+])(?:\+|\(?\b0|\b62)\d(?:[ .\-()]{0,2}\d){6,14}\b"
    # International numbers without their +, as WhatsApp writes them (wa_id 61412345678,
    # 15551234567@c.us): a bare run of 10 to 15 digits.
    r"|(?<![\w+])\d{10,15}\b"
)
#: Passport numbers: one or two capital letters then 6 to 8 digits (A1234567, PA0000123).
PASSPORT = re.compile(r"\b[A-Z]{1,2}\d{6,8}\b")
#: E-mail addresses (the e-mail channel's recipients, in SMTP answers and errors).
EMAIL = re.compile(r"[\w.+%-]+@[\w-]+(?:\.[\w-]+)+")
NAME_KEY = re.compile(r"(^|_)(full_?)?name$", re.IGNORECASE)
#: Attributes every LogRecord has; anything else on a record came from `extra`.
_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_DONE = "_notifyd_masked"


def mask_text(text: str) -> str:
    return EMAIL.sub(MASK, PASSPORT.sub(MASK, PHONE.sub(MASK, text)))


def _mask_value(key: str, value: Any) -> Any:
    if NAME_KEY.search(key):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return mask_text(str(value))


class MaskPersonalData(logging.Filter):
    """Rewrites a record in place: the formatted message masked (arguments merged in), every
    extra masked; marked so that a second handler does not mask it again."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _DONE, False):
            return True
        record.msg = mask_text(record.getMessage())
        record.args = None
        for key in [k for k in vars(record) if k not in _STANDARD]:
            setattr(record, key, _mask_value(key, getattr(record, key)))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        record.exc_info = None  # the masked text stands in for it
        setattr(record, _DONE, True)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key != _DONE and key not in out:
                out[key] = value
        if record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(
    level: str | int = "INFO", json: bool = True, stream: TextIO | None = None
) -> None:
    """Route every logger to one stdout handler (replacing earlier ones), masked."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.addFilter(MaskPersonalData())
    handler.setFormatter(
        JsonFormatter() if json else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
