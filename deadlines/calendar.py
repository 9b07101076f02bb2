"""Working-day arithmetic in Asia/Ho_Chi_Minh: pure functions, time passed in.

A date as a deadline means the end of that day in Vietnam: 23:59:59 on the date is in
time, 00:00:00 the next day is late, whatever the server's time zone.

A working day is a weekday that is not a Vietnamese public holiday (Tết included, from the
`holidays` package, with the make-up Saturdays it knows), unless the secretariat's
overrides for that date say otherwise: their days off and make-up working days win.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from cases.errors import InvalidInput

VN = ZoneInfo("Asia/Ho_Chi_Minh")
# Reminders for a day go out from this hour on (the "morning of the day" reminder).
REMINDER_HOUR = 7


def local_date(moment: datetime) -> date:
    return moment.astimezone(VN).date()


def end_of_day(day: date) -> datetime:
    """The first instant after the day ends in Vietnam (a deadline is before this)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=VN)


def last_day(deadline_at: datetime) -> date:
    """The date a stored `end_of_day` instant closes: what the user is shown as the deadline."""
    return local_date(deadline_at - timedelta(microseconds=1))


def is_past(day: date, now: datetime) -> bool:
    return now >= end_of_day(day)


def reminder_day(now: datetime) -> date:
    """The latest day whose reminders are due: today from REMINDER_HOUR, else yesterday."""
    local = now.astimezone(VN)
    return local.date() if local.hour >= REMINDER_HOUR else local.date() - timedelta(days=1)


@lru_cache(maxsize=32)
def _vn_calendar(year: int) -> tuple[frozenset[date], frozenset[date]]:
    cal = holidays.country_holidays("VN", years=year)
    workdays = frozenset(d for d in cal.weekend_workdays if d.year == year)
    return frozenset(cal.keys()), workdays


def public_holidays(year: int) -> frozenset[date]:
    return _vn_calendar(year)[0]


def weekend_workdays(year: int) -> frozenset[date]:
    """Saturdays/Sundays the government declared working days (known to `holidays`)."""
    return _vn_calendar(year)[1]


def is_working_day(
    day: date, days_off: frozenset[date] = frozenset(), make_up: frozenset[date] = frozenset()
) -> bool:
    if day in make_up:
        return True
    if day in days_off or day in public_holidays(day.year):
        return False
    if day in weekend_workdays(day.year):
        return True
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


def not_a_date(raw: object, field: object = None) -> str:
    """The refusal of a typed date that is not one, in the words the pages and the API share;
    `field` names it where the refusal is not shown beside it."""
    shown = "" if raw is None else raw
    if field is None:
        return _("“%(raw)s” is not a date; write it as dd/mm/yyyy or yyyy-mm-dd.") % {"raw": shown}
    return _("%(field)s: “%(raw)s” is not a date; write it as dd/mm/yyyy or yyyy-mm-dd.") % {
        "field": field,
        "raw": shown,
    }


def typed_day(raw: str, field: object = None) -> date | None:
    """A date the user typed, read at the edge before a service takes it: None when left
    blank; refused (`InvalidInput`) when it is not a date."""
    if not raw.strip():
        return None
    day = parse_day(raw)
    if day is None:
        raise InvalidInput(not_a_date(raw, field))
    return day


def parse_day(raw: Any) -> date | None:
    """A date written dd/mm/yyyy or yyyy-mm-dd (or a date already); None if it is not one."""
    if isinstance(raw, datetime):
        return None
    if isinstance(raw, date):
        return raw
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    try:
        parsed = parse_date(text)
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            parsed = datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            return None
    return parsed
