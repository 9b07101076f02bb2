"""Time left before a deadline, as a civil servant near one wants to read it.

Pure functions: the moment is passed in. A deadline date means the end of that day in
Asia/Ho_Chi_Minh (`deadlines.calendar.end_of_day`), so "31/3" is still in time at 23:59.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

DAY = 86400
HOUR = 3600
URGENT_SECONDS = 3 * DAY


@dataclass(frozen=True)
class TimeLeft:
    seconds: int
    text: str

    @property
    def passed(self) -> bool:
        return self.seconds <= 0

    @property
    def urgent(self) -> bool:
        return 0 < self.seconds <= URGENT_SECONDS

    @property
    def level(self) -> str:
        """A CSS-friendly word: passed, urgent or ok."""
        return "passed" if self.passed else "urgent" if self.urgent else "ok"


def _span(seconds: int) -> str:
    days, rest = divmod(seconds, DAY)
    hours, rest = divmod(rest, HOUR)
    minutes = rest // 60
    if days:
        parts = [ngettext("%(n)d day", "%(n)d days", days) % {"n": days}]
        if hours and days < 7:
            parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
        return " ".join(parts)
    if hours:
        parts = [ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}]
        if minutes:
            parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
        return " ".join(parts)
    return ngettext("%(n)d minute", "%(n)d minutes", max(minutes, 1)) % {"n": max(minutes, 1)}


def time_left(ends_at: datetime, now: datetime) -> TimeLeft:
    """How long until `ends_at` (the first instant after the deadline), or how long overdue."""
    seconds = int((ends_at - now).total_seconds())
    if seconds > 0:
        return TimeLeft(seconds, _("%(time)s left") % {"time": _span(seconds)})
    return TimeLeft(seconds, _("%(time)s overdue") % {"time": _span(-seconds)})
