"""The secretariat grants extensions (gia hạn); the unit is told; bad input changes nothing."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import time_machine

from cases.models import Case
from deadlines.models import Extension
from tests.deadlines.helpers import at, fresh, inbox, request_explanation
from tests.helpers import api, fill_self_scores
from workflow import services
from workflow.models import AuditEntry, Clarification

EXTENSION_KIND = "deadlines.extension_granted"


def extend(user: Any, case: Case, **body: Any) -> Any:
    payload = {"kind": "self_assessment", "due_date": "07/04/2026", "reason": "Đổi lãnh đạo"}
    payload.update(body)
    return api(user).post(f"/api/v1/cases/{case.pk}/extensions/", payload, format="json")


@pytest.fixture(autouse=True)
def _on_27_march_2026() -> Any:
    with time_machine.travel(at(2026, 3, 27, 10), tick=False):
        yield


def test_secretariat_extends_a_units_self_assessment_and_the_unit_is_told(
    dated: SimpleNamespace,
) -> None:
    response = extend(dated.secretariat, dated.case_a)

    assert response.status_code == 201, response.json()
    assert response.json()["due_date"] == "2026-04-07"
    assert response.json()["previous_due"] == "2026-03-31"
    entry = AuditEntry.objects.get(action="deadlines.extension.granted")
    assert (entry.case_id, entry.actor, entry.comment) == (
        dated.case_a.pk,
        dated.secretariat,
        "Đổi lãnh đạo",
    )
    assert (entry.before, entry.after) == ({"due_date": "2026-03-31"}, {"due_date": "2026-04-07"})
    assert inbox(EXTENSION_KIND) == [
        ("stp.head", EXTENSION_KIND, dated.case_a.pk),
        ("stp.staff", EXTENSION_KIND, dated.case_a.pk),
    ]


def test_the_case_shows_its_deadlines_time_left_and_the_extension(
    dated: SimpleNamespace,
) -> None:
    url = f"/api/v1/cases/{dated.case_a.pk}/"
    before = api(dated.staff_a).get(url).json()["deadlines"]
    assert before["self_assessment_due"] == "2026-03-31"
    assert before["self_assessment_extended"] is False
    # 27/3 10:00 → end of 31/3: 4 days and 14 hours.
    assert before["seconds_left"] == 4 * 86400 + 14 * 3600
    assert before["appraisal_due"] == "2026-05-10"
    assert before["explanation_due"] is None

    extend(dated.secretariat, dated.case_a)
    after = api(dated.staff_a).get(url).json()["deadlines"]
    assert after["self_assessment_due"] == "2026-04-07"
    assert after["self_assessment_cycle_due"] == "2026-03-31"
    assert after["self_assessment_extended"] is True
    assert after["self_assessment_extension_reason"] == "Đổi lãnh đạo"
    other = api(dated.staff_b).get(f"/api/v1/cases/{dated.case_b.pk}/").json()["deadlines"]
    assert other["self_assessment_extended"] is False


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"due_date": "30/03/2026"}, "must be later than the current one (31/03/2026)"),
        ({"due_date": "31/03/2026"}, "must be later than the current one"),
        ({"due_date": "10/05/2026"}, "before the appraisal deadline (10/05/2026)"),
        ({"due_date": "31/04/2026"}, "is not a date"),
        ({"due_date": "next week"}, "is not a date"),
        ({"reason": "  "}, "Give the reason"),
        ({"kind": "appraisal"}, "self_assessment"),
    ],
)
def test_bad_extensions_are_refused_and_change_nothing(
    dated: SimpleNamespace, body: dict[str, str], fragment: str
) -> None:
    response = api(dated.secretariat).post(
        f"/api/v1/cases/{dated.case_a.pk}/extensions/",
        {"kind": "self_assessment", "due_date": "07/04/2026", "reason": "Lý do", **body},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    answer = response.json()
    # The service's refusals are the detail; the input serializer's name their field.
    assert fragment in " ".join([answer["detail"], *answer["errors"]])
    assert not Extension.objects.exists()
    assert not AuditEntry.objects.filter(action="deadlines.extension.granted").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"due_date": "31/04/2026"}, "due_date"),
        ({"due_date": ["07/04/2026"]}, "due_date"),
        ({"due_date": 20260407}, "due_date"),
        ({"due_date": None}, "due_date"),
        ({"kind": ["self_assessment"]}, "kind"),
        ({"kind": None}, "kind"),
        ({"reason": {"text": "Lý do"}}, "reason"),
    ],
)
def test_secretariat_extending_with_a_field_of_the_wrong_shape_gets_the_field_named(
    dated: SimpleNamespace, body: dict[str, Any], field: str
) -> None:
    response = extend(dated.secretariat, dated.case_a, **body)
    assert response.status_code == 400, response.json()
    assert [e.split(":")[0] for e in response.json()["errors"]] == [field]
    assert not Extension.objects.exists()
    assert not AuditEntry.objects.filter(action="deadlines.extension.granted").exists()


def test_a_unit_head_sending_a_bad_extension_learns_only_that_they_may_not_extend(
    dated: SimpleNamespace,
) -> None:
    odd = {"kind": "appraisal", "due_date": ["x"], "reason": {"a": 1}}
    refused = extend(dated.head_a, dated.case_a, **odd)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Chỉ Sở Nội vụ được gia hạn.", "errors": []}
    assert extend(dated.head_b, dated.case_a, **odd).status_code == 404
    assert not Extension.objects.exists()


def test_an_extension_must_be_later_than_the_one_already_granted(dated: SimpleNamespace) -> None:
    assert extend(dated.secretariat, dated.case_a, due_date="2026-04-07").status_code == 201
    response = extend(dated.secretariat, dated.case_a, due_date="2026-04-05")
    assert response.status_code == 400
    assert "07/04/2026" in response.json()["detail"]
    assert extend(dated.secretariat, dated.case_a, due_date="2026-04-09").status_code == 201


@pytest.mark.parametrize(
    ("who", "status"),
    [("head_a", 403), ("staff_a", 403), ("appraiser", 403), ("leader", 403), ("head_b", 404)],
)
def test_only_the_secretariat_grants_extensions(
    dated: SimpleNamespace, who: str, status: int
) -> None:
    assert extend(getattr(dated, who), dated.case_a).status_code == status
    assert not Extension.objects.exists()


def test_everyone_who_sees_the_case_sees_its_extensions(dated: SimpleNamespace) -> None:
    extend(dated.secretariat, dated.case_a)
    url = f"/api/v1/cases/{dated.case_a.pk}/extensions/"
    rows = api(dated.staff_a).get(url).json()
    assert [(r["kind"], r["due_date"], r["granted_by"]) for r in rows] == [
        ("self_assessment", "2026-04-07", "secretariat")
    ]
    assert api(dated.staff_b).get(url).status_code == 404


def test_an_extension_reopens_the_door_for_a_case_locked_at_the_cutoff(
    dated: SimpleNamespace,
) -> None:
    from deadlines.sweep import sweep

    sweep(at(2026, 4, 1, 9))
    assert fresh(dated.case_a).is_late
    with time_machine.travel(at(2026, 4, 2, 9), tick=False):
        assert extend(dated.secretariat, dated.case_a).status_code == 201
    fill_self_scores(dated.case_a)
    now = at(2026, 4, 3, 9)
    services.run_transition(dated.case_a.pk, "recall", actor=dated.head_a, now=now)
    case = services.run_transition(dated.case_a.pk, "submit", actor=dated.head_a, now=now)
    assert (case.state, case.is_late) == (Case.State.SUBMITTED, False)


def test_no_self_assessment_extension_once_appraisal_started(dated: SimpleNamespace) -> None:
    Case.objects.filter(pk=dated.case_a.pk).update(state=Case.State.APPRAISING)
    assert extend(dated.secretariat, dated.case_a).status_code == 409


def test_secretariat_extends_the_answer_date_and_the_unit_may_answer_later(
    dated: SimpleNamespace,
) -> None:
    question = request_explanation(dated, dated.case_a, at(2026, 2, 12, 10))  # due 26/2/2026
    with time_machine.travel(at(2026, 2, 25, 9), tick=False):
        refused = extend(dated.secretariat, dated.case_a, kind="explanation", due_date="2026-02-20")
        assert refused.status_code == 400
        assert "26/02/2026" in refused.json()["detail"]
        response = extend(
            dated.secretariat, dated.case_a, kind="explanation", due_date="2026-03-04"
        )
        assert response.status_code == 201, response.json()
        deadlines = api(dated.staff_a).get(f"/api/v1/cases/{dated.case_a.pk}/").json()["deadlines"]
    assert (deadlines["explanation_due"], deadlines["explanation_extended"]) == (
        "2026-03-04",
        True,
    )
    assert Clarification.objects.get(pk=question.pk).due_at == at(2026, 3, 5, 0, 0)
    services.answer_clarification(
        question.pk, "Đã bổ sung.", actor=dated.staff_a, now=at(2026, 3, 2, 9)
    )


def test_no_explanation_extension_without_an_open_request(dated: SimpleNamespace) -> None:
    response = extend(dated.secretariat, dated.case_a, kind="explanation")
    assert response.status_code == 409
