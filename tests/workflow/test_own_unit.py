"""Nobody bends their own score: a secretariat official, a leader or a council member who
belongs to a unit never appraises, questions, finalises, reopens or decides the ranking of
that unit's case. Each refusal names the rule and changes nothing.

And the explanation round holds only the questioned criteria: the rest of the council keeps
appraising while the unit answers.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from cases.models import Case, Cycle, RankingExclusion, Score
from notifications.models import Notification
from tests.helpers import api, appraise_all, fill_self_scores, force_state
from workflow import cycle_services, services
from workflow.models import AuditEntry, Clarification


def _everything(case: Case) -> tuple[Any, ...]:
    case = Case.objects.get(pk=case.pk)
    scores = tuple(
        Score.objects.filter(case=case)
        .order_by("pk")
        .values_list("self_score", "appraised_score", "appraised_round", "version")
    )
    return (
        case.state,
        case.finalised_at,
        scores,
        Clarification.objects.filter(case=case).count(),
        RankingExclusion.objects.filter(case=case).exists(),
        AuditEntry.objects.count(),
    )


def _joins_unit_a(world: SimpleNamespace, user: Any) -> None:
    cycle_services.add_membership(user, world.unit_a, "staff", actor=world.secretariat)


def test_secretariat_cannot_appraise_own_unit(world: SimpleNamespace) -> None:
    _joins_unit_a(world, world.secretariat)
    case = force_state(world.case_a, Case.State.APPRAISING)
    fill_self_scores(case, 1)
    before = _everything(case)
    response = api(world.secretariat).put(
        f"/api/v1/cases/{case.pk}/scores/1.1.1/",
        {"appraised_score": "0", "comment": "Không đạt."},
        format="json",
    )
    assert response.status_code == 403
    assert "Sở Tư pháp" in response.json()["detail"]
    assert _everything(case) == before
    # The other unit's case is theirs to appraise as before.
    other = force_state(world.case_b, Case.State.APPRAISING)
    response = api(world.secretariat).put(
        f"/api/v1/cases/{other.pk}/scores/1.1.1/",
        {"appraised_score": "0", "comment": "Không đạt."},
        format="json",
    )
    assert response.status_code == 200


def test_secretariat_cannot_question_or_finalise_own_unit(world: SimpleNamespace) -> None:
    _joins_unit_a(world, world.secretariat)
    case = force_state(world.case_a, Case.State.APPRAISING)
    fill_self_scores(case)
    appraise_all(case, world.appraiser)
    before = _everything(case)
    client = api(world.secretariat)
    asked = client.post(
        f"/api/v1/cases/{case.pk}/clarifications/",
        {"criterion": "1.1.1", "question": "Giải trình?"},
        format="json",
    )
    finalised = client.post(f"/api/v1/cases/{case.pk}/transitions/finalise/")
    assert (asked.status_code, finalised.status_code) == (403, 403)
    assert "Sở Tư pháp" in finalised.json()["detail"]
    assert _everything(case) == before


def test_leader_cannot_reopen_or_exclude_own_unit(world: SimpleNamespace) -> None:
    _joins_unit_a(world, world.leader)
    case = force_state(world.case_a, Case.State.FINALISED)
    Cycle.objects.filter(pk=world.cycle.pk).update(status=Cycle.Status.RESULTS_SUBMITTED)
    before = _everything(case)
    client = api(world.leader)
    reopened = client.post(
        f"/api/v1/cases/{case.pk}/transitions/reopen/", {"comment": "Xem lại"}, format="json"
    )
    excluded = client.post(
        f"/api/v1/cases/{case.pk}/exclusion/", {"reason": "Số liệu không trung thực"}, format="json"
    )
    assert (reopened.status_code, excluded.status_code) == (403, 403)
    assert "Sở Tư pháp" in excluded.json()["detail"]
    assert _everything(case) == before
    # Another unit's ranking is still the leader's to decide.
    force_state(world.case_b, Case.State.FINALISED)
    response = client.post(
        f"/api/v1/cases/{world.case_b.pk}/exclusion/", {"reason": "Số liệu sai"}, format="json"
    )
    assert response.status_code == 201


def test_secretariat_own_unit_is_not_in_its_worklist_nor_drawn_with_buttons(
    world: SimpleNamespace,
) -> None:
    _joins_unit_a(world, world.secretariat)
    force_state(world.case_a, Case.State.APPRAISING)
    force_state(world.case_b, Case.State.APPRAISING)
    response = api(world.secretariat).get(f"/api/v1/cycles/{world.cycle.pk}/worklist/")
    assert [row["unit"]["code"] for row in response.json()] == ["STC"]
    detail = api(world.secretariat).get(f"/api/v1/cases/{world.case_a.pk}/").json()
    assert detail["available_transitions"] == []
    side = api(world.secretariat).get(f"/api/v1/cases/{world.case_a.pk}/appraisal/").json()
    assert not any(c["may_appraise"] for a in side["areas"] for c in a["criteria"])


def test_council_keeps_appraising_during_an_explanation_round(world: SimpleNamespace) -> None:
    case = force_state(world.case_a, Case.State.APPRAISING)
    fill_self_scores(case, 1)
    services.ask_clarification(case.pk, "1.1.1", "Văn bản nào?", actor=world.appraiser)
    services.run_transition(case.pk, "request_explanation", actor=world.appraiser)
    assert Case.objects.get(pk=case.pk).state == Case.State.EXPLANATION
    # Another appraiser's area, no question on it: appraised as usual.
    other = Score.objects.get(case=case, criterion__code="5.1.1")
    score = services.set_appraised_score(
        case.pk,
        "5.1.1",
        actor=world.appraiser2,
        change=services.AppraisedScoreChange(appraised_score=str(other.self_score), comment=""),
    )
    assert score.appraised_round == 1
    # The questioned criterion waits for the unit's answer.
    before = _everything(case)
    response = api(world.appraiser).put(
        f"/api/v1/cases/{case.pk}/scores/1.1.1/",
        {"appraised_score": "0", "comment": "Không đạt."},
        format="json",
    )
    assert response.status_code == 409
    assert "1.1.1" in response.json()["detail"]
    assert _everything(case) == before


def test_questions_of_two_appraisers_reach_the_unit_in_one_request(
    world: SimpleNamespace, django_capture_on_commit_callbacks: Any
) -> None:
    case = force_state(world.case_a, Case.State.APPRAISING)
    fill_self_scores(case, 1)
    # Each appraiser questions a criterion of their own area.
    services.ask_clarification(case.pk, "1.1.1", "Văn bản nào?", actor=world.appraiser)
    services.ask_clarification(case.pk, "5.1.1", "Số liệu ở đâu?", actor=world.appraiser2)
    with django_capture_on_commit_callbacks(execute=True):
        services.run_transition(case.pk, "request_explanation", actor=world.appraiser)
    assert Case.objects.get(pk=case.pk).state == Case.State.EXPLANATION
    # The head sees both questions, with one answer date.
    rows = api(world.head_a).get(f"/api/v1/cases/{case.pk}/clarifications/").json()
    assert {(r["criterion"], r["asked_by"]) for r in rows} == {
        ("1.1.1", world.appraiser.username),
        ("5.1.1", world.appraiser2.username),
    }
    assert len({r["due_date"] for r in rows}) == 1 and rows[0]["due_date"]
    # One notice per person of the unit, counting both questions.
    told = Notification.objects.filter(kind="explanation_requested", recipient=world.head_a)
    assert told.count() == 1
    assert "giải trình 2 nội dung" in told.get().text_vi
    assert "explain 2 point(s)" in told.get().text_en
