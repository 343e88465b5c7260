"""What a viewer sees of a number, and the chart drawn on the server."""

from __future__ import annotations

from datetime import date

from notifyd.console import chart, views


def test_viewers_see_numbers_masked_supervisors_whole() -> None:
    assert views.shown("+6287751867782", "viewer") == "+62" + "•" * 8 + "782"
    assert views.shown("M12345678", "viewer") == "••••••678"
    assert views.shown("+6287751867782", "supervisor") == "+6287751867782"
    assert views.shown(None, "viewer") == ""


def test_the_chart_has_a_bar_per_day_and_says_its_total() -> None:
    (sms,) = chart.svg({"sms": {"2026-12-04": 3, "2026-11-05": 1}}, date(2026, 12, 4))
    assert sms["total"] == "4" and sms["svg"].count("<rect") == 30
    assert 'aria-label="sms: 4 attempts in 30 days"' in sms["svg"]
    assert "<title>2026-12-04: 3</title>" in sms["svg"] and "2026-11-04" not in sms["svg"]


def test_the_story_gives_each_attempt_its_address_and_marks_an_extra_notice() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)
    notice = {"id": 1, "created_at": at, "stage": 7, "due_at": at, "status": "scheduled",
              "updated_at": at, "reason": None}  # fmt: skip
    attempt = {"started_at": at, "notification_id": 2, "channel": "sms", "address": "+628123",
               "outcome": "permanent", "error": "21614", "provider_id": None, "engine": None,
               "kind": "notice", "receipt": None, "receipt_at": None}  # fmt: skip
    found = {"notices": [{**notice, "extra": 0}, {**notice, "id": 2, "extra": 1}],
             "attempts": [attempt], "opt_outs": [], "actions": []}  # fmt: skip
    story = views.story(found, [])
    assert [(e["what"], e["notice"]) for e in story if e["what"] != "attempt"] == [
        ("resend", 2), ("planned", 1),
    ]  # fmt: skip
    (tried,) = [e for e in story if e["what"] == "attempt"]
    got = (tried["address"], tried["outcome"], tried["reason"])
    assert got == ("+628123", "permanent", "21614")
