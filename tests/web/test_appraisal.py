"""Appraisal and explanation on the pages: the side-by-side view, an appraiser's score and
question on their own areas only, the unit's answer, and the thread it leaves."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse

from cases.models import Case, Score
from deadlines.calendar import last_day
from notifications.models import Notification
from tests.helpers import (
    api,
    appraise_all,
    fill_self_scores,
    force_state,
    import_survey_scores,
)
from tests.web.helpers import htmx
from tests.web.html import Page
from workflow import services
from workflow.models import AuditEntry, Clarification


def _appraising(world: Any) -> Case:
    fill_self_scores(world.case_a, 0)
    return force_state(world.case_a, Case.State.APPRAISING)


def test_the_appraiser_sees_self_and_appraised_side_by_side_with_forms_on_their_areas_only(
    world: Any, signed_in: Any
) -> None:
    case = _appraising(world)
    page = Page(signed_in(world.appraiser).get(reverse("web:appraisal", args=[case.pk])))
    assert "Thẩm định và giải trình" in page.text
    assert page.id_or_none("c-1-5-appraised") is not None  # area 1 is theirs
    assert page.id_or_none("c-1-5-question") is not None
    assert page.id_or_none("c-5-5-appraised") is None  # area 5 belongs to appraiser2
    assert page.id_or_none("c-5-5-question") is None


def test_an_appraised_score_that_differs_needs_a_comment_beside_the_comment_field(
    world: Any, signed_in: Any
) -> None:
    case = _appraising(world)
    client = signed_in(world.appraiser)
    url = reverse("web:appraise", args=[case.pk, "1.5"])
    refused = htmx(client, url, {"appraised_score": "1", "comment": "", "version": 1})
    assert refused.status_code == 400
    assert "lý do" in Page(refused).id("c-1-5-comment-error").text
    saved = htmx(client, url, {"appraised_score": "1", "comment": "Có quyết định công nhận"})
    assert saved.status_code == 200
    score = Score.objects.get(case=case, criterion__code="1.5")
    assert score.appraised_score == Decimal("1.00") and score.appraised_round == 1


def test_an_appraiser_cannot_score_another_members_area(world: Any, signed_in: Any) -> None:
    case = _appraising(world)
    url = reverse("web:appraise", args=[case.pk, "5.5"])
    response = htmx(signed_in(world.appraiser), url, {"appraised_score": "0"})
    assert response.status_code == 400
    assert "không thuộc lĩnh vực" in Page(response).id("c-5-5-aerrors").text
    assert Score.objects.get(case=case, criterion__code="5.5").appraised_round is None


def test_the_appraiser_asks_and_the_unit_answers_in_one_thread(world: Any, signed_in: Any) -> None:
    case = _appraising(world)
    appraiser = signed_in(world.appraiser)
    asked = appraiser.post(
        reverse("web:ask", args=[case.pk]),
        {"criterion": "1.1.1", "question": "Đề nghị bổ sung kế hoạch CCHC năm đã ký."},
    )
    assert asked.status_code == 302 and asked["Location"].endswith("#c-1-1-1")
    services.run_transition(case.pk, "request_explanation", actor=world.appraiser)
    question = Clarification.objects.get(case=case)

    unit = signed_in(world.staff_a)
    page = Page(unit.get(reverse("web:appraisal", args=[case.pk])))
    assert "Đề nghị bổ sung kế hoạch CCHC năm đã ký." in page.text
    assert page.id_or_none(f"answer-{question.pk}") is not None
    answered = unit.post(
        reverse("web:answer", args=[question.pk]),
        {"answer": "Đã bổ sung Kế hoạch số 15/KH-STP ngày 10/01."},
    )
    assert answered.status_code == 302
    thread = Page(unit.get(answered["Location"])).id(f"q-{question.pk}").text
    assert "Đề nghị bổ sung kế hoạch CCHC năm đã ký." in thread
    assert "Đã bổ sung Kế hoạch số 15/KH-STP ngày 10/01." in thread


def test_the_answer_date_reads_as_the_end_of_a_day_like_the_notice_and_the_deadlines(
    world: Any, signed_in: Any
) -> None:
    case = _appraising(world)
    services.ask_clarification(case.pk, "1.5", "Vì sao?", actor=world.appraiser)
    services.run_transition(case.pk, "request_explanation", actor=world.appraiser)
    question = Clarification.objects.get(case=case)
    assert question.due_at is not None
    day = last_day(question.due_at).strftime("%d/%m/%Y")

    page = Page(signed_in(world.staff_a).get(reverse("web:appraisal", args=[case.pk])))

    assert f"hạn trả lời: hết ngày {day}" in page.id(f"q-{question.pk}").text
    assert "00:00" not in page.id(f"q-{question.pk}").text
    assert day in page.first("dl", **{"class": "deadlines"}).text  # and in the deadlines
    notice = Notification.objects.filter(recipient=world.staff_a, case=case).last()
    assert (
        notice is not None and f"hết ngày {day}" in notice.text_vi
    )  # and in the notice the unit received


def test_the_sheet_and_the_appraisal_page_count_the_same_leaves_and_the_index_waits(
    world: Any, signed_in: Any
) -> None:
    case = _appraising(world)
    appraiser = signed_in(world.appraiser)
    htmx(
        appraiser,
        reverse("web:appraise", args=[case.pk, "1.5"]),
        {"appraised_score": "0", "comment": ""},
    )
    sheet = Page(signed_in(world.secretariat).get(reverse("web:case", args=[case.pk])))
    appraisal = Page(appraiser.get(reverse("web:appraisal", args=[case.pk])))

    scored, leaves = sheet.id("self-count").text.split("/")
    assert appraisal.id("appraised-count").text == f"1/{leaves}"  # one of the same leaves
    assert scored == leaves
    for page in (sheet, appraisal):  # an index of one row would mislead
        assert page.id("index").text == "sau thẩm định"

    appraise_all(case, world.appraiser)
    import_survey_scores(world.cycle, 0)
    appraisal = Page(appraiser.get(reverse("web:appraisal", args=[case.pk])))
    assert appraisal.id("appraised-count").text == f"{leaves}/{leaves}"
    assert appraisal.id("index").text == "0,00"


def test_the_appraiser_reads_the_units_answers_in_words(world: Any, signed_in: Any) -> None:
    case = world.case_a
    fill_self_scores(case, 0)
    for code, value in (("1.1.1", 1), ("1.2", 0), ("1.4", 1), ("1.1.2", "85")):
        services.set_self_score(
            case.pk, code, actor=world.staff_a, change=services.SelfScoreChange(value=value)
        )
    force_state(case, Case.State.APPRAISING)

    page = Page(signed_in(world.appraiser).get(reverse("web:appraisal", args=[case.pk])))

    def said(code: str) -> str:
        """The unit's self score as its row reads it back."""
        return page.id("c-" + code.replace(".", "-")).text.split("Điểm tự chấm")[1]

    assert said("1.1.1").startswith("Có (1 điểm) ")
    assert said("1.2").startswith("0 lần vi phạm (1,5 điểm) ")
    assert said("1.4").startswith("Thực hiện chưa đầy đủ (0,5 điểm) ")
    assert said("1.1.2").startswith("85% (1 điểm) ")


