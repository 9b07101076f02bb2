"""Cutoffs hold to the second in Asia/Ho_Chi_Minh, whatever the server's time zone."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.utils import translation

from cases.errors import GuardFailed
from cases.models import Case
from deadlines.models import CalendarOverride
from tests.deadlines.helpers import at, fresh, request_explanation
from tests.helpers import api, fill_self_scores
from workflow import services
from workflow.models import Clarification


@pytest.fixture(autouse=True)
def _server_in_utc(settings: Any) -> None:
    settings.TIME_ZONE = "UTC"


def test_unit_head_submits_at_23_59_59_on_the_deadline_day(dated: SimpleNamespace) -> None:
    fill_self_scores(dated.case_a)
    case = services.run_transition(
        dated.case_a.pk, "submit", actor=dated.head_a, now=at(2026, 3, 31, 23, 59, 59)
    )
    assert case.state == Case.State.SUBMITTED
    assert not case.is_late


def test_unit_head_cannot_submit_after_cutoff(dated: SimpleNamespace) -> None:
    fill_self_scores(dated.case_a)
    with pytest.raises(GuardFailed) as refused:
        services.run_transition(
            dated.case_a.pk, "submit", actor=dated.head_a, now=at(2026, 4, 1, 0, 0, 0)
        )
    assert any("31/03/2026" in str(reason) for reason in refused.value.errors)
    assert fresh(dated.case_a).state == Case.State.SELF_SCORING


def test_unit_staff_cannot_change_a_self_score_after_cutoff(dated: SimpleNamespace) -> None:
    services.set_self_score(
        dated.case_a.pk,
        "1.5",
        actor=dated.staff_a,
        change=services.SelfScoreChange(self_score=1),
        now=at(2026, 3, 31, 23, 59, 59),
    )
    with pytest.raises(GuardFailed, match="31/03/2026"):
        services.set_self_score(
            dated.case_a.pk,
            "1.5",
            actor=dated.staff_a,
            change=services.SelfScoreChange(self_score=1.5),
            now=at(2026, 4, 1, 0, 0, 0),
        )


def test_late_submission_through_the_api_names_the_deadline_in_english(
    dated: SimpleNamespace,
) -> None:
    fill_self_scores(dated.case_a)
    url = f"/api/v1/cases/{dated.case_a.pk}/transitions/submit/"
    with time_machine.travel(at(2026, 4, 1, 0, 0, 0), tick=False):
        response = api(dated.head_a).post(url, {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "The self-assessment deadline passed on 31/03/2026." in response.json()["errors"]
    with time_machine.travel(at(2026, 3, 31, 23, 59, 59), tick=False):
        response = api(dated.head_a).post(url, {}, format="json")
    assert response.status_code == 200, response.json()


def test_answer_date_is_counted_in_working_days_across_tet_and_stored(
    dated: SimpleNamespace,
) -> None:
    question = request_explanation(dated, dated.case_a, at(2026, 2, 12, 10))
    # Five working days from Thursday 12/2/2026, across Tết: Thursday 26/2/2026.
    assert question.due_at == at(2026, 2, 27, 0, 0, 0)
    body = api(dated.staff_a).get(f"/api/v1/cases/{dated.case_a.pk}/clarifications/").json()
    assert body[0]["due_date"] == "2026-02-26"


def test_a_make_up_saturday_shortens_the_answer_window(dated: SimpleNamespace) -> None:
    CalendarOverride.objects.create(
        day=at(2026, 2, 28).date(),
        kind=CalendarOverride.Kind.WORKING_DAY,
        reason="Làm bù",
        created_by=dated.secretariat,
    )
    question = request_explanation(dated, dated.case_a, at(2026, 2, 25, 9))
    # 26/2, 27/2, Saturday 28/2 (worked), 2/3, 3/3.
    assert question.due_at == at(2026, 3, 4, 0, 0, 0)


def test_unit_answers_at_23_59_59_but_not_at_midnight(dated: SimpleNamespace) -> None:
    question = request_explanation(dated, dated.case_a, at(2026, 2, 12, 10))
    services.answer_clarification(
        question.pk, "Đã ban hành.", actor=dated.staff_a, now=at(2026, 2, 26, 23, 59, 59)
    )
    with pytest.raises(GuardFailed, match="26/02/2026"):
        services.answer_clarification(
            question.pk, "Bổ sung.", actor=dated.staff_a, now=at(2026, 2, 27, 0, 0, 0)
        )
    assert Clarification.objects.get(pk=question.pk).answer == "Đã ban hành."


def test_unit_head_cannot_send_the_explanation_after_the_answer_date(
    dated: SimpleNamespace,
) -> None:
    question = request_explanation(dated, dated.case_a, at(2026, 2, 12, 10))
    services.answer_clarification(
        question.pk, "Đã ban hành.", actor=dated.staff_a, now=at(2026, 2, 20, 9)
    )
    with pytest.raises(GuardFailed) as refused, translation.override("en"):
        services.run_transition(
            dated.case_a.pk, "submit_explanation", actor=dated.head_a, now=at(2026, 2, 27, 0, 0)
        )
    assert refused.value.errors == ["The answer window closed on 26/02/2026."]
    case = services.run_transition(
        dated.case_a.pk,
        "submit_explanation",
        actor=dated.head_a,
        now=at(2026, 2, 26, 23, 59, 59),
    )
    assert case.state == Case.State.APPRAISING
