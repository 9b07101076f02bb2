"""The secretariat sets a cycle's deadlines and reminder settings (audited, with a reason)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from cases.models import Cycle
from deadlines.models import Extension
from tests.deadlines.helpers import at
from tests.helpers import api
from workflow.models import AuditEntry


def patch(user: Any, cycle: Cycle, body: dict[str, Any]) -> Any:
    return api(user).patch(
        f"/api/v1/cycles/{cycle.pk}/", body, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )


def test_secretariat_sets_reminder_days_and_automatic_appraisal(dated: SimpleNamespace) -> None:
    response = patch(
        dated.secretariat,
        dated.cycle,
        {
            "reminder_offsets": [1, 14, 0, 14],
            "overdue_reminder": False,
            "auto_start_appraisal": True,
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["reminder_offsets"], body["overdue_reminder"], body["auto_start_appraisal"]) == (
        [14, 1, 0],
        False,
        True,
    )
    entry = AuditEntry.objects.get(action="cases.cycle.changed")
    assert entry.after == {
        "reminder_offsets": [14, 1, 0],
        "overdue_reminder": False,
        "auto_start_appraisal": True,
    }


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"reminder_offsets": [7, -1]}, "Reminder days"),
        ({"reminder_offsets": [7, 90]}, "Reminder days"),
        ({"reminder_offsets": "soon"}, "Reminder days"),
        ({"reminder_offsets": [True]}, "Reminder days"),
        ({"auto_start_appraisal": "maybe"}, "true or false"),
        ({"self_assessment_due": "31.03.2026", "reason": "x"}, "is not a date"),
        ({"self_assessment_due": "2026-05-11", "reason": "x"}, "must come after"),
        ({"appraisal_due": "2026-03-30", "reason": "x"}, "must come after"),
        ({"self_assessment_due": "2026-04-05"}, "reason"),
    ],
)
def test_bad_cycle_settings_are_refused_and_change_nothing(
    dated: SimpleNamespace, body: dict[str, Any], fragment: str
) -> None:
    response = patch(dated.secretariat, dated.cycle, body)
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    dated.cycle.refresh_from_db()
    assert (dated.cycle.reminder_offsets, dated.cycle.auto_start_appraisal) == ([7, 3, 1, 0], False)
    assert str(dated.cycle.self_assessment_due) == "2026-03-31"


def test_the_appraisal_deadline_cannot_move_before_a_granted_extension(
    dated: SimpleNamespace,
) -> None:
    Extension.objects.create(
        case=dated.case_a,
        kind=Extension.Kind.SELF_ASSESSMENT,
        previous_due=dated.cycle.self_assessment_due,
        due_date=at(2026, 4, 20).date(),
        reason="x",
        granted_by=dated.secretariat,
    )
    response = patch(dated.secretariat, dated.cycle, {"appraisal_due": "2026-04-15", "reason": "x"})
    assert response.status_code == 400
    assert "20/04/2026" in response.json()["detail"]
    assert (
        patch(
            dated.secretariat, dated.cycle, {"appraisal_due": "2026-04-21", "reason": "x"}
        ).status_code
        == 200
    )


def test_a_unit_head_cannot_change_the_cycle(dated: SimpleNamespace) -> None:
    assert patch(dated.head_a, dated.cycle, {"auto_start_appraisal": True}).status_code == 403
