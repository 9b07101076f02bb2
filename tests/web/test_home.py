"""The home page of each role: what this person has to do now."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse

from cases.models import Case, Cycle
from tests.helpers import fill_self_scores, force_state
from tests.web.html import Page


def test_the_unit_head_sees_the_case_its_deadline_with_time_left_and_the_next_step(
    world: Any, signed_in: Any
) -> None:
    page = Page(signed_in(world.head_a).get(reverse("web:home")))
    card = page.first("article", data_case=str(world.case_a.pk))
    assert "Sở Tư pháp" in card.text
    assert "Đang tự chấm" in card.text
    assert "Đã tự chấm: 0/48" in card.text
    assert world.cycle.self_assessment_due.strftime("%d/%m/%Y") in card.text
    assert "còn 7 ngày" in card.text
    assert "Nhập điểm tự chấm kèm tài liệu kiểm chứng, rồi gửi trước hạn." in card.text
    assert "Sở Tài chính" not in page.text  # another unit's case


def test_unit_staff_are_told_the_head_submits(world: Any, signed_in: Any) -> None:
    page = Page(signed_in(world.staff_a).get(reverse("web:home")))
    assert "thủ trưởng đơn vị sẽ gửi" in page.text


def test_the_unit_is_told_to_answer_open_questions(world: Any, signed_in: Any) -> None:
    from workflow import services

    fill_self_scores(world.case_a)
    force_state(world.case_a, Case.State.APPRAISING)
    services.ask_clarification(world.case_a.pk, "1.5", "Vì sao?", actor=world.appraiser)
    services.run_transition(world.case_a.pk, "request_explanation", actor=world.appraiser)
    page = Page(signed_in(world.head_a).get(reverse("web:home")))
    assert "1 câu hỏi chưa trả lời" in page.text
    assert "Trả lời các câu hỏi của Hội đồng, rồi gửi giải trình." in page.text


def test_the_appraiser_sees_a_work_list_by_case_and_area(world: Any, signed_in: Any) -> None:
    fill_self_scores(world.case_a)
    force_state(world.case_a, Case.State.APPRAISING)
    page = Page(signed_in(world.appraiser).get(reverse("web:home")))
    assert "Việc thẩm định của bạn" in page.text
    links = [a["href"] for a in page.all("a") if "?area=" in a.attrs.get("href", "")]
    case_url = reverse("web:appraisal", args=[world.case_a.pk])
    assert links == [f"{case_url}?area={code}" for code in ("1", "2", "3", "4")]
    assert "STC" not in page.text  # not being appraised yet


def test_an_appraiser_does_not_get_their_own_units_case_to_appraise(
    world: Any, signed_in: Any
) -> None:
    from workflow import cycle_services

    cycle_services.add_membership(world.appraiser, world.unit_a, "staff", actor=world.secretariat)
    for case in (world.case_a, world.case_b):
        fill_self_scores(case)
        force_state(case, Case.State.APPRAISING)
    page = Page(signed_in(world.appraiser).get(reverse("web:home")))
    assert page.id_or_none("work-list") is not None
    assert "STC – Sở Tài chính" in page.text
    assert "STP – Sở Tư pháp" not in page.text


def test_the_secretariat_sees_counts_per_state_who_is_late_and_a_chart(
    world: Any, signed_in: Any
) -> None:
    fill_self_scores(world.case_b)
    force_state(world.case_b, Case.State.SUBMITTED)
    Cycle.objects.filter(pk=world.cycle.pk).update(
        self_assessment_due=world.cycle.self_assessment_due - timedelta(days=30)
    )
    page = Page(signed_in(world.secretariat).get(reverse("web:home")))
    assert "Tiến độ đợt đánh giá" in page.text
    assert page.first_or_none("svg", role="img") is not None
    late = page.text.split("Trễ hạn", 1)[1]
    assert "STP – Sở Tư pháp" in late  # still self-scoring after the deadline
    assert "STC – Sở Tài chính" not in late


def test_the_leader_sees_what_waits_for_approval(world: Any, signed_in: Any) -> None:
    client = signed_in(world.leader)
    assert "Không có gì chờ bạn phê duyệt." in Page(client.get(reverse("web:home"))).text
    Cycle.objects.filter(pk=world.cycle.pk).update(status=Cycle.Status.RESULTS_SUBMITTED)
    page = Page(client.get(reverse("web:home")))
    assert page.first_or_none("a", href=reverse("web:publish", args=[world.cycle.pk])) is not None


def test_signing_in_leads_home_and_a_wrong_password_says_so_beside_the_form(
    world: Any, client: Any
) -> None:
    refused = client.post(reverse("login"), {"username": "stp.head", "password": "wrong"})
    assert refused.status_code == 200
    assert Page(refused).id_or_none("signin-errors") is not None
    response = client.post(reverse("login"), {"username": "stp.head", "password": "pw-12345-xyz"})
    assert response.status_code == 302 and response["Location"] == reverse("web:home")


def test_pages_need_a_signed_in_user(world: Any, client: Any) -> None:
    response = client.get(reverse("web:case", args=[world.case_a.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
