"""The daemon's log lines: JSON on one line each, with names and numbers masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from notifyd.logs import MASK, mask_text, setup_logging


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """The root logger set up as the daemon does it, writing to a buffer; restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buf = io.StringIO()
    setup_logging("DEBUG", json=True, stream=buf)
    yield buf
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def lines(buf: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


@pytest.mark.parametrize(
    "text",
    [
        "+6281234567890",
        "+62 812-3456-7890",
        "+61 412 345 678",
        "0812-3456-7890",
        "0812 3456 7890",
        "081234567890",
        "6281234567890",
        "+1 415.555.2671",
        "(0342) 123456",
        "+62 (812) 3456-7890",
        "15551234567",  # WhatsApp's wa_id: international, without its +
        "61412345678",
        "447700900123@c.us",  # a WAHA chat id
    ],
)
def test_phone_numbers_are_masked_in_every_form(text: str) -> None:
    assert mask_text(f"sending to {text} now").startswith(f"sending to {MASK}")
    assert not any(ch.isdigit() for ch in mask_text(f"sending to {text} now"))


@pytest.mark.parametrize(
    "text",
    [
        "notice 123456 due 2026-12-04 09:30:00",
        "attempt 42 took 0.123456 s",
        "permit 2C11AB0001-26 of BLT-00001",
        "claimed 5000 rows in 12345678 us",
    ],
)
def test_ids_dates_and_durations_stay_readable(text: str) -> None:
    assert mask_text(text) == text


def test_passport_numbers_are_masked() -> None:
    assert mask_text("passport PA0000123 and X1234567") == f"passport {MASK} and {MASK}"


def test_a_record_is_one_json_line_with_stable_keys_and_masked_args(stream) -> None:
    log = logging.getLogger("notifyd.delivery.dispatch")
    log.info("sent %s to %s", 17, "+6281234567890", extra={"notice": 17, "channel": "sms"})
    (line,) = lines(stream)
    assert list(line)[:4] == ["ts", "level", "logger", "msg"]
    assert line["ts"].endswith("+00:00")
    assert (line["level"], line["logger"]) == ("info", "notifyd.delivery.dispatch")
    assert line["msg"] == f"sent 17 to {MASK}"
    assert (line["notice"], line["channel"]) == (17, "sms")


def test_extras_that_name_a_name_are_masked_whole_and_numbers_in_others(stream) -> None:
    logging.getLogger("notifyd.registry.sync").warning(
        "row rejected",
        extra={"full_name": "王伟", "person_name": "Isla O'Connor", "to": "0812-3456-0001",
               "detail": "passport PA0000001 expired", "line": 12},
    )  # fmt: skip
    (line,) = lines(stream)
    assert line["full_name"] == MASK and line["person_name"] == MASK
    assert line["to"] == MASK and line["detail"] == f"passport {MASK} expired"
    assert line["line"] == 12
    raw = stream.getvalue()
    assert "王伟" not in raw and "O'Connor" not in raw and "3456" not in raw


def test_a_traceback_is_masked_too(stream) -> None:
    try:
        raise ValueError("provider refused +6281234560001")
    except ValueError:
        logging.getLogger("notifyd.delivery.dispatch").exception("send failed")
    (line,) = lines(stream)
    assert "ValueError" in line["exc"] and "+6281234560001" not in line["exc"]
    assert MASK in line["exc"]


def test_a_second_handler_gets_the_record_already_masked(stream) -> None:
    second = io.StringIO()
    handler = logging.StreamHandler(second)
    handler.setFormatter(logging.Formatter("%(message)s|%(to)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger("x").info("call %s", "+6281234560001", extra={"to": "+6281234560002"})
    assert second.getvalue() == f"call {MASK}|{MASK}\n"
    assert lines(stream)[0]["msg"] == f"call {MASK}"


def test_plain_text_mode_for_a_terminal(stream) -> None:
    buf = io.StringIO()
    setup_logging("INFO", json=False, stream=buf)
    logging.getLogger("notifyd").debug("hidden")
    logging.getLogger("notifyd").info("to %s", "0812 3456 0001")
    assert buf.getvalue() == f"INFO notifyd: to {MASK}\n"


@pytest.mark.parametrize(
    "text",
    [
        "SMTP 550 5.1.1 <refused.person@example.com>: mailbox unavailable",
        "sent to wang.wei+kitas@mail.example.cn",
        "Message-ID <174.5@kanim-blitar.go.id>",
    ],
)
def test_email_addresses_are_masked(text: str) -> None:
    masked = mask_text(text)
    assert "@" not in masked and "***" in masked
