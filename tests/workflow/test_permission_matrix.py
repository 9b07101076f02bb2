"""Every role × every transition × own unit / other unit: allowed, refused (403) or unseen (404).

Each case is prepared so that the transition's guards pass; the only thing that varies is
who asks. A refused request changes nothing and writes no audit entry.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from cases.models import Case
from tests.helpers import api, appraise_all, fill_self_scores, force_state
from workflow.models import AuditEntry, Clarification

ROLES = [
    "staff_own",
    "head_own",
    "staff_other",
    "head_other",
    "appraiser",
    "secretariat",
    "leader",
    "auditor",
    "outsider",
]
SOURCE = {
    "submit": "self_scoring",
    "recall": "submitted",
    "lock_at_cutoff": "self_scoring",
    "start_appraisal": "submitted",
    "request_explanation": "appraising",
    "submit_explanation": "explanation",
    "expire_explanation": "explanation",
    "finalise": "appraising",
    "reopen": "finalised",
    "publish": "finalised",
}
ALLOWED = {
    "submit": {"head_own"},
    "recall": {"head_own"},
    "start_appraisal": {"secretariat"},
    "request_explanation": {"appraiser", "secretariat"},
    "submit_explanation": {"head_own"},
    "finalise": {"secretariat"},
    "reopen": {"secretariat", "leader"},
    # Run by the sweep or by the cycle-wide publication, never through this endpoint.
    "lock_at_cutoff": set(),
    "expire_explanation": set(),
    "publish": set(),
}
UNSEEN = {"staff_other", "head_other", "outsider"}


def _user(world: SimpleNamespace, role: str) -> Any:
    return {
        "staff_own": world.staff_a,
        "head_own": world.head_a,
        "staff_other": world.staff_b,
        "head_other": world.head_b,
        "appraiser": world.appraiser,
        "secretariat": world.secretariat,
        "leader": world.leader,
        "auditor": world.auditor,
        "outsider": world.outsider,
    }[role]


def _prepare(world: SimpleNamespace, name: str) -> Case:
    case = force_state(world.case_a, SOURCE[name])
    fill_self_scores(case)
    if name == "finalise":
        appraise_all(case, world.secretariat)
    if name == "request_explanation":
        Clarification.objects.create(
            case=case,
            criterion_id=case.scores.filter(criterion__code="1.1.1").values_list(
                "criterion_id", flat=True
            )[0],
            round=1,
            question="?",
            asked_by=world.appraiser,
        )
    if name == "submit_explanation":
        Clarification.objects.create(
            case=case,
            criterion_id=case.scores.filter(criterion__code="1.1.1").values_list(
                "criterion_id", flat=True
            )[0],
            round=1,
            question="?",
            asked_by=world.appraiser,
            status="answered",
            answer="!",
        )
    return case


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(SOURCE))
def test_transition_permission_matrix(world: SimpleNamespace, name: str, role: str) -> None:
    case = _prepare(world, name)
    entries = AuditEntry.objects.count()
    response = api(_user(world, role)).post(
        f"/api/v1/cases/{case.pk}/transitions/{name}/", {"comment": "Lý do"}, format="json"
    )
    after = Case.objects.get(pk=case.pk)
    if role in ALLOWED[name]:
        assert response.status_code == 200, response.json()
        assert after.state != SOURCE[name]
        assert AuditEntry.objects.count() == entries + 1
    else:
        expected = 404 if role in UNSEEN else 403
        assert response.status_code == expected, response.json()
        assert response.json()["detail"]
        assert after.state == SOURCE[name]
        assert AuditEntry.objects.count() == entries


@pytest.mark.parametrize("role", ROLES)
def test_who_may_enter_self_scores(world: SimpleNamespace, role: str) -> None:
    response = api(_user(world, role)).put(
        f"/api/v1/cases/{world.case_a.pk}/scores/1.4/", {"self_score": "0.5"}, format="json"
    )
    allowed = role in {"staff_own", "head_own"}
    expected = 200 if allowed else (404 if role in UNSEEN else 403)
    assert response.status_code == expected
    assert (world.case_a.scores.get(criterion__code="1.4").self_score is not None) == allowed


def test_the_appraiser_of_a_unit_never_appraises_their_own_unit(world: SimpleNamespace) -> None:
    from workflow import cycle_services

    cycle_services.add_membership(world.appraiser, world.unit_a, "staff", actor=world.secretariat)
    case = force_state(world.case_a, "appraising")
    response = api(world.appraiser).put(
        f"/api/v1/cases/{case.pk}/scores/1.1.1/",
        {"appraised_score": 1, "comment": "x"},
        format="json",
    )
    assert response.status_code == 403
    other = force_state(world.case_b, "appraising")
    response = api(world.appraiser).put(
        f"/api/v1/cases/{other.pk}/scores/1.1.1/",
        {"appraised_score": 1, "comment": "x"},
        format="json",
    )
    assert response.status_code == 200, response.json()


def test_an_appraiser_cannot_score_a_criterion_outside_their_areas(world: SimpleNamespace) -> None:
    case = force_state(world.case_a, "appraising")
    response = api(world.appraiser).put(
        f"/api/v1/cases/{case.pk}/scores/5.3/",
        {"appraised_score": "1.5", "comment": "x"},
        format="json",
    )
    assert response.status_code == 403
    assert "5.3" in response.json()["detail"]
    assert case.scores.get(criterion__code="5.3").appraised_score is None


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_which_cases(world: SimpleNamespace, role: str) -> None:
    listed = {c["unit"]["code"] for c in api(_user(world, role)).get("/api/v1/cases/").json()}
    expected = {
        "staff_own": {"STP"},
        "head_own": {"STP"},
        "staff_other": {"STC"},
        "head_other": {"STC"},
        "outsider": set(),
    }.get(role, {"STP", "STC"})
    assert listed == expected


def test_anonymous_callers_are_refused(world: SimpleNamespace) -> None:
    response = api(None).get("/api/v1/cases/")
    assert response.status_code in (401, 403)
    assert response.json()["detail"]
