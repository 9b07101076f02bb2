"""Appraisal work: assignments by the secretariat, the appraiser's work list, the
side-by-side view, and the refusals of the issue."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from cases.models import AppraiserAssignment, Case, Score
from tests.factories import make_user
from tests.helpers import api
from tests.results.province import put_scores
from workflow import appraisal, council, cycle_services
from workflow.appraisal import register_criterion_column
from workflow.models import AuditEntry


def _appraising(p: SimpleNamespace, *codes: str) -> None:
    Case.objects.filter(cycle=p.cycle, unit__code__in=codes).update(state=Case.State.APPRAISING)


def _self_scores(p: SimpleNamespace, code: str, scores: dict[str, int]) -> None:
    for criterion, value in scores.items():
        Score.objects.filter(case=p.cases[code], criterion__code=criterion).update(
            self_score=Decimal(value)
        )


# --- assignments ---------------------------------------------------------------------------


def test_secretariat_assigns_a_council_member_to_an_area(province: SimpleNamespace) -> None:
    member = make_user("stp.director")
    council.add_member(province.cycle.pk, member.pk, "support", actor=province.secretariat)
    url = f"/api/v1/cycles/{province.cycle.pk}/assignments/"

    response = api(province.secretariat).post(url, {"user": "stp.director", "area_code": "2"})

    assert response.status_code == 201, response.json()
    assert response.json()["area_code"] == "2"
    assert response.json()["area_title"] == "Thủ tục hành chính"
    assignment = AppraiserAssignment.objects.get(user=member)
    entry = AuditEntry.objects.get(action="cases.assignment.added", object_id=str(assignment.pk))
    assert entry.actor == province.secretariat
    listed = api(province.secretariat).get(url).json()
    assert ("stp.director", "2") in [(a["user"], a["area_code"]) for a in listed]
    # the new member may now appraise area 2 of every case
    _appraising(province, "S2")
    _self_scores(province, "S2", {"2.1": 25})
    scored = api(member).put(
        f"/api/v1/cases/{province.cases['S2'].pk}/scores/2.1/", {"appraised_score": 25}
    )
    assert scored.status_code == 200, scored.json()


def test_assigning_twice_changes_nothing(province: SimpleNamespace) -> None:
    url = f"/api/v1/cycles/{province.cycle.pk}/assignments/"
    before = AuditEntry.objects.count()

    response = api(province.secretariat).post(url, {"user": "appraiser1", "area_code": "1"})

    assert response.status_code == 200
    assert AppraiserAssignment.objects.filter(user=province.appraiser).count() == 1
    assert AuditEntry.objects.count() == before


def test_an_unknown_area_or_user_is_refused(province: SimpleNamespace) -> None:
    url = f"/api/v1/cycles/{province.cycle.pk}/assignments/"
    response = api(province.secretariat).post(
        url, {"user": "nobody", "area_code": "9"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "nobody" in errors[0] and "“9”" in errors[1] and "1, 2, 3" in errors[1]
    assert AppraiserAssignment.objects.count() == 2


def test_secretariat_removes_an_assignment_and_the_rights_go_with_it(
    province: SimpleNamespace,
) -> None:
    assignment = AppraiserAssignment.objects.get(user=province.appraiser2)
    url = f"/api/v1/cycles/{province.cycle.pk}/assignments/{assignment.pk}/"

    assert api(province.secretariat).delete(url).status_code == 204

    assert not AppraiserAssignment.objects.filter(pk=assignment.pk).exists()
    assert AuditEntry.objects.filter(action="cases.assignment.removed").exists()
    _appraising(province, "S2")
    response = api(province.appraiser2).put(
        f"/api/v1/cases/{province.cases['S2'].pk}/scores/2.1/", {"appraised_score": 25}
    )
    assert response.status_code == 404  # no longer sees the case at all


def test_only_the_secretariat_manages_assignments(province: SimpleNamespace) -> None:
    url = f"/api/v1/cycles/{province.cycle.pk}/assignments/"
    body = {"user": "appraiser1", "area_code": "2"}
    assert api(province.leader).post(url, body).status_code == 403
    assert api(province.appraiser).post(url, body).status_code == 403
    assert api(province.outsider).post(url, body).status_code == 404
    assert api(province.appraiser).get(url).status_code == 403
    assignment = AppraiserAssignment.objects.get(user=province.appraiser)
    assert api(province.leader).delete(f"{url}{assignment.pk}/").status_code == 403
    assert AppraiserAssignment.objects.count() == 2


# --- the work list -------------------------------------------------------------------------


def test_appraiser_sees_how_many_of_their_criteria_are_unappraised(
    province: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    put_scores(
        province.cycle,
        {"S2": {"1.1": (18, 18)}, "S3": {"1.1": (20, 20), "1.2": (10, 9)}},
        province.appraiser,
    )
    url = f"/api/v1/cycles/{province.cycle.pk}/worklist/"

    with django_assert_max_num_queries(8):
        rows = api(province.appraiser).get(url).json()

    by_unit = {r["unit"]["code"]: (r["assigned"], r["unappraised"]) for r in rows}
    # area 1 has two appraised leaves (1.1, 1.2) in departments, one (1.1) in communes
    assert by_unit == {
        "S1": (2, 2),
        "S2": (2, 1),
        "S3": (2, 0),
        "S4": (2, 2),
        "S5": (2, 2),
        "X1": (1, 1),
        "X2": (1, 1),
        "X3": (1, 1),
    }


def test_the_work_list_stays_constant_in_queries_as_cases_grow(
    province: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    url = f"/api/v1/cycles/{province.cycle.pk}/worklist/?state=self_scoring"
    with django_assert_max_num_queries(8):
        assert len(api(province.secretariat).get(url).json()) == 8  # every area: 4 + 2 leaves
    assert {r["assigned"] for r in api(province.secretariat).get(url).json()} == {4, 2}


def test_an_appraiser_does_not_get_the_case_of_their_own_unit(province: SimpleNamespace) -> None:
    cycle_services.add_membership(
        province.appraiser, province.units["S1"], "staff", actor=province.secretariat
    )

    rows = api(province.appraiser).get(f"/api/v1/cycles/{province.cycle.pk}/worklist/").json()

    assert "S1" not in [r["unit"]["code"] for r in rows]
    assert len(rows) == 7


# --- side by side --------------------------------------------------------------------------


def test_side_by_side_shows_self_and_appraised_scores_and_flags_the_difference(
    province: SimpleNamespace,
) -> None:
    put_scores(province.cycle, {"S4": {"1.1": (15, 10), "1.2": (5, 5)}}, province.appraiser)
    _self_scores(province, "S4", {"2.1": 20})
    _appraising(province, "S4")

    body = api(province.appraiser).get(f"/api/v1/cases/{province.cases['S4'].pk}/appraisal/").json()

    rows = {c["criterion"]: c for area in body["areas"] for c in area["criteria"]}
    assert [a["code"] for a in body["areas"]] == ["1", "2", "3"]
    c11 = rows["1.1"]
    assert (c11["self"]["score"], c11["appraised"]["score"]) == ("15.00", "10.00")
    assert (c11["difference"], c11["differs"]) == ("-5.00", True)
    assert c11["appraised"]["comment"] == "Điều chỉnh"
    assert (rows["1.2"]["difference"], rows["1.2"]["differs"]) == ("0.00", False)
    assert rows["2.1"]["difference"] is None and rows["2.1"]["to_appraise"]
    # this appraiser holds area 1 only; survey leaves are imported, never appraised
    assert rows["1.1"]["may_appraise"] and not rows["2.1"]["may_appraise"]
    assert not rows["1.3"]["may_appraise"] and not rows["1.3"]["to_appraise"]
    assert rows["1.1"]["evidence"] == []  # no file uploaded (tests/evidence shows them listed)
    assert body["summary"] == {"criteria": 7, "unappraised": 2, "differing": 1}


def test_apps_above_the_workflow_add_their_own_column(province: SimpleNamespace) -> None:
    def files(case: Case, scores: list[Score]) -> dict[int, Any]:
        return {
            s.pk: [{"name": f"{s.criterion.code}.pdf"}] for s in scores if s.criterion.code == "1.1"
        }

    previous = appraisal._columns["evidence"]
    register_criterion_column("evidence", files, list)
    try:
        body = (
            api(province.secretariat)
            .get(f"/api/v1/cases/{province.cases['S1'].pk}/appraisal/")
            .json()
        )
    finally:
        register_criterion_column("evidence", *previous)

    rows = {c["criterion"]: c for area in body["areas"] for c in area["criteria"]}
    assert rows["1.1"]["evidence"] == [{"name": "1.1.pdf"}]
    assert rows["1.2"]["evidence"] == []


def test_a_unit_sees_its_own_side_by_side_but_not_another_units(province: SimpleNamespace) -> None:
    assert (
        api(province.staff_s1)
        .get(f"/api/v1/cases/{province.cases['S1'].pk}/appraisal/")
        .status_code
        == 200
    )
    assert (
        api(province.staff_s1)
        .get(f"/api/v1/cases/{province.cases['S2'].pk}/appraisal/")
        .status_code
        == 404
    )


# --- refusals ------------------------------------------------------------------------------


def test_appraiser_scoring_a_criterion_of_another_area_gets_403(province: SimpleNamespace) -> None:
    _appraising(province, "S2")
    _self_scores(province, "S2", {"2.1": 25})

    response = api(province.appraiser).put(
        f"/api/v1/cases/{province.cases['S2'].pk}/scores/2.1/", {"appraised_score": 25}
    )

    assert response.status_code == 403
    assert (
        Score.objects.get(case=province.cases["S2"], criterion__code="2.1").appraised_score is None
    )


def test_an_appraised_score_differing_from_the_self_score_needs_a_reason(
    province: SimpleNamespace,
) -> None:
    _appraising(province, "S2")
    _self_scores(province, "S2", {"1.1": 18})
    url = f"/api/v1/cases/{province.cases['S2'].pk}/scores/1.1/"

    refused = api(province.appraiser).put(url, {"appraised_score": 15, "comment": " "})
    accepted = api(province.appraiser).put(
        url, {"appraised_score": 15, "comment": "Kế hoạch ban hành chậm"}
    )

    assert refused.status_code == 400
    assert accepted.status_code == 200
    assert accepted.json()["appraised_score"] == "15.00"
