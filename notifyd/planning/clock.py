"""Time zones, send windows and open days of an office. Pure: `now` is always an argument."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from notifyd.config import WEEKDAYS, OfficeConfig, Window, parse_window

#: How far to look for an open day before deciding the calendar is broken.
MAX_SEARCH_DAYS = 60


@dataclass(frozen=True)
class Office:
    """An office's calendar, compiled from its config for fast, pure questions."""

    code: str
    tz: ZoneInfo
    window: Window
    weekend: frozenset[int]
    closed: frozenset[date]
    holidays_country: str = ""
    holidays_subdiv: str = ""

    @classmethod
    def from_config(cls, code: str, cfg: OfficeConfig) -> Office:
        return cls(
            code=code,
            tz=ZoneInfo(cfg.timezone),
            window=parse_window(cfg.window, f"offices.{code}.window"),
            weekend=frozenset(WEEKDAYS.index(d) for d in cfg.weekend),
            closed=frozenset(date.fromisoformat(d) for d in cfg.closed),
            holidays_country=cfg.holidays_country,
            holidays_subdiv=cfg.holidays_subdiv,
        )

    def is_open(self, day: date) -> bool:
        """An office day: not a weekend day, a public holiday or a configured closure, and
        one whose window exists (a clock change can swallow a window in the small hours)."""
        if day.weekday() in self.weekend or day in self.closed:
            return False
        if self.holidays_country and day in _holidays(
            self.holidays_country, self.holidays_subdiv, day.year
        ):
            return False
        return self.opens(day) < self.closes(day)

    def previous_open(self, day: date) -> date:
        return self._search(day, -1)

    def next_open(self, day: date) -> date:
        return self._search(day, +1)

    def _search(self, day: date, step: int) -> date:
        for _ in range(MAX_SEARCH_DAYS):
            if self.is_open(day):
                return day
            day += timedelta(days=step)
        raise ValueError(f"office {self.code} has no open day within {MAX_SEARCH_DAYS} days")

    def opens(self, day: date) -> datetime:
        """The window's start on a local day, in UTC."""
        return at(day, self.window.start.hour, self.window.start.minute, self.tz)

    def closes(self, day: date) -> datetime:
        """The window's end on a local day, in UTC (24:00 is the next midnight)."""
        end = self.window.end
        if end is None:
            return at(day + timedelta(days=1), 0, 0, self.tz)
        return at(day, end.hour, end.minute, self.tz)

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def in_window(self, instant: datetime) -> bool:
        """True when a notice may go out now: an open day, inside the window."""
        day = self.local_day(instant)
        return self.is_open(day) and self.opens(day) <= instant < self.closes(day)

    def next_opening(self, now: datetime) -> datetime:
        """`now` if the window is open, else the start of the next window on an open day."""
        day = self.local_day(now)
        if self.is_open(day) and now < self.closes(day):
            return max(now, self.opens(day))
        return self.opens(self.next_open(day + timedelta(days=1)))


def at(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    """A local wall-clock time as an aware UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)


@lru_cache(maxsize=256)
def _holidays(country: str, subdiv: str, year: int) -> frozenset[date]:
    found = holidays.country_holidays(country, subdiv=subdiv or None, years=year)
    return frozenset(found.keys())
