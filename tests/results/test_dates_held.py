"""Dates officials are held to: a decision is not dated in the future, and a deadline moved
into the past does not lock units out without the secretariat saying how many."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from django.utils import timezone

from cases.models import Case, Cycle
from deadlines.calendar import local_date
from tests.helpers import api
from tests.results.province import finalise_all
from workflow.models import AuditEntry


def _cycle_and_cases(cycle: Cycle) -> tuple[Any, ...]:
    cycle = Cycle.objects.get(pk=cycle.pk)
    states = tuple(Case.objects.filter(cycle=cycle).order_by("pk").values_list("state", flat=True))
    return (
        cycle.status,
        cycle.self_assessment_due,
        cycle.decision_number,
        cycle.decision_date,
        states,
        AuditEntry.objects.count(),
    )


def test_leader_cannot_date_the_decision_tomorrow(scored: SimpleNamespace) -> None:
    finalise_all(scored.cycle)
    assert (
        api(scored.secretariat)
        .post(f"/api/v1/cycles/{scored.cycle.pk}/submit_results/")
        .status_code
        == 200
    )
    tomorrow = local_date(timezone.now()) + timedelta(days=1)
    before = _cycle_and_cases(scored.cycle)

    response = api(scored.leader).post(
        f"/api/v1/cycles/{scored.cycle.pk}/publish/",
        {"decision_number": "123/QĐ-UBND", "decision_date": tomorrow.strftime("%d/%m/%Y")},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        f"Ngày quyết định {tomorrow:%d/%m/%Y} là một ngày trong tương lai: hãy ghi ngày ký."
    ]
    assert _cycle_and_cases(scored.cycle) == before
    today = local_date(timezone.now()).strftime("%d/%m/%Y")
    response = api(scored.leader).post(
        f"/api/v1/cycles/{scored.cycle.pk}/publish/",
        {"decision_number": "123/QĐ-UBND", "decision_date": today},
        format="json",
    )
    assert response.status_code == 200


def test_secretariat_must_confirm_how_many_cases_a_past_deadline_locks(
    world: SimpleNamespace,
) -> None:
    yesterday = local_date(timezone.now()) - timedelta(days=1)
    change = {"self_assessment_due": yesterday.isoformat(), "reason": "Theo Kế hoạch sửa đổi"}
    before = _cycle_and_cases(world.cycle)
    client = api(world.secretariat)

    unconfirmed = client.patch(f"/api/v1/cycles/{world.cycle.pk}/", change, format="json")
    wrong = client.patch(
        f"/api/v1/cycles/{world.cycle.pk}/", {**change, "confirm_lock": 1}, format="json"
    )

    assert (unconfirmed.status_code, wrong.status_code) == (400, 400)
    body = unconfirmed.json()
    assert "2 hồ sơ" in body["detail"] and yesterday.strftime("%d/%m/%Y") in body["detail"]
    assert _cycle_and_cases(world.cycle) == before
    confirmed = client.patch(
        f"/api/v1/cycles/{world.cycle.pk}/", {**change, "confirm_lock": 2}, format="json"
    )
    assert confirmed.status_code == 200
    assert Cycle.objects.get(pk=world.cycle.pk).self_assessment_due == yesterday


def test_a_later_deadline_needs_no_confirmation(world: SimpleNamespace) -> None:
    later = world.cycle.self_assessment_due + timedelta(days=3)
    response = api(world.secretariat).patch(
        f"/api/v1/cycles/{world.cycle.pk}/",
        {"self_assessment_due": later.isoformat(), "reason": "Gia hạn chung"},
        format="json",
    )
    assert response.status_code == 200
