"""Groups on the total points by default, with their names, and units found dishonest
neither assessed nor ranked in public.

A department with a criterion not applicable scores 65,30 points of 100; its index, rescaled
for the criterion, is 72,56. docs/domain.md defines the groups on total points, so it is
group C (trung bình), not B, unless the cycle chose the index as its basis; the results say which.
"""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from cases.models import Cycle, PublishedResult, RankingExclusion, Score
from deadlines.calendar import local_date
from notifications.models import Notification
from results.ranking import UnitResult, compute_results
from tests.factories import make_user
from tests.helpers import api
from tests.results.province import finalise_all
from workflow import cycle_services
from workflow.models import AuditEntry


def _s2_row(cycle: Cycle) -> UnitResult:
    rows = {r.unit_code: r for _g, r in compute_results(cycle).rows()}
    return rows["S2"]


@pytest.fixture
def sixty_five(scored: SimpleNamespace) -> SimpleNamespace:
    # S2: 1.2 not applicable; 18 + 8 + 12,3 + 10 + 17 = 65,30 of 100, 65,30 / 90 → 72,56.
    Score.objects.filter(case=scored.cases["S2"], criterion__code="2.1").update(
        appraised_score=Decimal("12.3")
    )
    return scored


def test_a_unit_is_grouped_on_its_total_points_not_its_rescaled_index(
    sixty_five: SimpleNamespace,
) -> None:
    row = _s2_row(sixty_five.cycle)
    assert (row.total, row.index) == (Decimal("65.30"), Decimal("72.56"))
    assert (row.classification, row.group_name) == ("C", "Nhóm C (trung bình)")

    body = api(sixty_five.secretariat).get(f"/api/v1/cycles/{sixty_five.cycle.pk}/results/").json()
    assert body["group_basis"] == "total"
    assert body["group_basis_label"] == "Xếp nhóm theo tổng điểm (trên 100 điểm)."
    s2 = next(r for r in body["groups"][0]["results"] if r["unit"]["code"] == "S2")
    assert (s2["total"], s2["index"], s2["group"], s2["group_name"]) == (
        "65.30",
        "72.56",
        "C",
        "Nhóm C (trung bình)",
    )
    assert s2["parts"]["survey"] == {"points": "25.00", "of": "30.00"}

    xlsx = api(sixty_five.secretariat).get(f"/api/v1/cycles/{sixty_five.cycle.pk}/results.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    cells = [str(c.value) for line in sheet.iter_rows() for c in line if c.value is not None]
    assert "Nhóm C (trung bình)" in cells
    assert any("Xếp nhóm theo tổng điểm (trên 100 điểm)." in c for c in cells)


def test_a_cycle_may_choose_the_rescaled_index_as_its_basis(sixty_five: SimpleNamespace) -> None:
    Cycle.objects.filter(pk=sixty_five.cycle.pk).update(group_basis=Cycle.GroupBasis.INDEX)
    sixty_five.cycle.refresh_from_db()
    row = _s2_row(sixty_five.cycle)
    assert (row.classification, row.group_name) == ("B", "Nhóm B (khá)")


@pytest.fixture
def excluded_and_published(scored: SimpleNamespace) -> SimpleNamespace:
    scored.s5_head = make_user("s5.head")
    cycle_services.add_membership(
        scored.s5_head, scored.units["S5"], "head", actor=scored.secretariat
    )
    finalise_all(scored.cycle)
    Cycle.objects.filter(pk=scored.cycle.pk).update(status=Cycle.Status.RESULTS_SUBMITTED)
    due = local_date(timezone.now()) + timedelta(days=30)
    response = api(scored.leader).post(
        f"/api/v1/cases/{scored.cases['S5'].pk}/exclusion/",
        {
            "reason": "Tài liệu kiểm chứng không trung thực",
            "follow_up_by": "Giám đốc Sở Công Thương",
            "follow_up_due": due.strftime("%d/%m/%Y"),
        },
        format="json",
    )
    assert response.status_code == 201
    scored.follow_up_due = due
    published = api(scored.leader).post(
        f"/api/v1/cycles/{scored.cycle.pk}/publish/",
        {"decision_number": "123/QĐ-UBND", "decision_date": "15/04/2026"},
        format="json",
    )
    assert published.status_code == 200
    return scored


def test_the_unit_is_told_of_its_exclusion_and_the_follow_up_is_kept(
    excluded_and_published: SimpleNamespace,
) -> None:
    p = excluded_and_published
    told = Notification.objects.get(recipient=p.s5_head, kind="ranking_excluded")
    assert "Tài liệu kiểm chứng không trung thực" in told.text_vi
    exclusion = RankingExclusion.objects.get(case=p.cases["S5"])
    assert (exclusion.follow_up_by, exclusion.follow_up_due) == (
        "Giám đốc Sở Công Thương",
        p.follow_up_due,
    )
    private = api(p.leader).get(f"/api/v1/cycles/{p.cycle.pk}/results/").json()
    s5 = private["groups"][0]["excluded"][0]
    assert s5["follow_up"] == {"by": "Giám đốc Sở Công Thương", "due": p.follow_up_due.isoformat()}


def test_excluded_unit_index_is_not_published(excluded_and_published: SimpleNamespace) -> None:
    p = excluded_and_published
    frozen = PublishedResult.objects.get(cycle=p.cycle, unit__code="S5")
    assert (frozen.index, frozen.areas, frozen.rank, frozen.excluded) == (None, [], None, True)

    public = api(None).get(f"/api/v1/cycles/{p.cycle.pk}/results/").json()
    assert public["decision"]["number"] == "123/QĐ-UBND"
    s5 = public["groups"][0]["excluded"][0]
    assert s5["unit"]["code"] == "S5" and s5["withheld"] is True
    assert (s5["score"], s5["total"], s5["points"], s5["areas"]) == (None, None, None, [])
    assert s5["exclusion_reason"] == "Tài liệu kiểm chứng không trung thực"
    assert "follow_up" not in s5

    csv = api(None).get(f"/api/v1/cycles/{p.cycle.pk}/results.csv").content.decode("utf-8-sig")
    s5_line = next(line for line in csv.splitlines() if ",S5," in line)
    assert "99" not in s5_line

    page = Client().get(f"/cycles/{p.cycle.pk}/results/S5/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Tài liệu kiểm chứng không trung thực" in html and "123/QĐ-UBND" in html
    assert "99,00" not in html and "Chỉ số theo lĩnh vực" not in html
    assert "Giám đốc Sở Công Thương" not in html


def test_leader_cannot_set_a_follow_up_date_already_past(scored: SimpleNamespace) -> None:
    finalise_all(scored.cycle)
    entries = AuditEntry.objects.count()
    response = api(scored.leader).post(
        f"/api/v1/cases/{scored.cases['S5'].pk}/exclusion/",
        {"reason": "Số liệu sai", "follow_up_by": "Sở", "follow_up_due": "01/01/2020"},
        format="json",
    )
    assert response.status_code == 400
    assert "01/01/2020" in response.json()["detail"]
    assert not RankingExclusion.objects.exists()
    assert AuditEntry.objects.count() == entries
