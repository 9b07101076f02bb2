"""Submitting results, the leader's exclusions and the approval that publishes everything
in one transaction."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from cases.models import Case, Cycle, PublishedResult, RankingExclusion, Score
from results.ranking import compute_results
from tests.helpers import api
from tests.results.province import SCORES_SO, SCORES_XA, finalise_all, make_cycle, put_scores
from workflow import cycle_services, transitions
from workflow.models import AuditEntry


def _submit(p: SimpleNamespace) -> Any:
    return api(p.secretariat).post(f"/api/v1/cycles/{p.cycle.pk}/submit_results/")


def _publish(p: SimpleNamespace, **body: Any) -> Any:
    data = {"decision_number": "123/QĐ-UBND", "decision_date": "15/04/2026", **body}
    return api(p.leader).post(f"/api/v1/cycles/{p.cycle.pk}/publish/", data, format="json")


@pytest.fixture
def submitted(scored: SimpleNamespace) -> SimpleNamespace:
    finalise_all(scored.cycle)
    assert _submit(scored).status_code == 200
    return scored


def test_results_cannot_be_sent_while_cases_are_not_finalised(scored: SimpleNamespace) -> None:
    finalise_all(scored.cycle)
    Case.objects.filter(pk__in=[scored.cases["S2"].pk, scored.cases["X3"].pk]).update(
        state=Case.State.APPRAISING
    )

    response = _submit(scored)

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 2 and "S2" in errors[0] and "X3" in errors[1]
    assert Cycle.objects.get(pk=scored.cycle.pk).status == Cycle.Status.OPEN


def test_results_cannot_be_sent_without_the_survey_scores(province: SimpleNamespace) -> None:
    put_scores(province.cycle, SCORES_SO, province.appraiser)
    put_scores(province.cycle, SCORES_XA, province.appraiser)
    Score.objects.filter(case=province.cases["X2"], criterion__code="2.2").update(
        appraised_score=None
    )
    finalise_all(province.cycle)

    response = _submit(province)

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert "X2" in error and "1" in error
    assert Cycle.objects.get(pk=province.cycle.pk).status == Cycle.Status.OPEN


def test_leader_approves_and_publishes_every_case_with_the_decision(
    submitted: SimpleNamespace,
) -> None:
    p = submitted
    RankingExclusion.objects.create(
        case=p.cases["S5"],
        reason="Tài liệu không trung thực",
        decided_by=p.leader,
        decided_at=timezone.now(),
    )
    expected = {
        row.unit_code: (row.rank, row.index, row.classification)
        for _g, row in compute_results(p.cycle).rows()
    }

    # An excluded unit is frozen without its figures: it is neither assessed nor ranked.
    expected["S5"] = (None, None, "")
    response = _publish(p, signer="Nguyễn Văn A")

    assert response.status_code == 200, response.json()
    assert response.json()["decision_number"] == "123/QĐ-UBND"
    assert response.json()["decision_date"] == "2026-04-15"
    cycle = Cycle.objects.get(pk=p.cycle.pk)
    assert cycle.status == Cycle.Status.PUBLISHED
    assert (cycle.decision_number, cycle.decision_date, cycle.decision_signer) == (
        "123/QĐ-UBND",
        date(2026, 4, 15),
        "Nguyễn Văn A",
    )
    assert set(Case.objects.filter(cycle=cycle).values_list("state", flat=True)) == {"published"}
    frozen = {
        r.unit.code: (r.rank, r.index, r.classification)
        for r in PublishedResult.objects.filter(cycle=cycle).select_related("unit")
    }
    assert frozen == expected
    assert PublishedResult.objects.get(cycle=cycle, unit__code="S5").exclusion_reason == (
        "Tài liệu không trung thực"
    )
    entry = AuditEntry.objects.get(action="cases.cycle.published")
    assert entry.data["decision"]["number"] == "123/QĐ-UBND"
    assert entry.snapshot is not None and len(entry.snapshot) == 8 and entry.snapshot_sha256
    assert AuditEntry.objects.filter(action="workflow.case.publish").count() == 8


def test_publishing_with_a_case_reopened_meanwhile_lists_it(submitted: SimpleNamespace) -> None:
    Case.objects.filter(pk=submitted.cases["S3"].pk).update(state=Case.State.APPRAISING)

    response = _publish(submitted)

    assert response.status_code == 400
    assert ["S3" in e for e in response.json()["errors"]] == [True]
    assert not Case.objects.filter(state=Case.State.PUBLISHED).exists()


def test_a_failure_half_way_publishes_nothing(
    submitted: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A guard refuses the sixth case, after five were published in the same transaction."""
    p = submitted
    order = list(Case.objects.filter(cycle=p.cycle).values_list("pk", flat=True))
    victim = order[5]
    checked: list[int] = []

    def refuse_one(case: Case, now: Any, params: dict[str, Any]) -> list[str]:
        checked.append(case.pk)
        return ["Hồ sơ đang bị khóa để kiểm tra."] if case.pk == victim else []

    spec = transitions.TRANSITIONS["publish"]
    monkeypatch.setitem(
        transitions.TRANSITIONS,
        "publish",
        transitions.Spec(spec.name, spec.perm, (*spec.guards, refuse_one), spec.snapshot),
    )
    audit_before = AuditEntry.objects.count()

    response = _publish(p)

    assert response.status_code == 400
    assert response.json()["errors"] == ["Hồ sơ đang bị khóa để kiểm tra."]
    assert checked == order[:6]  # five cases went through the whole transition first
    assert not Case.objects.filter(state=Case.State.PUBLISHED).exists()
    cycle = Cycle.objects.get(pk=p.cycle.pk)
    assert (cycle.status, cycle.decision_number) == (Cycle.Status.RESULTS_SUBMITTED, "")
    assert not PublishedResult.objects.exists()
    assert AuditEntry.objects.count() == audit_before


