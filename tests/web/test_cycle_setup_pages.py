"""The secretariat creates a cycle in the pages, chooses its criteria set and opens it; a bad
setting is shown beside its field and creates nothing."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from cases.models import Case, Cycle, Framework, Score
from tests.web.html import Page
from workflow.models import AuditEntry

FORM = {
    "year": "2031",
    "run_year": "",
    "title": "",
    "authority": "UBND tỉnh Thử nghiệm",
    "plan_number": "12/KH-UBND",
    "plan_date": "15/01/2032",
    "basis_decision_number": "",
    "basis_decision_date": "",
    "self_assessment_due": "31/03/2032",
    "survey_due": "",
    "appraisal_due": "10/05/2032",
    "publication_target": "",
    "explanation_window_days": "5",
    "self_weight": "70",
    "survey_weight": "30",
    "group_basis": "total",
    "reminder_offsets": "7, 3, 1, 0",
    "overdue_reminder": "true",
    "band_group_0": "A",
    "band_min_0": "90",
    "band_label_0": "tốt",
    "band_group_1": "B",
    "band_min_1": "70",
    "band_label_1": "khá",
    "band_group_2": "C",
    "band_min_2": "50",
    "band_label_2": "trung bình",
    "band_group_3": "D",
    "band_min_3": "0",
    "band_label_3": "yếu",
}


def test_the_secretariat_creates_chooses_the_set_and_opens_a_cycle_in_the_pages(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    assert client.get(reverse("web:cycle-new")).status_code == 200
    response = client.post(reverse("web:cycle-new"), FORM)
    assert response.status_code == 302, Page(response).text
    cycle = Cycle.objects.get(year=2031)
    assert (cycle.status, cycle.run_year, cycle.auto_start_appraisal) == ("draft", 2032, False)
    assert [b["label"] for b in cycle.group_thresholds] == ["tốt", "khá", "trung bình", "yếu"]

    listed = Page(client.get(reverse("web:cycles"))).text
    assert "Chỉ số cải cách hành chính năm 2031" in listed and "Đang chuẩn bị" in listed
    overview = client.get(reverse("web:cycle", args=[cycle.pk]))
    assert overview.status_code == 200  # a cycle being prepared has no case yet
    settings = reverse("web:cycle-settings", args=[cycle.pk])
    page = Page(client.get(settings))
    assert "Khối sở (2 đơn vị) chưa có bộ tiêu chí" in page.id("open-title").text + page.text
    assert page.first_or_none("form", action=reverse("web:cycle-open", args=[cycle.pk])) is None

    used = world.cycle.frameworks.get()
    response = client.post(reverse("web:cycle-set", args=[cycle.pk]), {"framework": used.pk})
    assert response.status_code == 302
    copy = Framework.objects.get(cycle=cycle)
    assert (copy.derived_from_id, copy.version) == (used.pk, 2)
    page = Page(client.get(settings))
    assert page.first_or_none("form", action=reverse("web:cycle-open", args=[cycle.pk])) is not None

    response = client.post(reverse("web:cycle-open", args=[cycle.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("web:cycle", args=[cycle.pk])
    assert Case.objects.filter(cycle=cycle).count() == 2
    assert (
        Score.objects.filter(case__cycle=cycle).count()
        == 2 * copy.criteria.filter(is_leaf=True).count()
    )


def test_a_bad_date_is_shown_beside_its_field_and_nothing_is_created(
    world: Any, signed_in: Any
) -> None:
    before = (Cycle.objects.count(), AuditEntry.objects.count())
    response = signed_in(world.secretariat).post(
        reverse("web:cycle-new"),
        {**FORM, "appraisal_due": "10.05.2032", "band_min_3": "10"},
    )
    assert response.status_code == 400
    page = Page(response)
    assert "“10.05.2032” không phải là ngày" in page.id("c-appraisal_due-error").text
    assert page.id("c-appraisal_due")["aria-invalid"] == "true"
    assert "bắt đầu từ 0" in page.id("bands-error").text
    assert page.id("c-plan_number")["value"] == "12/KH-UBND"  # what was typed stays
    assert (Cycle.objects.count(), AuditEntry.objects.count()) == before


def test_an_open_cycle_shows_only_its_deadlines_as_editable(world: Any, signed_in: Any) -> None:
    page = Page(
        signed_in(world.secretariat).get(reverse("web:cycle-settings", args=[world.cycle.pk]))
    )
    assert "disabled" in page.id("c-self_weight").attrs
    assert "disabled" not in page.id("c-appraisal_due").attrs
    assert page.id_or_none("open-title") is None


def test_only_the_secretariat_sets_up_cycles(world: Any, signed_in: Any) -> None:
    before = Cycle.objects.count()
    for user in (world.leader, world.head_a, world.appraiser):
        client = signed_in(user)
        assert client.get(reverse("web:cycle-new")).status_code == 403
        assert client.post(reverse("web:cycle-new"), FORM).status_code == 403
    assert Cycle.objects.count() == before


def test_the_reward_rule_is_set_in_its_two_boxes_and_a_stranger_group_is_shown_beside_them(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    url = reverse("web:cycle-settings", args=[world.cycle.pk])
    page = Page(client.get(url))
    assert page.id("c-reward_groups")["value"] == "A"
    assert page.id("c-reward_top")["value"] == "3"
    before = AuditEntry.objects.count()
    refused = client.post(url, {"reward_groups": "A, E", "reward_top": "5"})
    assert refused.status_code == 400
    assert "E: không phải là nhóm của đợt này" in Page(refused).id("c-reward_groups-error").text
    assert AuditEntry.objects.count() == before

    client.post(url, {"reward_groups": "A, B", "reward_top": "5"})
    assert Cycle.objects.get(pk=world.cycle.pk).reward_rule == {"groups": ["A", "B"], "top": 5}
