"""Work at a province's scale: a step on many cases at once, each still run and audited on
its own; an appraiser agreeing with a whole area's self scores; appraisers told when cases
reach their areas."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cases.errors import InvalidInput, NotAllowed
from cases.models import Case, Score
from notifications.models import Notification
from tests.helpers import appraised_but_one, fill_self_scores, force_state
from workflow import cycle_services, services
from workflow.models import AuditEntry, Clarification


def test_the_secretariat_starts_the_appraisal_of_many_cases_and_sees_each_refusal(
    world: SimpleNamespace,
) -> None:
    force_state(world.case_a, Case.State.SUBMITTED)
    outcome = cycle_services.run_transition_for_cases(
        world.cycle.pk,
        [world.case_a.pk, world.case_b.pk, 999999],
        "start_appraisal",
        actor=world.secretariat,
    )
    assert [c.pk for c in outcome.done] == [world.case_a.pk]
    assert [(c.pk, "Đang tự chấm" in str(e.message)) for c, e in outcome.refused] == [
        (world.case_b.pk, True)
    ]
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.APPRAISING
    assert Case.objects.get(pk=world.case_b.pk).state == Case.State.SELF_SCORING
    assert AuditEntry.objects.filter(action="workflow.case.start_appraisal").count() == 1
    told = Notification.objects.get(recipient=world.appraiser, kind="appraisal_started")
    assert "lĩnh vực 1, 2, 3, 4" in told.text_vi and "Sở Tư pháp" in told.text_vi
    assert Notification.objects.filter(recipient=world.appraiser2, kind="appraisal_started")
    assert "thẩm định" in Notification.objects.get(recipient=world.head_a).text_vi


def test_the_secretariat_finalises_many_cases_and_those_not_ready_stay_as_they_were(
    world: SimpleNamespace,
) -> None:
    appraised_but_one(world)
    services.ask_clarification(
        world.case_b.pk, "1.5", "Đề nghị bổ sung quyết định.", actor=world.appraiser
    )
    unready = Case.objects.filter(pk=world.case_b.pk).values().get()
    outcome = cycle_services.run_transition_for_cases(
        world.cycle.pk, [world.case_b.pk, world.case_a.pk], "finalise", actor=world.secretariat
    )
    assert [c.pk for c in outcome.done] == [world.case_a.pk]
    assert [(c.pk, c.unit.code) for c, _ in outcome.refused] == [(world.case_b.pk, "STC")]
    reasons = [str(r) for r in outcome.refused[0][1].errors]
    assert "Tiêu chí 2.2 chưa được thẩm định." in reasons
    assert "Câu hỏi về tiêu chí 1.5 vẫn chưa được xử lý." in reasons
    finalised = Case.objects.get(pk=world.case_a.pk)
    assert finalised.state == Case.State.FINALISED and finalised.finalised_at is not None
    steps = AuditEntry.objects.filter(action="workflow.case.finalise")
    assert [e.case_id for e in steps] == [world.case_a.pk]
    assert Case.objects.filter(pk=world.case_b.pk).values().get() == unready
    assert Clarification.objects.get(case=world.case_b).status == Clarification.Status.OPEN


def test_a_step_that_is_not_for_many_cases_or_no_selection_is_refused(
    world: SimpleNamespace,
) -> None:
    force_state(world.case_a, Case.State.SUBMITTED)
    with pytest.raises(InvalidInput):
        cycle_services.run_transition_for_cases(
            world.cycle.pk, [], "start_appraisal", actor=world.secretariat
        )
    with pytest.raises(Exception, match="submit"):
        cycle_services.run_transition_for_cases(
            world.cycle.pk, [world.case_a.pk], "submit", actor=world.secretariat
        )
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.SUBMITTED


def test_the_appraiser_agrees_with_an_areas_self_scores_leaving_what_needs_judgement(
    world: SimpleNamespace,
) -> None:
    case = world.case_a
    fill_self_scores(case, 0)
    Score.objects.filter(case=case, criterion__code="3.1.2").update(
        self_score=None, not_applicable=True, not_applicable_reason="Không có TTHC"
    )
    Score.objects.filter(case=case, criterion__code="3.2.1").update(self_score=None)
    force_state(case, Case.State.APPRAISING)
    services.set_appraised_score(
        case.pk,
        "3.2.2",
        actor=world.appraiser,
        change=services.AppraisedScoreChange(appraised_score="1", comment="Có"),
    )
    before = AuditEntry.objects.filter(action="cases.score.appraised").count()
    outcome = services.agree_with_self_scores(case.pk, "3", actor=world.appraiser)
    assert set(outcome.left) == {"3.1.2", "3.2.1"}
    area = Score.objects.filter(case=case, criterion__code__in=outcome.agreed)
    assert len(outcome.agreed) > 3 and "3.2.2" not in outcome.agreed and "3.6" not in outcome.agreed
    assert all(s.appraised_score == s.self_score and s.appraised_round == 1 for s in area)
    after = AuditEntry.objects.filter(action="cases.score.appraised").count()
    assert after - before == len(outcome.agreed)
    kept = Score.objects.get(case=case, criterion__code="3.2.2")
    assert kept.appraised_score == 1  # an appraisal already made is not overwritten


def test_an_appraiser_cannot_agree_for_an_area_not_theirs(world: SimpleNamespace) -> None:
    fill_self_scores(world.case_a, 0)
    case = force_state(world.case_a, Case.State.APPRAISING)
    with pytest.raises(NotAllowed, match="Lĩnh vực 5"):
        services.agree_with_self_scores(case.pk, "5", actor=world.appraiser)
    assert not Score.objects.filter(case=case, appraised_round__isnull=False).exists()
