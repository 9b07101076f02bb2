"""Results on the pages: the ranking with groups and chart, each unit's areas, the export,
public once published, and the leader's exclusion."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.test import Client
from django.urls import reverse

from cases.models import Case, Cycle, Method, RankingExclusion, Score
from tests.helpers import appraise_all, fill_self_scores, force_state
from tests.web.html import Page
from workflow import cycle_services


def _finalised(world: Any) -> None:
    """Test set-up shortcut: STP appraised and surveyed at full points, STC at zero."""
    for case, full in ((world.case_a, True), (world.case_b, False)):
        fill_self_scores(case)
        appraise_all(case, world.appraiser)
        rows = Score.objects.filter(case=case).exclude(
            criterion__method__in=[Method.BONUS, Method.PENALTY]
        )
        for row in rows.select_related("criterion"):
            points = row.criterion.max_points if full else 0
            Score.objects.filter(pk=row.pk).update(appraised_score=points)
        force_state(case, Case.State.FINALISED)


def _results_submitted(world: Any) -> None:
    """Test set-up shortcut: both cases finalised and the results sent to the leader."""
    _finalised(world)
    cycle_services.submit_results(world.cycle.pk, actor=world.secretariat)


def _published(world: Any) -> None:
    _results_submitted(world)
    cycle_services.publish_cycle(
        world.cycle.pk,
        actor=world.leader,
        decision_number="99/QĐ-UBND",
        decision_date=date(2026, 4, 15),
    )


def test_published_results_are_public_with_ranks_groups_and_a_chart(world: Any) -> None:
    _published(world)
    page = Page(Client().get(reverse("web:results", args=[world.cycle.pk])))
    rows = [r.text for r in page.all("tr")]
    first = next(r for r in rows if "Sở Tư pháp" in r)
    second = next(r for r in rows if "Sở Tài chính" in r)
    assert first.startswith("1 Sở Tư pháp") and " A " in f" {first} "
    assert second.startswith("2 Sở Tài chính") and " D " in f" {second} "
    assert page.first_or_none("svg", role="img") is not None
    assert page.first_or_none("a", href=reverse("results-xlsx", args=[world.cycle.pk])) is not None


def test_a_units_page_shows_its_index_per_area(world: Any) -> None:
    _published(world)
    url = reverse("web:result-unit", args=[world.cycle.pk, "STP"])
    page = Page(Client().get(url))
    assert "Chỉ số thành phần theo lĩnh vực" in page.text
    assert "1. Công tác chỉ đạo, điều hành CCHC" in page.text
    assert page.id_or_none("exclusion-reason") is None  # decided and published: no form


def test_results_are_not_shown_before_publication_except_to_those_who_decide(
    world: Any, signed_in: Any
) -> None:
    _finalised(world)
    url = reverse("web:results", args=[world.cycle.pk])
    assert Client().get(url).status_code == 404
    assert signed_in(world.head_a).get(url).status_code == 403
    page = Page(signed_in(world.secretariat).get(url))
    assert "Dự kiến: chưa công bố" in page.text


def test_the_leader_excludes_a_unit_which_is_then_listed_apart_with_the_reason(
    world: Any, signed_in: Any
) -> None:
    _results_submitted(world)
    leader = signed_in(world.leader)
    url = reverse("web:exclusion", args=[world.cycle.pk, "STP"])
    response = leader.post(url, {"reason": "Cung cấp số liệu không trung thực"})
    assert response.status_code == 302
    page = Page(leader.get(reverse("web:results", args=[world.cycle.pk])))
    apart = page.text.split("Không xếp hạng", 1)[1]
    assert "Sở Tư pháp: Cung cấp số liệu không trung thực" in apart
    row = next(r.text for r in page.all("tr") if "Sở Tài chính" in r.text)
    assert row.startswith("1 Sở Tài chính")
    assert Cycle.objects.get(pk=world.cycle.pk).status == Cycle.Status.RESULTS_SUBMITTED


def test_only_the_leader_excludes(world: Any, signed_in: Any) -> None:
    _results_submitted(world)
    url = reverse("web:exclusion", args=[world.cycle.pk, "STP"])
    assert signed_in(world.secretariat).post(url, {"reason": "x"}).status_code == 403


def test_published_results_state_the_grouping_basis_and_name_each_group(world: Any) -> None:
    _published(world)
    url = reverse("web:results", args=[world.cycle.pk])
    page = Page(Client().get(url))
    assert "Xếp nhóm theo tổng điểm (trên 100 điểm)." in page.text
    first = next(r.text for r in page.all("tr") if "Sở Tư pháp" in r.text)
    second = next(r.text for r in page.all("tr") if "Sở Tài chính" in r.text)
    assert "Nhóm A (tốt)" in first and "Nhóm D (yếu)" in second
    # The basis is the cycle's choice, and the page says which.
    Cycle.objects.filter(pk=world.cycle.pk).update(group_basis=Cycle.GroupBasis.INDEX)
    page = Page(Client().get(url))
    assert "Xếp nhóm theo chỉ số (đã quy đổi khi có tiêu chí không áp dụng)." in page.text
    assert "tổng điểm (trên 100 điểm)" not in page.text


def test_a_units_results_page_names_its_group_and_the_basis(world: Any) -> None:
    _published(world)
    page = Page(Client().get(reverse("web:result-unit", args=[world.cycle.pk, "STC"])))
    assert "Nhóm D (yếu)" in page.text
    assert "Xếp nhóm theo tổng điểm (trên 100 điểm)." in page.text


def test_the_leader_records_on_the_page_who_clarifies_the_responsibility_and_by_when(
    world: Any, signed_in: Any
) -> None:
    _results_submitted(world)
    leader = signed_in(world.leader)
    url = reverse("web:exclusion", args=[world.cycle.pk, "STP"])
    form = Page(leader.get(reverse("web:result-unit", args=[world.cycle.pk, "STP"])))
    assert form.id("exclusion-follow-up-by") is not None
    reason = "Cung cấp số liệu không trung thực"
    past = leader.post(
        url,
        {"reason": reason, "follow_up_by": "Sở Tư pháp", "follow_up_due": "01/01/2020"},
        follow=True,
    )
    assert "Hạn làm rõ trách nhiệm 01/01/2020 đã qua." in Page(past).text
    assert not RankingExclusion.objects.exists()  # a date already passed changes nothing

    leader.post(
        url,
        {"reason": reason, "follow_up_by": " Giám đốc  Sở Tư pháp ", "follow_up_due": "30/06/2099"},
    )
    exclusion = RankingExclusion.objects.get()
    assert (exclusion.follow_up_by, exclusion.follow_up_due) == (
        "Giám đốc Sở Tư pháp",
        date(2099, 6, 30),
    )
    # The secretariat sees the follow-up beside the exclusion.
    page = signed_in(world.secretariat).get(
        reverse("web:result-unit", args=[world.cycle.pk, "STP"])
    )
    assert "Người phải làm rõ trách nhiệm: Giám đốc Sở Tư pháp · hạn 30/06/2099" in Page(page).text