def test_an_empty_question_is_refused_beside_the_question_field(world: Any, signed_in: Any) -> None:
    case = _appraising(world)
    response = signed_in(world.appraiser).post(
        reverse("web:ask", args=[case.pk]), {"criterion": "1.5", "question": "  "}
    )
    assert response.status_code == 400
    assert "câu hỏi" in Page(response).id("c-1-5-question-error").text
    assert not Clarification.objects.filter(case=case).exists()


def test_an_empty_answer_is_refused_beside_the_answer_field(world: Any, signed_in: Any) -> None:
    case = _appraising(world)
    services.ask_clarification(case.pk, "1.5", "Vì sao?", actor=world.appraiser)
    services.run_transition(case.pk, "request_explanation", actor=world.appraiser)
    question = Clarification.objects.get(case=case)
    response = signed_in(world.staff_a).post(
        reverse("web:answer", args=[question.pk]), {"answer": ""}
    )
    assert response.status_code == 400
    assert "trả lời" in Page(response).id(f"answer-{question.pk}-error").text


def test_another_unit_cannot_answer(world: Any, signed_in: Any) -> None:
    case = _appraising(world)
    services.ask_clarification(case.pk, "1.5", "Vì sao?", actor=world.appraiser)
    services.run_transition(case.pk, "request_explanation", actor=world.appraiser)
    question = Clarification.objects.get(case=case)
    response = signed_in(world.staff_b).post(
        reverse("web:answer", args=[question.pk]), {"answer": "Không phải việc của tôi"}
    )
    assert response.status_code == 404
    assert Clarification.objects.get(pk=question.pk).answer == ""


