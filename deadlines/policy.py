"""Which deadline applies to a case now. The one place the guards and the sweep ask."""

from __future__ import annotations

from datetime import date, datetime

from cases.models import Case
from deadlines.calendar import add_working_days, local_date


def self_assessment_due(case: Case) -> date:
    return case.cycle.self_assessment_due


def explanation_due(case: Case, now: datetime) -> date:
    """The answer date of a clarification request made now: N working days from today."""
    return add_working_days(local_date(now), case.cycle.explanation_window_days)
