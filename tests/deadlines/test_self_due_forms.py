"""The self-assessment deadline of a case is said three ways (policy's docstring): in Python,
as a query expression for the sweep, and as SQL for the query that locks a case. They agree."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from cases.models import Case
from deadlines import policy
from deadlines.models import Extension
from tests.deadlines.helpers import SELF_DUE, fresh


def _three(case: Case) -> tuple[date, date, date]:
    by_python = policy.self_assessment_due(fresh(case))
    by_expression = Case.objects.annotate(due=policy.effective_self_due()).get(pk=case.pk).due
    by_sql = Case.objects.annotate(due=policy.self_due_sql()).get(pk=case.pk).due
    return by_python, by_expression, by_sql


def _extend(w: SimpleNamespace, case: Case, kind: str, previous: date, due: date) -> None:
    Extension.objects.create(
        case=case,
        kind=kind,
        previous_due=previous,
        due_date=due,
        reason="Đổi lãnh đạo",
        granted_by=w.secretariat,
    )


def test_the_three_forms_of_the_self_assessment_deadline_agree(dated: SimpleNamespace) -> None:
    case = dated.case_a
    assert _three(case) == (SELF_DUE,) * 3
    # An explanation extension moves another deadline.
    _extend(dated, case, Extension.Kind.EXPLANATION, SELF_DUE, date(2026, 6, 1))
    assert _three(case) == (SELF_DUE,) * 3
    # An extension no later than the cycle's date (the cycle's date moved after it) moves nothing.
    _extend(dated, case, Extension.Kind.SELF_ASSESSMENT, date(2026, 3, 1), date(2026, 3, 20))
    assert _three(case) == (SELF_DUE,) * 3
    # The latest of those later than the cycle's date applies.
    _extend(dated, case, Extension.Kind.SELF_ASSESSMENT, SELF_DUE, date(2026, 4, 10))
    _extend(dated, case, Extension.Kind.SELF_ASSESSMENT, date(2026, 4, 10), date(2026, 4, 17))
    assert _three(case) == (date(2026, 4, 17),) * 3
    # Another case keeps the cycle's date.
    assert _three(dated.case_b) == (SELF_DUE,) * 3