def test_without_javascript_the_appraiser_confirms_not_applicable_and_a_bare_choice_is_refused(
    world: Any, signed_in: Any
) -> None:
    fill_self_scores(world.case_a, 0)
    Score.objects.filter(case=world.case_a, criterion__code="3.1.2").update(
        self_score=None, not_applicable=True, not_applicable_reason="Không có TTHC"
    )
    case = force_state(world.case_a, Case.State.APPRAISING)
    client = signed_in(world.appraiser)
    page = Page(client.get(reverse("web:appraisal", args=[case.pk])))
    assert page.id_or_none("c-3-1-2-na-confirm") is not None
    assert page.id_or_none("c-1-5-na-confirm") is None  # only where the unit declared it
    url = reverse("web:appraise", args=[case.pk, "3.1.2"])
    refused = client.post(url, {"appraised_score": "", "comment": ""})
    assert refused.status_code == 400
    assert "đồng ý" in Page(refused).id("c-3-1-2-na-decision-error").text
    assert Score.objects.get(case=case, criterion__code="3.1.2").appraised_round is None
    saved = client.post(url, {"na_decision": "confirm", "appraised_score": "", "comment": ""})
    assert saved.status_code == 302
    score = Score.objects.get(case=case, criterion__code="3.1.2")
    assert (score.not_applicable_decision, score.appraised_round) == ("confirmed", 1)


def test_no_question_is_asked_on_a_survey_criterion(world: Any, signed_in: Any) -> None:
    """Its points come from the survey import: the unit has nothing to explain about them."""
    case = _appraising(world)
    page = Page(signed_in(world.appraiser).get(reverse("web:appraisal", args=[case.pk])))
    assert page.id_or_none("c-3-6") is not None  # the survey criterion is listed, in their area
    assert page.id_or_none("c-3-6-question") is None
    assert page.id_or_none("c-3-5-question") is not None
    audited = AuditEntry.objects.count()
    response = api(world.appraiser).post(
        f"/api/v1/cases/{case.pk}/clarifications/",
        {"criterion": "3.6", "question": "Vì sao điểm khảo sát thấp?"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Tiêu chí 3.6 được chấm bằng kết quả điều tra xã hội học: "
        "đơn vị không có nội dung nào để giải trình."
    )
    assert not Clarification.objects.filter(case=case).exists()
    assert AuditEntry.objects.count() == audited


def test_a_question_posted_on_a_survey_criterion_is_refused_in_words(
    world: Any, signed_in: Any
) -> None:
    """The row draws no question field to carry the refusal: the page states it at its top."""
    case = _appraising(world)
    response = signed_in(world.appraiser).post(
        reverse("web:ask", args=[case.pk]), {"criterion": "3.6", "question": "Vì sao?"}
    )
    assert response.status_code == 400
    assert "Tiêu chí 3.6 được chấm bằng kết quả điều tra xã hội học" in Page(response).text
    assert not Clarification.objects.filter(case=case).exists()
