"""Working-day arithmetic in Asia/Ho_Chi_Minh: pure functions, time passed in.

A date as a deadline means the end of that day in Vietnam: 23:59:59 on the date is in
time, 00:00:00 the next day is late, whatever the server's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def local_date(moment: datetime) -> date:
    return moment.astimezone(VN).date()


def end_of_day(day: date) -> datetime:
    """The first instant after the day ends in Vietnam (a deadline is before this)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=VN)


def is_past(day: date, now: datetime) -> bool:
    return now >= end_of_day(day)


@lru_cache(maxsize=32)
def public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year).keys())


def is_working_day(
    day: date, days_off: frozenset[date] = frozenset(), make_up: frozenset[date] = frozenset()
) -> bool:
    if day in make_up:
        return True
    if day in days_off or day in public_holidays(day.year):
        return False
    return day.weekday() < 5


def add_working_days(
    start: date,
    n: int,
    days_off: frozenset[date] = frozenset(),
    make_up: frozenset[date] = frozenset(),
) -> date:
    """The date N working days after `start` (start itself not counted)."""
    day = start
    remaining = n
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day, days_off, make_up):
            remaining -= 1
    return day
