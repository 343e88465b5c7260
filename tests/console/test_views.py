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
