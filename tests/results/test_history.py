"""The years side by side: a unit's published results across cycles following its lineage,
and the province's areas that fell, as JSON and as a printable workbook."""

from __future__ import annotations

import io
from datetime import date
from types import SimpleNamespace
from typing import Any

import docx
import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from cases.models import RankingExclusion, Unit, UnitLineage
from deadlines.calendar import parse_day
from tests.helpers import api, worksheet
from tests.results.province import SCORES_SO, SCORES_XA, finalise_all, make_cycle, put_scores
from workflow import cycle_services


def _publish(p: SimpleNamespace, cycle: Any, number: str, day: str) -> None:
    finalise_all(cycle)
    cycle_services.submit_results(cycle.pk, actor=p.secretariat)
    cycle_services.publish_cycle(
        cycle.pk, actor=p.leader, decision_number=number, decision_date=parse_day(day)
    )


@pytest.fixture
def two_years(scored: SimpleNamespace) -> SimpleNamespace:
    """2025 as published; in 2026 the communes X1 and X2 have merged into X12 and Sở Tư pháp
    (S1) scored lower on area 1."""
    p = scored
    RankingExclusion.objects.create(
        case=p.cases["S5"],
        reason="Tài liệu kiểm chứng không trung thực",
        decided_by=p.leader,
        decided_at=timezone.now(),
    )
    _publish(p, p.cycle, "45/QĐ-UBND", "2026-04-20")
    merged = Unit.objects.create(code="X12", name="Xã An Hòa", group=p.xa)
    for old in ("X1", "X2"):
        unit = p.units[old]
        UnitLineage.objects.create(
            predecessor=unit, successor=merged, effective_date=date(2025, 7, 1)
        )
        Unit.objects.filter(pk=unit.pk).update(is_active=False)
    p.following = make_cycle(2026, p.so, p.xa)
    cycle_services.open_cycle(p.following.pk, actor=p.secretariat)
    so = {**SCORES_SO, "S1": {**SCORES_SO["S1"], "1.1": (10, 10)}}
    put_scores(p.following, so, p.appraiser)
    put_scores(p.following, {"X12": SCORES_XA["X3"], "X3": SCORES_XA["X3"]}, p.appraiser)
    _publish(p, p.following, "12/QĐ-UBND", "2026-11-20")
    return p


