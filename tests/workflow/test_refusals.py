"""Bad input gets a clear reason in the user's language and changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition

from cases.errors import GuardFailed
from cases.models import Case, Score
from deadlines.calendar import VN
from tests.helpers import api, fill_self_scores, force_state
from workflow import audit, services
from workflow.models import AuditEntry


def _state_of_everything(case: Case) -> tuple[Any, ...]:
    case = Case.objects.get(pk=case.pk)
    scores = tuple(
        Score.objects.filter(case=case)
        .order_by("pk")
        .values_list("self_score", "appraised_score", "note", "version")
    )
    return case.state, case.submitted_at, scores, AuditEntry.objects.count()


def test_a_transition_from_the_wrong_state_is_409_naming_the_state(world: SimpleNamespace) -> None:
    before = _state_of_everything(world.case_a)
    response = api(world.secretariat).post(f"/api/v1/cases/{world.case_a.pk}/transitions/finalise/")
    assert response.status_code == 409
    assert "Đang tự chấm" in response.json()["detail"]
    assert _state_of_everything(world.case_a) == before


def test_the_unit_head_cannot_submit_with_criteria_unscored(world: SimpleNamespace) -> None:
    before = _state_of_everything(world.case_a)
    response = api(world.head_a).post(f"/api/v1/cases/{world.case_a.pk}/transitions/submit/")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "Tiêu chí 1.1.1 chưa có điểm tự chấm." in errors
    unscored = [e for e in errors if e.endswith("chưa có điểm tự chấm.")]
    assert len(unscored) == 48  # every self-scored leaf of the department framework
    assert _state_of_everything(world.case_a) == before


def test_unit_head_cannot_submit_after_cutoff(world: SimpleNamespace) -> None:
    fill_self_scores(world.case_a)
    due = world.cycle.self_assessment_due
    one_second_late = datetime.combine(due + timedelta(days=1), datetime.min.time(), tzinfo=VN)
    before = _state_of_everything(world.case_a)
    with pytest.raises(GuardFailed) as refused:
        services.run_transition(world.case_a.pk, "submit", actor=world.head_a, now=one_second_late)
    assert refused.value.errors == [f"Đã quá hạn tự đánh giá ngày {due:%d/%m/%Y}."]
    assert _state_of_everything(world.case_a) == before
    last_second = one_second_late - timedelta(seconds=1)
    case = services.run_transition(world.case_a.pk, "submit", actor=world.head_a, now=last_second)
    assert case.state == "submitted"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"self_score": 2}, "Tiêu chí 1.4: điểm 2 vượt quá điểm tối đa 1."),
        ({"self_score": -0.5}, "Tiêu chí 1.4: điểm không được nhỏ hơn 0."),
        ({"self_score": "nhiều"}, "Tiêu chí 1.4: điểm phải là một số, không phải “nhiều”."),
        ({"self_score": True}, "Tiêu chí 1.4: điểm phải là một số."),
        ({"self_score": 0.7}, "Tiêu chí 1.4: phương pháp chấm chỉ cho phép 0; 0,5; 1 điểm."),
        ({"value": 5}, "Tiêu chí 1.4: chọn một mức từ 0 đến 2."),
        ({"not_applicable": True}, "Tiêu chí 1.4 không được đánh dấu là không áp dụng."),
    ],
)
def test_a_bad_self_score_is_refused_naming_the_criterion_and_the_bound(
    world: SimpleNamespace, payload: dict[str, Any], message: str
) -> None:
    before = _state_of_everything(world.case_a)
    response = api(world.staff_a).put(
        f"/api/v1/cases/{world.case_a.pk}/scores/1.4/", payload, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == message
    assert _state_of_everything(world.case_a) == before


def test_errors_speak_english_when_asked(world: SimpleNamespace) -> None:
    response = api(world.staff_a).put(
        f"/api/v1/cases/{world.case_a.pk}/scores/1.4/",
        {"self_score": 2},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.json()["detail"] == (
        "Criterion 1.4: the score 2 is above the maximum of 1 points."
    )


def test_not_applicable_needs_the_framework_to_allow_it_and_a_reason(
    world: SimpleNamespace,
) -> None:
    url = f"/api/v1/cases/{world.case_a.pk}/scores/1.3.1/"
    staff = api(world.staff_a)
    response = staff.put(url, {"not_applicable": True}, format="json")
    assert response.status_code == 400
    assert "lý do" in response.json()["detail"]
    response = staff.put(
        url,
        {"not_applicable": True, "not_applicable_reason": "Sở không có đơn vị trực thuộc"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["not_applicable"] is True


def test_a_survey_criterion_cannot_be_self_scored(world: SimpleNamespace) -> None:
    response = api(world.staff_a).put(
        f"/api/v1/cases/{world.case_a.pk}/scores/1.6/", {"self_score": 1}, format="json"
    )
    assert response.status_code == 400
    assert "điều tra" in response.json()["detail"]


def test_an_unknown_criterion_is_refused(world: SimpleNamespace) -> None:
    response = api(world.staff_a).put(
        f"/api/v1/cases/{world.case_a.pk}/scores/99.9/", {"self_score": 1}, format="json"
    )
    assert response.status_code == 400
    assert "99.9" in response.json()["detail"]


def test_a_stale_edit_is_refused_as_a_conflict(world: SimpleNamespace) -> None:
    url = f"/api/v1/cases/{world.case_a.pk}/scores/1.4/"
    first = api(world.staff_a).put(url, {"self_score": 1, "version": 0}, format="json")
    assert first.status_code == 200
    stale = api(world.head_a).put(url, {"self_score": 0, "version": 0}, format="json")
    assert stale.status_code == 409
    assert Score.objects.get(case=world.case_a, criterion__code="1.4").self_score == 1


def test_self_scores_are_locked_once_submitted(world: SimpleNamespace) -> None:
    case = force_state(world.case_a, "submitted")
    response = api(world.staff_a).put(
        f"/api/v1/cases/{case.pk}/scores/1.4/", {"self_score": 1}, format="json"
    )
    assert response.status_code == 409
    assert "Đã gửi" in response.json()["detail"]


def test_a_unit_never_sees_another_units_case(world: SimpleNamespace) -> None:
    for url in (f"/api/v1/cases/{world.case_b.pk}/", f"/api/v1/cases/{world.case_b.pk}/history/"):
        assert api(world.staff_a).get(url).status_code == 404


def test_an_appraised_score_that_differs_needs_a_reason(world: SimpleNamespace) -> None:
    fill_self_scores(world.case_a, 0)
    case = force_state(world.case_a, "appraising")
    response = api(world.appraiser).put(
        f"/api/v1/cases/{case.pk}/scores/1.1.1/", {"appraised_score": 1}, format="json"
    )
    assert response.status_code == 400
    assert "lý do" in response.json()["detail"]


def test_appraiser_sending_a_score_as_a_list_gets_the_field_named(world: SimpleNamespace) -> None:
    fill_self_scores(world.case_a, 0)
    case = force_state(world.case_a, "appraising")
    before = _state_of_everything(case)
    for score in ([1], {"points": 1}):
        response = api(world.appraiser).put(
            f"/api/v1/cases/{case.pk}/scores/1.1.1/",
            {"appraised_score": score, "comment": "Đủ"},
            format="json",
        )
        assert response.status_code == 400
        assert response.json()["errors"] == ["appraised_score: Cần nhập một số."]
    assert _state_of_everything(case) == before


def test_a_unit_sending_its_score_or_note_as_an_object_gets_the_field_named(
    world: SimpleNamespace,
) -> None:
    before = _state_of_everything(world.case_a)
    url = f"/api/v1/cases/{world.case_a.pk}/scores/1.4/"
    for body, field in (
        ({"self_score": {"a": 1}}, "self_score"),
        ({"value": [1]}, "value"),
        ({"self_score": 1, "note": ["Theo báo cáo"]}, "note"),
        ({"self_score": 1, "not_applicable": "có lẽ"}, "not_applicable"),
    ):
        response = api(world.staff_a).put(url, body, format="json")
        assert response.status_code == 400
        assert [e.split(":")[0] for e in response.json()["errors"]] == [field]
    assert _state_of_everything(world.case_a) == before


def test_a_typed_score_with_a_decimal_comma_is_still_read_by_the_scoring_rules(
    world: SimpleNamespace,
) -> None:
    url = f"/api/v1/cases/{world.case_a.pk}/scores/1.5/"
    response = api(world.staff_a).put(url, {"self_score": "0,5"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["self_score"] == "0.50"
    response = api(world.staff_a).put(url, {"self_score": "nửa"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Tiêu chí 1.5: điểm phải là một số, không phải “nửa”."


def test_a_unit_sending_only_a_note_keeps_its_score_and_its_explanation(
    world: SimpleNamespace,
) -> None:
    url = f"/api/v1/cases/{world.case_a.pk}/scores/1.4/"
    staff = api(world.staff_a)
    first = staff.put(url, {"self_score": 1, "evidence_explanation": "QĐ 45"}, format="json")
    assert first.status_code == 200, first.json()
    response = staff.put(url, {"note": "Theo báo cáo"}, format="json")
    assert response.status_code == 200, response.json()
    score = Score.objects.get(case=world.case_a, criterion__code="1.4")
    kept = (Decimal(1), "QĐ 45")
    assert (score.self_score, score.evidence_explanation, score.note) == (*kept, "Theo báo cáo")
    assert staff.put(url, {"note": None}, format="json").status_code == 200
    score.refresh_from_db()
    assert (score.self_score, score.evidence_explanation, score.note) == (*kept, "")


def test_someone_who_may_not_write_scores_learns_nothing_from_a_wrong_score(
    world: SimpleNamespace,
) -> None:
    before = _state_of_everything(world.case_a)
    url = f"/api/v1/cases/{world.case_a.pk}/scores/1.4/"
    assert api(world.staff_b).put(url, {"self_score": [1]}, format="json").status_code == 404
    response = api(world.auditor).put(url, {"self_score": [1]}, format="json")
    assert response.status_code == 403
    assert "errors" not in response.json() or not response.json()["errors"]
    assert _state_of_everything(world.case_a) == before


def test_reopen_needs_a_reason(world: SimpleNamespace) -> None:
    case = force_state(world.case_a, "finalised")
    response = api(world.leader).post(f"/api/v1/cases/{case.pk}/transitions/reopen/")
    assert response.status_code == 400
    assert response.json()["errors"] == ["Hãy nêu lý do."]


def test_publishing_with_cases_not_finalised_lists_them(world: SimpleNamespace) -> None:
    force_state(world.case_a, "finalised")
    world.cycle.status = "results_submitted"
    world.cycle.save()
    response = api(world.leader).post(
        f"/api/v1/cycles/{world.cycle.pk}/publish/",
        {"decision_number": "1/QĐ", "decision_date": "2026-05-15"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == ["STC – Sở Tài chính đang ở trạng thái “Đang tự chấm”."]
    assert Case.objects.get(pk=world.case_a.pk).state == "finalised"


def test_an_answer_after_the_window_is_refused(world: SimpleNamespace) -> None:
    from workflow.models import Clarification

    case = force_state(world.case_a, "explanation")
    question = Clarification.objects.create(
        case=case,
        criterion=case.scores.get(criterion__code="1.1.1").criterion,
        round=1,
        question="?",
        asked_by=world.appraiser,
        due_at=timezone.now() - timedelta(seconds=1),
    )
    response = api(world.staff_a).post(
        f"/api/v1/clarifications/{question.pk}/answer/", {"answer": "Trễ"}, format="json"
    )
    assert response.status_code == 400
    assert "Đã hết thời hạn trả lời" in response.json()["detail"]
    question.refresh_from_db()
    assert question.answer == ""


def test_a_step_is_written_only_onto_the_state_it_left(world: SimpleNamespace) -> None:
    """The step's UPDATE keeps django-fsm's condition (ConcurrentTransitionMixin): sent with
    the step's audit entry, it does not overwrite a row no longer in the state the step left,
    the case says it was changed, and the entry goes with the step."""

    def submit_written_onto(state: str) -> Case:
        Case.objects.filter(pk=world.case_a.pk).update(state=Case.State.SELF_SCORING)
        case = Case.objects.select_related("cycle").get(pk=world.case_a.pk)
        case.submit()
        Case.objects.filter(pk=case.pk).update(state=state)  # as someone else left it
        with transaction.atomic():
            step = services._step_update(case, Case.State.SELF_SCORING, ["state", "is_late"])
            audit.case_transition(
                case,
                name="submit",
                actor=world.head_a,
                source=Case.State.SELF_SCORING,
                comment="",
                along=step,
            )
            services._saved(case, step)
        return case

    entries = AuditEntry.objects.filter(case=world.case_a, action="workflow.case.submit")
    with pytest.raises(ConcurrentTransition):
        submit_written_onto(Case.State.APPRAISING)
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.APPRAISING
    assert not entries.exists()
    case = submit_written_onto(Case.State.SELF_SCORING)
    assert Case.objects.get(pk=case.pk).state == Case.State.SUBMITTED
    assert entries.count() == 1
    case.save()  # the instance knows the state it wrote, as after the mixin's save()
