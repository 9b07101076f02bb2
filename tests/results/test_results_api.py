"""GET /api/v1/cycles/{id}/results/ and its Excel, CSV and JSON exports: who sees what,
and the files opened and read back."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from cases.models import Case, Cycle, RankingExclusion
from tests.helpers import api
from tests.results.province import finalise_all
from workflow import cycle_services


@pytest.fixture
def excluded(scored: SimpleNamespace) -> SimpleNamespace:
    RankingExclusion.objects.create(
        case=scored.cases["S5"],
        reason="Tài liệu kiểm chứng không trung thực",
        decided_by=scored.leader,
        decided_at=timezone.now(),
    )
    return scored


@pytest.fixture
def published(excluded: SimpleNamespace) -> SimpleNamespace:
    p = excluded
    finalise_all(p.cycle)
    cycle_services.submit_results(p.cycle.pk, actor=p.secretariat)
    cycle_services.publish_cycle(
        p.cycle.pk, actor=p.leader, decision_number="45/QĐ-UBND", decision_date=date(2026, 4, 20)
    )
    p.cycle.refresh_from_db()
    return p


def _url(p: SimpleNamespace, tail: str = "results/") -> str:
    return f"/api/v1/cycles/{p.cycle.pk}/{tail}"


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 404),
        ("outsider", 404),
        ("staff_s1", 403),
        ("appraiser", 403),
        ("secretariat", 200),
        ("leader", 200),
        ("auditor", 200),
    ],
)
@pytest.mark.parametrize("tail", ["results/", "results.xlsx", "results.csv", "results.json"])
def test_before_publication_only_the_secretariat_leader_and_auditor_see_results(
    excluded: SimpleNamespace, who: str | None, status: int, tail: str
) -> None:
    user = getattr(excluded, who) if who else None
    assert api(user).get(_url(excluded, tail)).status_code == status


@pytest.mark.parametrize("tail", ["results/", "results.xlsx", "results.csv", "results.json"])
def test_published_results_are_public(published: SimpleNamespace, tail: str) -> None:
    assert api(None).get(_url(published, tail)).status_code == 200


def test_results_of_an_unknown_cycle_are_404(published: SimpleNamespace) -> None:
    assert api(None).get("/api/v1/cycles/999999/results/").status_code == 404


def test_public_view_has_ranks_groups_and_excluded_units_but_no_honesty(
    published: SimpleNamespace,
) -> None:
    body = api(None).get(_url(published)).json()

    assert body["published"] is True
    assert body["decision"]["number"] == "45/QĐ-UBND"
    assert body["decision"]["date"] == "2026-04-20"
    so, xa = body["groups"]
    assert (so["code"], xa["code"]) == ("khoi_so", "khoi_xa")
    assert [a["code"] for a in so["areas"]] == ["1", "2"]
    assert [
        (r["rank"], r["unit"]["code"], r["score"], r["group"], r["excluded"]) for r in so["results"]
    ] == [
        (1, "S1", "94.00", "A", False),
        (1, "S3", "94.00", "A", False),
        (3, "S2", "86.67", "B", False),
        (4, "S4", "46.00", "D", False),
    ]
    (s5,) = so["excluded"]
    assert (s5["unit"]["code"], s5["rank"], s5["excluded"]) == ("S5", None, True)
    assert s5["exclusion_reason"] == "Tài liệu kiểm chứng không trung thực"
    rows = [*so["results"], *so["excluded"], *xa["results"]]
    assert all("honesty" not in r and "state" not in r for r in rows)
    s2_areas = {a["code"]: a["index"] for a in so["results"][2]["areas"]}
    assert s2_areas == {"1": "86.67", "2": "86.67"}


def test_secretariat_and_leader_see_the_honesty_signal(excluded: SimpleNamespace) -> None:
    for user in (excluded.secretariat, excluded.leader):
        body = api(user).get(_url(excluded)).json()
        s4 = next(r for r in body["groups"][0]["results"] if r["unit"]["code"] == "S4")
        assert s4["state"] == "self_scoring"
        assert s4["honesty"] == {
            "compared_criteria": 4,
            "overclaimed_criteria": 3,
            "overclaimed_points": "20.00",
            "overclaimed_share": "0.7500",
            "self_index": "66.00",
            "index_gap": "20.00",
        }
    assert body["published"] is False and body["decision"] is None


def test_the_results_api_takes_a_constant_number_of_queries(
    excluded: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12):
        assert api(excluded.leader).get(_url(excluded)).status_code == 200


def test_excel_export_has_one_sheet_per_group_with_areas_as_columns(
    published: SimpleNamespace,
) -> None:
    response = api(None).get(_url(published, "results.xlsx"), HTTP_ACCEPT_LANGUAGE="en")

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Khối sở", "Khối xã, phường"]
    sheet = workbook["Khối sở"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    decision = rows[2][0]
    assert isinstance(decision, str) and "45/QĐ-UBND" in decision and "20/04/2026" in decision
    header = rows[4]
    assert header[:5] == [
        "Rank",
        "Unit code",
        "Unit",
        "1. Chỉ đạo, điều hành (40)",
        "2. Thủ tục hành chính (60)",
    ]
    assert header[5:11] == [
        "Bonus/penalty points",
        "Total (of 100)",
        "Index (%)",
        "Group",
        "Previous rank",
        "Change of rank",
    ]
    assert len(header) == 11  # no honesty columns in the public file
    table = [tuple(r[:9]) for r in rows[5:9]]
    assert table == [
        (1, "S1", "Sở Tư pháp", 39, 55, 0, 94, 94, "Group A (good)"),
        (1, "S3", "Sở Y tế", 39, 55, 0, 94, 94, "Group A (good)"),
        (3, "S2", "Sở Tài chính", 26, 52, 0, 78, 86.67, "Group B (fairly good)"),
        (4, "S4", "Sở Xây dựng", 20, 25, 1, 46, 46, "Group D (weak)"),
    ]
    # Not assessed: in the same table, the reason across the figure columns, no index.
    assert rows[9] == ["Units not ranked", *[None] * 10]
    assert rows[10] == [
        None,
        "S5",
        "Sở Công Thương",
        "Tài liệu kiểm chứng không trung thực",
        *[None] * 7,
    ]
    assert "D11:K11" in sheet.merged_cells


def test_excel_export_is_set_up_to_print_on_a4_landscape_one_page_wide(
    published: SimpleNamespace,
) -> None:
    response = api(None).get(_url(published, "results.xlsx"))

    sheet = load_workbook(io.BytesIO(response.content))["Khối sở"]
    assert sheet.page_setup.paperSize == 9  # A4
    assert sheet.page_setup.orientation == "landscape"
    fit = sheet.sheet_properties.pageSetUpPr
    assert fit is not None and fit.fitToPage
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.print_title_rows == "$5:$5"  # the header row on every page
    header = sheet.oddHeader
    assert header is not None and header.center.text is not None
    assert "KẾT QUẢ CHỈ SỐ CẢI CÁCH HÀNH CHÍNH NĂM" in header.center.text
    index = sheet["H8"]  # S2's index, 86.67: two decimals, decimal comma in Vietnamese
    assert (index.value, index.number_format) == (86.67, "[$-42A]#,##0.00")
    assert sheet["A6"].number_format == "[$-42A]0"  # ranks are whole numbers


def test_excel_export_for_the_leader_carries_the_honesty_columns(
    excluded: SimpleNamespace,
) -> None:
    response = api(excluded.leader).get(_url(excluded, "results.xlsx"), HTTP_ACCEPT_LANGUAGE="en")

    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[2][0] == "Provisional results: not yet published"
    assert rows[4][-2:] == ["Self-score excess (points)", "Criteria self-scored higher (%)"]
    s4 = next(r for r in rows if r[1] == "S4")
    assert s4[-2:] == [20, 75]


def test_csv_open_data_reads_back(published: SimpleNamespace) -> None:
    response = api(None).get(_url(published, "results.csv"))

    assert response["Content-Type"].startswith("text/csv")
    records = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(records) == 8
    s2 = next(r for r in records if r["unit_code"] == "S2")
    assert (s2["rank"], s2["index"], s2["classification"], s2["unit_name"]) == (
        "3",
        "86.67",
        "B",
        "Sở Tài chính",
    )
    assert (s2["area_1_points"], s2["area_1_index"], s2["year"]) == ("26.0", "86.67", "2025")
    s5 = next(r for r in records if r["unit_code"] == "S5")
    assert (s5["rank"], s5["excluded"]) == ("", "True")
    x1 = next(r for r in records if r["unit_code"] == "X1")
    assert (x1["unit_group_code"], x1["rank"], x1["index"]) == ("khoi_xa", "1", "84.0")


def test_json_open_data_reads_back(published: SimpleNamespace) -> None:
    body = json.loads(api(None).get(_url(published, "results.json")).content)

    assert body["cycle"]["year"] == 2025 and body["published"] is True
    by_unit = {r["unit_code"]: r for r in body["records"]}
    assert by_unit["S1"]["index"] == 94.0 and by_unit["S1"]["rank"] == 1
    assert by_unit["S4"]["area_2_points"] == 25.0
    assert by_unit["S5"]["excluded"] is True and by_unit["S5"]["rank"] is None
    assert "honesty" not in json.dumps(body)


def test_a_draft_cycle_has_empty_results(excluded: SimpleNamespace) -> None:
    draft = Cycle.objects.create(
        year=2026,
        title="Nháp",
        authority="UBND tỉnh Thử nghiệm",
        self_assessment_due="2027-03-31",
        appraisal_due="2027-05-10",
    )
    body = api(excluded.secretariat).get(f"/api/v1/cycles/{draft.pk}/results/").json()
    assert body["groups"] == []
    assert not Case.objects.filter(cycle=draft).exists()


@pytest.mark.parametrize("tail", ["results/", "results.xlsx", "results.csv", "results.json"])
def test_published_results_served_to_the_public_may_be_cached_and_nothing_else(
    published: SimpleNamespace, tail: str
) -> None:
    public = api(None).get(_url(published, tail))
    assert public.status_code == 200
    assert public["Cache-Control"] == "public, max-age=300"
    # The secretariat's copy may hold what the public's does not: private.
    assert api(published.secretariat).get(_url(published, tail))["Cache-Control"] == "no-store"


def test_secretariat_downloads_provisional_results_before_any_unit_is_finished(
    world: SimpleNamespace,
) -> None:
    response = api(world.secretariat).get(f"/api/v1/cycles/{world.cycle.pk}/results.xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert sheet.freeze_panes == "D6"  # under the header row, over the units not yet ranked
    assert any(world.case_a.unit.code in r for r in rows)
