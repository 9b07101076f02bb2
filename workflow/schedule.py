"""Every deadline of a case: the deadline rules' dates and the answer date of its questions.

The questions are the workflow's, so the answer date is read here and handed to
`deadlines.policy.case_deadlines`, which sits below the workflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cases.models import Case
from deadlines import policy
from workflow.models import Clarification


def case_deadlines(case: Case, now: datetime) -> dict[str, Any]:
    due_at = (
        Clarification.objects.answer_due_at(case) if case.state == Case.State.EXPLANATION else None
    )
    return policy.case_deadlines(case, now, due_at)
