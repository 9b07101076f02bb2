"""Lateness and evidence as the appraiser meets them: the penalty a set counts per working
day late is proposed from the dates (not typed by hand), and a criterion that requires
evidence but rests on the unit's written explanation alone is marked; a cycle may refuse
such text in place of a document."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse

from cases.models import Case, Cycle, Score
from deadlines import policy
from deadlines.models import CalendarOverride, Extension
from tests.helpers import api, fill_self_scores, force_state
from tests.web.helpers import htmx
from tests.web.html import Page
from workflow.models import AuditEntry

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DUE = date(2026, 6, 5)  # a Friday
RECEIVED = datetime.combine(date(2026, 6, 10), time(10, 0), VN)  # the Wednesday after


def _received_late(world: Any) -> Case:
    """Unit A's case sent by its head on Wednesday 10/6 for a deadline of Friday 5/6: 3
    working days late (Monday, Tuesday, Wednesday), now being appraised."""
    Cycle.objects.filter(pk=world.cycle.pk).update(self_assessment_due=DUE)
    fill_self_scores(world.case_a)
    Case.objects.filter(pk=world.case_a.pk).update(submitted_at=RECEIVED, is_late=False)
    return force_state(world.case_a, Case.State.APPRAISING)


def test_working_days_late_skip_weekends_and_tet(world: Any) -> None:
    assert policy.working_days_between(DUE, RECEIVED.date()) == 3
    # Tết 2026: five working days from Thursday 12/2 end on Thursday 26/2.
    assert policy.working_days_between(date(2026, 2, 12), date(2026, 2, 26)) == 5
    CalendarOverride.objects.create(
        day=date(2026, 6, 8),
        kind=CalendarOverride.Kind.DAY_OFF,
        reason="Nghỉ bù",
        created_by=world.secretariat,
    )
    assert policy.working_days_between(DUE, RECEIVED.date()) == 2


def test_appraiser_is_proposed_the_late_penalty_from_the_working_days_late(
    world: Any, signed_in: Any
) -> None:
    case = _received_late(world)
    client = signed_in(world.appraiser2)  # areas 5 to 9: the bonus and penalty area too

    page = Page(client.get(reverse("web:appraisal", args=[case.pk])))

    assert page.id("c-9-2-proposal").text == (
        "Đề xuất theo ngày: gửi trễ 3 ngày làm việc × 0,5 điểm = 1,5 điểm."
    )
    assert page.id("c-9-2-appraised")["value"] == "1,5"
    saved = htmx(client, reverse("web:appraise", args=[case.pk, "9.2"]), {"appraised_score": "1,5"})
    assert saved.status_code == 200, saved.content.decode()
    score = Score.objects.get(case=case, criterion__code="9.2")
    assert score.appraised_score == Decimal("1.50")
    assert score.appraised_comment == "Gửi trễ 3 ngày làm việc × 0,5 điểm."


def test_a_penalty_other_than_the_proposal_still_needs_its_reason(
    world: Any, signed_in: Any
) -> None:
    case = _received_late(world)
    before = AuditEntry.objects.count()

    refused = htmx(
        signed_in(world.appraiser2),
        reverse("web:appraise", args=[case.pk, "9.2"]),
        {"appraised_score": "3"},
    )

    assert refused.status_code == 400
    assert "lý do" in Page(refused).id("c-9-2-comment-error").text
    assert Score.objects.get(case=case, criterion__code="9.2").appraised_round is None
    assert AuditEntry.objects.count() == before


def test_a_unit_received_within_an_extension_granted_in_time_is_not_late(world: Any) -> None:
    case = _received_late(world)
    Extension.objects.create(
        case=case,
        kind=Extension.Kind.SELF_ASSESSMENT,
        due_date=date(2026, 6, 12),
        previous_due=DUE,
        reason="Gia hạn do sự cố phần mềm",
        granted_by=world.secretariat,
        granted_at=datetime.combine(date(2026, 6, 4), time(15, 0), VN),
    )

    side = api(world.appraiser2).get(f"/api/v1/cases/{case.pk}/appraisal/").json()

    rows = {r["criterion"]: r for a in side["areas"] for r in a["criteria"]}
    assert rows["9.2"]["proposed"] == {"working_days_late": 0, "per_day": "0.50", "score": "0.00"}
    assert rows["9.1"]["proposed"] is None


def test_appraiser_sees_which_criteria_rest_on_the_explanation_alone(
    world: Any, signed_in: Any
) -> None:
    fill_self_scores(world.case_a)  # every criterion requiring evidence explained, no file
    case = force_state(world.case_a, Case.State.APPRAISING)

    page = Page(signed_in(world.appraiser).get(reverse("web:appraisal", args=[case.pk])))
    side = api(world.appraiser).get(f"/api/v1/cases/{case.pk}/appraisal/").json()

    assert page.id("c-1-1-1-text-only").text == "chỉ có giải trình, không có tài liệu"
    assert page.id_or_none("c-1-6-text-only") is None  # a survey criterion needs no evidence
    rows = {r["criterion"]: r for a in side["areas"] for r in a["criteria"]}
    assert rows["1.1.1"]["rests_on_text"] is True
    assert rows["1.6"]["rests_on_text"] is False


def test_a_cycle_that_wants_documents_refuses_a_submission_backed_by_text_alone(
    world: Any,
) -> None:
    changed = api(world.secretariat).patch(
        f"/api/v1/cycles/{world.cycle.pk}/",
        {"explanation_may_replace_evidence": False},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["explanation_may_replace_evidence"] is False
    fill_self_scores(world.case_a)
    before = (Case.objects.get(pk=world.case_a.pk).state, AuditEntry.objects.count())

    response = api(world.head_a).post(f"/api/v1/cases/{world.case_a.pk}/transitions/submit/")

    assert response.status_code == 400
    body = response.json()
    assert "Tiêu chí 1.1.1 yêu cầu tài liệu kiểm chứng: hãy đính kèm tài liệu." in [
        body["detail"],
        *body.get("errors", []),
    ]
    assert (Case.objects.get(pk=world.case_a.pk).state, AuditEntry.objects.count()) == before


def test_appraiser_of_a_case_locked_and_never_sent_is_told_the_dates_propose_nothing(
    world: Any, signed_in: Any
) -> None:
    Cycle.objects.filter(pk=world.cycle.pk).update(self_assessment_due=DUE)
    fill_self_scores(world.case_a)
    locked_at = datetime.combine(date(2026, 6, 6), time(0, 1), VN)
    Case.objects.filter(pk=world.case_a.pk).update(submitted_at=locked_at, is_late=True)
    case = force_state(world.case_a, Case.State.APPRAISING)

    page = Page(signed_in(world.appraiser2).get(reverse("web:appraisal", args=[case.pk])))
    side = api(world.appraiser2).get(f"/api/v1/cases/{case.pk}/appraisal/").json()

    assert page.id("c-9-2-proposal").text == (
        "Không có đề xuất theo ngày: đơn vị không gửi kết quả tự đánh giá, hồ sơ bị khóa "
        "khi hết hạn. Hãy nhập điểm trừ kèm lý do."
    )
    assert page.id("c-9-2-appraised")["value"] == ""
    rows = {r["criterion"]: r for a in side["areas"] for r in a["criteria"]}
    assert rows["9.2"]["proposed"] is None


def test_secretariat_reads_a_case_locked_at_the_cutoff_as_not_sent(
    world: Any, signed_in: Any
) -> None:
    Case.objects.filter(pk=world.case_a.pk).update(is_late=True)
    locked = force_state(world.case_a, Case.State.SUBMITTED)
    sent = force_state(world.case_b, Case.State.SUBMITTED)
    client = signed_in(world.secretariat)

    def states(url: str) -> set[str]:
        return {
            e.text for e in Page(client.get(url)).all("span", **{"class": "state state-submitted"})
        }

    assert states(reverse("web:case", args=[locked.pk])) == {"Chưa gửi"}
    assert states(reverse("web:case", args=[sent.pk])) == {"Đã gửi"}
    assert states(reverse("web:cycle", args=[world.cycle.pk])) == {"Chưa gửi", "Đã gửi"}
