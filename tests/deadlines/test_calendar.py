"""Working days and deadline instants, as pure functions (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from deadlines.calendar import (
    add_working_days,
    end_of_day,
    is_past,
    is_working_day,
    last_day,
    parse_day,
    reminder_day,
)
from deadlines.policy import clean_offsets, current_offset
from tests.deadlines.helpers import at

TET_2026 = [date(2026, 2, 14) + timedelta(days=i) for i in range(9)]  # 14/2 – 22/2/2026


def test_every_day_of_the_tet_2026_break_is_off() -> None:
    assert [d for d in TET_2026 if is_working_day(d)] == []
    assert is_working_day(date(2026, 2, 13)) and is_working_day(date(2026, 2, 23))


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # docs/domain.md: 5 working days from Thursday 12/2/2026 end on Thursday 26/2/2026.
        (date(2026, 2, 12), 5, date(2026, 2, 26)),
        (date(2026, 2, 12), 1, date(2026, 2, 13)),
        (date(2026, 2, 13), 1, date(2026, 2, 23)),  # Friday before Tết → Monday after
        (date(2026, 2, 17), 1, date(2026, 2, 23)),  # asked during Tết
        (date(2026, 3, 27), 5, date(2026, 4, 3)),  # an ordinary week: weekend skipped
        (date(2026, 4, 24), 3, date(2026, 5, 4)),  # Giỗ Tổ (27/4 observed), 30/4 and 1/5
        (date(2026, 8, 21), 1, date(2026, 8, 22)),  # Saturday 22/8/2026 is worked (for 31/8)
        (date(2026, 8, 28), 1, date(2026, 9, 3)),  # 31/8, 1/9 and 2/9 are off
        (date(2025, 1, 24), 1, date(2025, 2, 3)),  # Tết 2025: 25/1 – 2/2/2025
    ],
)
def test_working_days_skip_weekends_and_public_holidays(
    start: date, n: int, expected: date
) -> None:
    assert add_working_days(start, n) == expected


def test_a_make_up_saturday_counts_and_an_extra_day_off_does_not() -> None:
    make_up = frozenset({date(2026, 2, 28)})  # Saturday worked in exchange for a bridge day
    day_off = frozenset({date(2026, 3, 2)})
    assert not is_working_day(date(2026, 2, 28))
    assert is_working_day(date(2026, 2, 28), make_up=make_up)
    assert add_working_days(date(2026, 2, 26), 2) == date(2026, 3, 2)
    assert add_working_days(date(2026, 2, 26), 2, make_up=make_up) == date(2026, 2, 28)
    assert add_working_days(date(2026, 2, 26), 2, days_off=day_off) == date(2026, 3, 3)


@pytest.mark.parametrize(
    ("moment", "late"),
    [
        (at(2026, 3, 31, 23, 59, 59), False),
        (at(2026, 3, 31, 23, 59, 59, 999999), False),
        (at(2026, 4, 1, 0, 0, 0), True),
        # The same two instants written in UTC: 16:59:59 and 17:00:00 on 31/3.
        (datetime(2026, 3, 31, 16, 59, 59, tzinfo=UTC), False),
        (datetime(2026, 3, 31, 17, 0, 0, tzinfo=UTC), True),
    ],
)
def test_a_deadline_date_ends_at_midnight_in_vietnam(moment: datetime, late: bool) -> None:
    assert is_past(date(2026, 3, 31), moment) is late


def test_the_stored_end_of_a_day_is_shown_as_that_day() -> None:
    assert last_day(end_of_day(date(2026, 2, 26))) == date(2026, 2, 26)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("31/03/2026", date(2026, 3, 31)),
        ("2026-03-31", date(2026, 3, 31)),
        (" 1/4/2026 ", date(2026, 4, 1)),
        ("31/02/2026", None),
        ("2026-02-30", None),
        ("next friday", None),
        ("", None),
        (None, None),
        (20260331, None),
    ],
)
def test_dates_are_read_as_dd_mm_yyyy_or_iso(raw: object, expected: date | None) -> None:
    assert parse_day(raw) == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2026, 3, 20, 12), None),  # 11 days before: no reminder yet
        (at(2026, 3, 24, 7), 7),
        (at(2026, 3, 27, 6, 59), 7),  # T-4 early morning: still the T-7 occasion
        (at(2026, 3, 28, 7), 3),
        (at(2026, 3, 30, 23), 1),
        (at(2026, 3, 31, 6, 59), 1),  # the day's reminder waits for the morning
        (at(2026, 3, 31, 7), 0),
        (at(2026, 3, 31, 23, 59, 59), 0),
        (at(2026, 4, 1, 0), None),  # past: the overdue occasion takes over
    ],
)
def test_the_latest_reminder_offset_reached_is_the_occasion(
    moment: datetime, expected: int | None
) -> None:
    assert current_offset(date(2026, 3, 31), moment, [7, 3, 1, 0]) == expected


def test_reminders_are_due_from_seven_in_the_morning_vietnam_time() -> None:
    assert reminder_day(at(2026, 3, 31, 6, 59)) == date(2026, 3, 30)
    assert reminder_day(at(2026, 3, 31, 7, 0)) == date(2026, 3, 31)


def test_bad_reminder_offsets_in_a_cycle_are_ignored() -> None:
    assert clean_offsets([7, 3, "x", True, -1, 3, 61, 0]) == [7, 3, 0]
    assert clean_offsets(None) == []