def test_the_decision_needs_a_number_and_a_date(submitted: SimpleNamespace) -> None:
    response = _publish(submitted, decision_number="", decision_date="")
    assert response.status_code == 400
    assert len(response.json()["errors"]) == 2
    assert Cycle.objects.get(pk=submitted.cycle.pk).status == Cycle.Status.RESULTS_SUBMITTED


def test_only_the_leader_publishes(submitted: SimpleNamespace) -> None:
    response = api(submitted.secretariat).post(
        f"/api/v1/cycles/{submitted.cycle.pk}/publish/",
        {"decision_number": "1/QĐ", "decision_date": "2026-04-15"},
        format="json",
    )
    assert response.status_code == 403
    assert not Case.objects.filter(state=Case.State.PUBLISHED).exists()


def test_next_cycle_compares_with_the_ranks_frozen_at_publication(
    submitted: SimpleNamespace,
) -> None:
    p = submitted
    assert _publish(p).status_code == 200
    following = make_cycle(2026, p.so, p.xa)
    cycle_services.open_cycle(following.pk, actor=p.secretariat)
    swapped = {"S1": SCORES_SO["S4"], "S4": SCORES_SO["S1"]}  # S1 and S4 trade their scores
    put_scores(following, {**SCORES_SO, **swapped}, p.appraiser)
    put_scores(following, SCORES_XA, p.appraiser)

    rows = {r.unit_code: r for _g, r in compute_results(following).rows()}

    # 2025: S5 1st (99), S1 and S3 2nd (94), S2 4th, S4 5th. 2026: S4 and S3 share 2nd …
    assert (rows["S1"].previous_rank, rows["S1"].rank, rows["S1"].rank_change) == (2, 5, -3)
    assert (rows["S4"].previous_rank, rows["S4"].rank, rows["S4"].rank_change) == (5, 2, 3)
    assert rows["X2"].rank_change == 0


# --- exclusion from the ranking ------------------------------------------------------------


def _exclusion(user: Any, case: Case, method: str = "post", reason: str = "") -> Any:
    client = api(user)
    return getattr(client, method)(
        f"/api/v1/cases/{case.pk}/exclusion/", {"reason": reason}, format="json"
    )


def test_leader_excludes_a_unit_from_the_ranking_with_a_reason(scored: SimpleNamespace) -> None:
    case = scored.cases["S5"]

    response = _exclusion(scored.leader, case, reason="Tài liệu kiểm chứng không trung thực")

    assert response.status_code == 201
    entry = AuditEntry.objects.get(action="cases.ranking.excluded", case=case)
    assert (entry.actor, entry.comment) == (scored.leader, "Tài liệu kiểm chứng không trung thực")
    so = compute_results(scored.cycle).groups[0]
    assert [r.unit_code for r in so.excluded] == ["S5"]


def test_exclusion_needs_a_reason_and_the_leader(scored: SimpleNamespace) -> None:
    case = scored.cases["S5"]
    assert _exclusion(scored.leader, case, reason="  ").status_code == 400
    assert _exclusion(scored.secretariat, case, reason="x").status_code == 403
    assert _exclusion(scored.staff_s1, scored.cases["S1"], reason="x").status_code == 403
    assert _exclusion(scored.staff_s1, case, reason="x").status_code == 404
    assert not RankingExclusion.objects.exists()
    assert not AuditEntry.objects.filter(action="cases.ranking.excluded").exists()


def test_leader_reinstates_a_unit_saying_why(scored: SimpleNamespace) -> None:
    case = scored.cases["S5"]
    assert _exclusion(scored.leader, case, reason="Nghi vấn").status_code == 201

    assert _exclusion(scored.leader, case, "delete", reason="").status_code == 400
    response = _exclusion(scored.leader, case, "delete", reason="Đã xác minh: tài liệu đúng")

    assert response.status_code == 200
    assert not RankingExclusion.objects.exists()
    entry = AuditEntry.objects.get(action="cases.ranking.reinstated")
    assert entry.before == {"excluded": True, "reason": "Nghi vấn"}
    assert _exclusion(scored.leader, case, "delete", reason="again").status_code == 409


def test_the_ranking_cannot_change_after_publication(submitted: SimpleNamespace) -> None:
    assert _publish(submitted).status_code == 200

    response = _exclusion(submitted.leader, submitted.cases["S1"], reason="Phát hiện sau")

    assert response.status_code == 409
    assert not RankingExclusion.objects.exists()
