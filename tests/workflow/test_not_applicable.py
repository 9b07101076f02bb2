"""A unit's "not applicable" is a claim the appraiser confirms or rejects; nobody removes a
survey criterion from their own maximum; an untouched appraisal saved again changes nothing."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from cases.errors import InvalidInput
from cases.models import Appraisal, Case, Score
from cases.totals import totals_for
from tests.helpers import api, fill_self_scores, force_state
from workflow import services
from workflow.models import AuditEntry

CLAIM = {"not_applicable": True, "not_applicable_reason": "Sở không có thủ tục hành chính"}


def _claimed(world: SimpleNamespace, *codes: str) -> Case:
    fill_self_scores(world.case_a, 0)
    Score.objects.filter(case=world.case_a, criterion__code__in=codes).update(
        self_score=None, **CLAIM
    )
    return force_state(world.case_a, Case.State.APPRAISING)


def _row(case: Case, code: str) -> tuple[Any, ...]:
    row = Score.objects.filter(case=case, criterion__code=code).values_list(
        "not_applicable", "not_applicable_decision", "appraised_score", "appraised_round", "version"
    )[0]
    return (*row, AuditEntry.objects.count(), Appraisal.objects.count())


def _applicable_max(case: Case) -> Decimal:
    return totals_for([case])[case.pk].self_part.applicable_max


def test_the_appraiser_confirms_the_units_not_applicable_and_it_is_audited(
    world: SimpleNamespace,
) -> None:
    case = _claimed(world, "3.1.2")
    maximum = _applicable_max(case)
    services.decide_not_applicable(case.pk, "3.1.2", actor=world.appraiser, confirm=True)
    score = Score.objects.get(case=case, criterion__code="3.1.2")
    assert (score.not_applicable, score.not_applicable_decision) == (True, "confirmed")
    assert score.appraised_round == 1 and score.appraised_score is None
    assert score.not_applicable_reason == CLAIM["not_applicable_reason"]
    round_1 = score.appraisals.get()
    assert round_1.not_applicable and round_1.appraised_score is None
    entry = AuditEntry.objects.filter(action="cases.score.appraised").latest("pk")
    assert entry.after is not None
    assert entry.after["not_applicable_decision"] == "confirmed"
    assert entry.actor == world.appraiser
    assert _applicable_max(case) == maximum  # still out of the maximum


def test_rejecting_not_applicable_needs_a_reason_and_a_score_then_counts_the_criterion(
    world: SimpleNamespace,
) -> None:
    case = _claimed(world, "3.2.1")
    maximum = _applicable_max(case)
    before = _row(case, "3.2.1")
    with pytest.raises(InvalidInput, match="lý do"):
        services.decide_not_applicable(
            case.pk, "3.2.1", actor=world.appraiser, confirm=False, appraised_score="0"
        )
    with pytest.raises(InvalidInput, match="điểm thẩm định"):
        services.decide_not_applicable(
            case.pk, "3.2.1", actor=world.appraiser, confirm=False, reason="Có kế hoạch"
        )
    assert _row(case, "3.2.1") == before
    services.decide_not_applicable(
        case.pk,
        "3.2.1",
        actor=world.appraiser,
        confirm=False,
        reason="Sở có kế hoạch rà soát",
        appraised_score="1",
    )
    score = Score.objects.get(case=case, criterion__code="3.2.1")
    assert (score.not_applicable, score.not_applicable_decision) == (False, "rejected")
    assert score.appraised_score == Decimal("1")
    assert score.appraised_comment == "Sở có kế hoạch rà soát"
    assert score.not_applicable_reason == CLAIM["not_applicable_reason"]  # the unit's words
    assert _applicable_max(case) == maximum + Decimal("1")


def test_scoring_a_leaf_declared_not_applicable_is_recorded_as_a_rejection(
    world: SimpleNamespace,
) -> None:
    case = _claimed(world, "3.2.1")
    services.set_appraised_score(
        case.pk,
        "3.2.1",
        actor=world.appraiser,
        change=services.AppraisedScoreChange(appraised_score="1", comment="Có"),
    )
    score = Score.objects.get(case=case, criterion__code="3.2.1")
    assert (score.not_applicable, score.not_applicable_decision) == (False, "rejected")


def test_a_decision_on_a_criterion_the_unit_did_not_declare_not_applicable_is_refused(
    world: SimpleNamespace,
) -> None:
    case = _claimed(world, "3.2.1")
    before = _row(case, "1.5")
    with pytest.raises(InvalidInput, match="không đề nghị"):
        services.decide_not_applicable(case.pk, "1.5", actor=world.appraiser, confirm=True)
    assert _row(case, "1.5") == before


def test_saving_an_appraised_row_untouched_in_round_two_changes_nothing(
    world: SimpleNamespace,
) -> None:
    fill_self_scores(world.case_a, 0)
    case = force_state(world.case_a, Case.State.APPRAISING)
    change = services.AppraisedScoreChange(appraised_score="1", comment="Đủ tài liệu")
    services.set_appraised_score(case.pk, "1.5", actor=world.appraiser, change=change)
    Case.objects.filter(pk=case.pk).update(appraisal_round=2)
    before = _row(case, "1.5")
    services.set_appraised_score(case.pk, "1.5", actor=world.appraiser, change=change)
    assert _row(case, "1.5") == before
    services.set_appraised_score(
        case.pk,
        "1.5",
        actor=world.appraiser,
        change=services.AppraisedScoreChange(appraised_score="0,5", comment="Thiếu"),
    )
    score = Score.objects.get(case=case, criterion__code="1.5")
    assert (score.appraised_score, score.appraised_round) == (Decimal("0.5"), 2)


def test_the_unit_cannot_mark_a_survey_criterion_not_applicable(world: SimpleNamespace) -> None:
    before = _row(world.case_a, "3.6")
    response = api(world.staff_a).put(
        f"/api/v1/cases/{world.case_a.pk}/scores/3.6/", CLAIM, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Tiêu chí 3.6 được chấm bằng kết quả điều tra xã hội học: "
        "đơn vị không thể đề nghị không áp dụng."
    )
    assert _row(world.case_a, "3.6") == before


def test_the_api_confirms_and_rejects_not_applicable_for_the_areas_appraiser_only(
    world: SimpleNamespace,
) -> None:
    case = _claimed(world, "3.1.2", "3.2.1")
    url = f"/api/v1/cases/{case.pk}/scores/%s/not-applicable/"
    before = _row(case, "3.1.2")
    other = api(world.appraiser2).post(url % "3.1.2", {"decision": "confirm"}, format="json")
    assert other.status_code == 403
    vague = api(world.appraiser).post(url % "3.1.2", {"decision": "maybe"}, format="json")
    assert vague.status_code == 400 and "xác nhận" in " ".join(vague.json()["errors"])
    # Each value is read as its type at the door: a reason sent as an object is refused.
    odd = {"decision": "reject", "reason": {"text": "x"}, "appraised_score": "1"}
    assert api(world.appraiser).post(url % "3.1.2", odd, format="json").status_code == 400
    assert _row(case, "3.1.2") == before

    confirmed = api(world.appraiser).post(url % "3.1.2", {"decision": "confirm"}, format="json")
    assert confirmed.status_code == 200
    assert confirmed.json()["not_applicable_decision"] == "confirmed"
    rejected = api(world.appraiser).post(
        url % "3.2.1",
        {"decision": "reject", "reason": "Có kế hoạch rà soát", "appraised_score": "1"},
        format="json",
    )
    assert rejected.status_code == 200
    body = rejected.json()
    assert (body["not_applicable"], body["not_applicable_decision"]) == (False, "rejected")
    assert body["appraised_score"] == "1.00"
