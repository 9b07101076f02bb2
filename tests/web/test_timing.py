"""Time left before a deadline, as the pages write it (Vietnamese)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from web.timing import time_left

VN = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 3, 25, 8, 30, tzinfo=VN)


@pytest.mark.parametrize(
    ("delta", "text", "level"),
    [
        (timedelta(days=9, hours=5), "còn 9 ngày", "ok"),
        (timedelta(days=2, hours=15, minutes=30), "còn 2 ngày 15 giờ", "urgent"),
        (timedelta(hours=3, minutes=20), "còn 3 giờ 20 phút", "urgent"),
        (timedelta(seconds=20), "còn 1 phút", "urgent"),
        (timedelta(0), "quá hạn 1 phút", "passed"),
        (-timedelta(days=1, hours=2), "quá hạn 1 ngày 2 giờ", "passed"),
    ],
)
def test_time_left_reads_like_a_person_would_say_it(
    delta: timedelta, text: str, level: str
) -> None:
    with translation.override("vi"):
        left = time_left(NOW + delta, NOW)
    assert (left.text, left.level) == (text, level)


def test_english_plurals() -> None:
    with translation.override("en"):
        assert time_left(NOW + timedelta(days=1, hours=1), NOW).text == "1 day 1 hour left"
        assert time_left(NOW + timedelta(days=3), NOW).text == "3 days left"
