"""Helpers of the deadline tests: fixed calendar dates and explicit `now` instants.

The `dated` fixture (conftest) gives the cycle of `world` these deadlines; tests pass `now`
(Asia/Ho_Chi_Minh instants) to the services and the sweep.
"""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from cases.models import Case, Cycle
from deadlines.calendar import VN
from notifications.models import Notification
from tests.helpers import force_state
from workflow import services
from workflow.models import Clarification

SELF_DUE = date(2026, 3, 31)
APPRAISAL_DUE = date(2026, 5, 10)


def at(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    microsecond: int = 0,
) -> datetime:
    """An instant in Asia/Ho_Chi_Minh."""
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=VN)


def set_cycle(cycle: Cycle, **fields: Any) -> Cycle:
    Cycle.objects.filter(pk=cycle.pk).update(**fields)
    cycle.refresh_from_db()
    return cycle


def fresh(case: Case) -> Case:
    return Case.objects.select_related("cycle", "unit").get(pk=case.pk)


def request_explanation(w: SimpleNamespace, case: Case, now: datetime) -> Clarification:
    """Put the case in appraisal, ask one question on 1.1.1 and send it (answer date fixed)."""
    force_state(case, Case.State.APPRAISING)
    question = services.ask_clarification(
        case.pk, "1.1.1", "Xin cung cấp kế hoạch CCHC đã ban hành.", actor=w.appraiser, now=now
    )
    services.run_transition(case.pk, "request_explanation", actor=w.appraiser, now=now)
    question.refresh_from_db()
    return question


def inbox(kind: str | None = None) -> list[tuple[str, str, int | None]]:
    """(recipient, kind, case) of every notification, sorted; filtered by kind if given."""
    rows = Notification.objects.all()
    if kind:
        rows = rows.filter(kind=kind)
    return sorted(rows.values_list("recipient__username", "kind", "case_id"))
