"""Deadline guards added to the workflow's transition table (registered in apps.ready)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases.models import Case
from deadlines import policy
from deadlines.calendar import last_day


def answer_window_open(case: Case, now: datetime, params: dict[str, Any]) -> list[str]:
    """The explanation is sent before the (possibly extended) answer date ends, not after."""
    due_at = policy.explanation_due_at(case)
    if due_at is not None and now >= due_at:
        return [
            _("The answer window closed on %(date)s.")
            % {"date": date_format(last_day(due_at), "d/m/Y")}
        ]
    return []