def test_a_merged_commune_shows_the_years_of_the_communes_it_continues(
    two_years: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    client = api(None)  # published figures are public
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/units/x12/history/")

    assert response.status_code == 200
    years = [
        (y["cycle"]["year"], y["unit"]["code"], y["rank"], y["index"], y["group"])
        for y in response.json()["years"]
    ]
    assert years == [
        (2025, "X1", 1, "84.00", "B"),
        (2025, "X2", 2, "80.00", "B"),
        (2026, "X12", 1, "60.00", "C"),
    ]


def test_a_year_a_unit_was_not_ranked_shows_no_index_nor_area_figures(
    two_years: SimpleNamespace,
) -> None:
    years = api(None).get("/api/v1/units/S5/history/").json()["years"]

    assert years[0]["excluded"] is True
    assert (years[0]["rank"], years[0]["index"], years[0]["group"], years[0]["areas"]) == (
        None,
        None,
        None,
        [],
    )
    assert years[1]["index"] == "99.00"


def test_the_province_sees_which_areas_fell(two_years: SimpleNamespace) -> None:
    body = api(None).get("/api/v1/history/").json()

    assert body["authority"] == "UBND tỉnh Thử nghiệm"
    first, second = body["years"]
    assert (first["cycle"]["year"], second["cycle"]["year"]) == (2025, 2026)
    assert second["fallen_areas"] == ["1"]
    area_1 = next(a for a in second["areas"] if a["code"] == "1")
    assert area_1["change"].startswith("-")


def test_the_years_export_prints_one_page_wide(two_years: SimpleNamespace) -> None:
    response = api(None).get("/api/v1/units/X12/history.xlsx")

    assert response.status_code == 200
    sheet = worksheet(load_workbook(io.BytesIO(response.content)))
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[3][:5] == [2025, "Xã An Phú", 1, 84, "B"]
    assert sheet.page_setup.orientation == "landscape"
    assert sheet["A4"].number_format == "[$-42A]0"  # 2025, not "2.025"


def test_an_unknown_unit_has_no_history(two_years: SimpleNamespace) -> None:
    response = api(None).get("/api/v1/units/NOPE/history/")

    assert response.status_code == 404
    assert response.json()["detail"]


def test_anyone_sees_a_units_years_as_a_page_with_a_chart(two_years: SimpleNamespace) -> None:
    response = Client().get("/years/X12/", HTTP_ACCEPT_LANGUAGE="vi")

    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page
    assert "Xã An Phú" in page and "Xã Tân Hòa" in page and "Xã An Hòa" in page
    assert '<td class="num">84</td>' in page and "/api/v1/units/X12/history.xlsx" in page


def test_the_provinces_page_names_the_areas_that_fell(two_years: SimpleNamespace) -> None:
    response = Client().get("/years/", HTTP_ACCEPT_LANGUAGE="vi")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Lĩnh vực giảm điểm" in page and "<strong>1</strong>" in page
    assert "<svg" in page


def test_the_next_years_annex_tells_each_unit_how_its_rank_moved(
    two_years: SimpleNamespace,
) -> None:
    """2025 → 2026 in Khối sở: S1 1 → 4, S3 1 → 2, S2 3 → 3, S4 4 → 5; S5 was not ranked in
    2025. In the communes X3 rose 3 → 1 (tied), X12 keeps the first place of X1."""
    url = f"/api/v1/cycles/{two_years.following.pk}/results-annex"
    expected = {
        "Sở Công Thương": "",
        "Sở Y tế": "giảm 1 bậc",
        "Sở Tài chính": "giữ nguyên",
        "Sở Tư pháp": "giảm 3 bậc",
        "Sở Xây dựng": "giảm 1 bậc",
        "Xã An Hòa": "giữ nguyên",
        "Phường Bắc Sơn": "tăng 2 bậc",
    }

    document = docx.Document(io.BytesIO(api(None).get(f"{url}.docx").content))
    in_docx = {
        row.cells[1].text: row.cells[-1].text
        for table in document.tables
        for row in table.rows[1:]
        if row.cells[0].text.isdigit()
    }
    book = load_workbook(io.BytesIO(api(None).get(f"{url}.xlsx").content))
    in_xlsx = {
        row[1]: row[8] or ""
        for sheet in book.worksheets
        for row in sheet.iter_rows(min_row=6, values_only=True)
        if isinstance(row[0], int)
    }
    assert in_docx == expected
    assert in_xlsx == expected


def test_the_provinces_years_workbook_holds_each_years_averages_per_area(
    two_years: SimpleNamespace,
) -> None:
    """The seven ranked units' indexes, each area's as points / applicable maximum:
    2025 area 1: 97,5 · 86,67 · 97,5 · 50 · 84 · 100 · 60 → 82,24;
    2026 area 1: S1 down to 29 of 40 (72,5), S5 ranked (100), X12 and X3 60 → 75,24."""
    response = api(None).get("/api/v1/history.xlsx")

    assert response.status_code == 200
    sheet = worksheet(load_workbook(io.BytesIO(response.content)))
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[2] == [
        "Năm",
        "Số đơn vị được xếp hạng",
        "Chỉ số bình quân",
        "1",
        "2",
        "Lĩnh vực giảm điểm",
    ]
    assert rows[3] == [2025, 7, 77.81, 82.24, 73.67, None]
    assert rows[4] == [2026, 7, 75.67, 75.24, 75.72, "1"]
    assert sheet.print_title_rows == "$3:$3"
