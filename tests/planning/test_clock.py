"""clock.py: an office's open days and send window, as UTC instants. `now` is always given."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import office, utc
from notifyd.planning.clock import Office, at

BLITAR = office()

# July 2026: Mon 13, Tue 14, Wed 15, Thu 16, Fri 17, Sat 18, Sun 19 — no public holiday.
WEDNESDAY = date(2026, 7, 15)
FRIDAY = date(2026, 7, 17)
SATURDAY = date(2026, 7, 18)
SUNDAY = date(2026, 7, 19)
MONDAY = date(2026, 7, 20)
CHRISTMAS = date(2026, 12, 25)  # a Friday
CLOSURE = date(2026, 11, 10)  # a Tuesday, closed in the config


def test_from_config_compiles_the_calendar() -> None:
    assert BLITAR.code == "BLT"
    assert BLITAR.tz == ZoneInfo("Asia/Jakarta")
    assert str(BLITAR.window) == "09:00-17:00"
    assert BLITAR.weekend == frozenset({5, 6})
    assert BLITAR.closed == frozenset({CLOSURE})
    assert BLITAR.holidays_country == "ID"


@pytest.mark.parametrize(
    ("day", "is_open"),
    [
        pytest.param(WEDNESDAY, True, id="weekday"),
        pytest.param(FRIDAY, True, id="friday"),
        pytest.param(SATURDAY, False, id="saturday"),
        pytest.param(SUNDAY, False, id="sunday"),
        pytest.param(CHRISTMAS, False, id="christmas"),
        pytest.param(date(2026, 8, 17), False, id="independence-day"),
        pytest.param(CLOSURE, False, id="configured-closure"),
        pytest.param(date(2026, 12, 24), True, id="christmas-eve"),
    ],
)
def test_is_open(day: date, is_open: bool) -> None:
    assert BLITAR.is_open(day) is is_open


def test_is_open_follows_the_configured_weekend() -> None:
    # An office closed on Friday and Saturday, open on Sunday.
    gulf = office(weekend=["fri", "sat"], holidays_country="")
    assert gulf.is_open(SUNDAY)
    assert not gulf.is_open(FRIDAY)
    assert not gulf.is_open(SATURDAY)


def test_without_a_holiday_country_only_weekends_and_closures_close() -> None:
    plain = office(holidays_country="")
    assert plain.is_open(CHRISTMAS)
    assert not plain.is_open(CLOSURE)


@pytest.mark.parametrize(
    ("day", "previous", "following"),
    [
        pytest.param(WEDNESDAY, WEDNESDAY, WEDNESDAY, id="open-day-is-itself"),
        pytest.param(SATURDAY, FRIDAY, MONDAY, id="saturday"),
        pytest.param(SUNDAY, FRIDAY, MONDAY, id="sunday"),
        pytest.param(CHRISTMAS, date(2026, 12, 24), date(2026, 12, 28), id="christmas"),
        pytest.param(CLOSURE, date(2026, 11, 9), date(2026, 11, 11), id="closure"),
    ],
)
def test_previous_and_next_open(day: date, previous: date, following: date) -> None:
    assert BLITAR.previous_open(day) == previous
    assert BLITAR.next_open(day) == following


def test_opens_and_closes_in_utc() -> None:
    # 09:00 and 17:00 WIB (UTC+7).
    assert BLITAR.opens(WEDNESDAY) == utc(2026, 7, 15, 2, 0)
    assert BLITAR.closes(WEDNESDAY) == utc(2026, 7, 15, 10, 0)
    assert BLITAR.opens(WEDNESDAY).tzinfo is UTC


def test_wita_office_opens_an_hour_earlier_in_utc() -> None:
    makassar = office("MKS", timezone="Asia/Makassar")
    assert makassar.opens(WEDNESDAY) == utc(2026, 7, 15, 1, 0)
    assert makassar.opens(WEDNESDAY) == BLITAR.opens(WEDNESDAY) - timedelta(hours=1)
    jayapura = office("DJJ", timezone="Asia/Jayapura")
    assert jayapura.opens(WEDNESDAY) == utc(2026, 7, 15, 0, 0)


def test_all_day_window_closes_at_the_next_local_midnight() -> None:
    all_day = office(window="00:00-24:00")
    assert all_day.opens(WEDNESDAY) == utc(2026, 7, 14, 17, 0)
    assert all_day.closes(WEDNESDAY) == utc(2026, 7, 15, 17, 0)
    assert all_day.in_window(utc(2026, 7, 15, 16, 59, 59))
    assert all_day.in_window(utc(2026, 7, 14, 17, 0))


def test_dst_moves_the_window_in_utc() -> None:
    # Europe/Berlin: summer time starts 2026-03-29 and ends 2026-10-25 (both Sundays).
    berlin = office("BER", timezone="Europe/Berlin", weekend=[], holidays_country="")
    assert berlin.opens(date(2026, 3, 28)) == utc(2026, 3, 28, 8, 0)
    assert berlin.opens(date(2026, 3, 29)) == utc(2026, 3, 29, 7, 0)
    assert berlin.opens(date(2026, 10, 24)) == utc(2026, 10, 24, 7, 0)
    assert berlin.opens(date(2026, 10, 25)) == utc(2026, 10, 25, 8, 0)
    all_day = office("BER", timezone="Europe/Berlin", window="00:00-24:00", weekend=[])
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    assert all_day.closes(spring) - all_day.opens(spring) == timedelta(hours=23)
    assert all_day.closes(autumn) - all_day.opens(autumn) == timedelta(hours=25)


def test_at_reads_wall_clock_time_in_the_zone() -> None:
    assert at(WEDNESDAY, 9, 30, ZoneInfo("Asia/Jayapura")) == utc(2026, 7, 15, 0, 30)


def test_local_day_is_the_office_day_not_the_utc_day() -> None:
    # 20:00 UTC on Tuesday is 03:00 WIB on Wednesday.
    assert BLITAR.local_day(utc(2026, 7, 14, 20, 0)) == WEDNESDAY


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        pytest.param(utc(2026, 7, 15, 2, 0), True, id="start-inclusive"),
        pytest.param(utc(2026, 7, 15, 1, 59, 59), False, id="just-before-start"),
        pytest.param(utc(2026, 7, 15, 6, 0), True, id="midday"),
        pytest.param(utc(2026, 7, 15, 9, 59, 59), True, id="just-before-end"),
        pytest.param(utc(2026, 7, 15, 10, 0), False, id="end-exclusive"),
        pytest.param(utc(2026, 7, 14, 20, 0), False, id="night"),
        pytest.param(utc(2026, 7, 18, 3, 0), False, id="saturday-morning"),
        pytest.param(utc(2026, 12, 25, 3, 0), False, id="christmas-morning"),
        pytest.param(utc(2026, 11, 10, 3, 0), False, id="closure-morning"),
    ],
)
def test_in_window(instant: datetime, inside: bool) -> None:
    assert BLITAR.in_window(instant) is inside


def test_in_window_accepts_any_aware_time_zone() -> None:
    wib_morning = datetime(2026, 7, 15, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
    assert BLITAR.in_window(wib_morning)
    assert not BLITAR.in_window(wib_morning - timedelta(microseconds=1))


@pytest.mark.parametrize(
    ("now", "opening"),
    [
        pytest.param(utc(2026, 7, 15, 5, 17), utc(2026, 7, 15, 5, 17), id="inside-window-is-now"),
        pytest.param(utc(2026, 7, 15, 2, 0), utc(2026, 7, 15, 2, 0), id="at-start-is-now"),
        pytest.param(utc(2026, 7, 15, 1, 0), utc(2026, 7, 15, 2, 0), id="before-window-today"),
        pytest.param(utc(2026, 7, 14, 20, 0), utc(2026, 7, 15, 2, 0), id="utc-day-before"),
        pytest.param(utc(2026, 7, 15, 10, 0), utc(2026, 7, 16, 2, 0), id="at-end-is-tomorrow"),
        pytest.param(utc(2026, 7, 15, 11, 0), utc(2026, 7, 16, 2, 0), id="after-window"),
        pytest.param(utc(2026, 7, 17, 12, 0), utc(2026, 7, 20, 2, 0), id="friday-evening"),
        pytest.param(utc(2026, 7, 18, 3, 0), utc(2026, 7, 20, 2, 0), id="saturday"),
        pytest.param(utc(2026, 12, 24, 12, 0), utc(2026, 12, 28, 2, 0), id="before-christmas"),
        pytest.param(utc(2026, 11, 9, 12, 0), utc(2026, 11, 11, 2, 0), id="before-closure"),
    ],
)
def test_next_opening(now: datetime, opening: datetime) -> None:
    assert BLITAR.next_opening(now) == opening
    assert BLITAR.in_window(opening)


def test_next_opening_of_an_all_day_window_on_a_weekend() -> None:
    all_day = office(window="00:00-24:00")
    # Saturday 10:00 WIB → Monday 00:00 WIB.
    assert all_day.next_opening(utc(2026, 7, 18, 3, 0)) == utc(2026, 7, 19, 17, 0)
    assert all_day.next_opening(utc(2026, 7, 15, 16, 59)) == utc(2026, 7, 15, 16, 59)


def test_a_calendar_with_no_open_day_is_an_error_not_a_hang() -> None:
    closed_for_months = Office(
        code="X",
        tz=ZoneInfo("Asia/Jakarta"),
        window=BLITAR.window,
        weekend=frozenset(range(6)),
        closed=frozenset(date(2026, 7, 5) + timedelta(weeks=w) for w in range(20)),  # Sundays
    )
    with pytest.raises(ValueError, match="no open day"):
        closed_for_months.next_open(date(2026, 7, 1))
