"""The documents Sở Nội vụ and the units sign: who downloads which, what each holds (read
back with python-docx and openpyxl), and the refusals that never send an empty file.
How they print is checked through LibreOffice in test_documents_print.py."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import docx
import pytest
import time_machine
from django.utils import timezone
from django.utils.translation import gettext
from docx.oxml.ns import qn
from openpyxl import load_workbook

from cases import people, survey
from cases.frameworks import excel
from cases.models import (
    Appraisal,
    Case,
    Cycle,
    Framework,
    RankingExclusion,
    Score,
    SurveyImport,
)
from evidence.models import Document, EvidenceLink
from results import documents, exports
from results.paper import day_line
from results.ranking import compute_results
from tests.helpers import api, worksheet
from tests.results.province import finalise_all
from workflow import cycle_services
from workflow.models import AuditEntry, Clarification

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


def _table_rows(content: bytes) -> list[list[str]]:
    document = docx.Document(io.BytesIO(content))
    return [[c.text for c in row.cells] for t in document.tables for row in t.rows]


@pytest.fixture
def excluded(scored: SimpleNamespace) -> SimpleNamespace:
    RankingExclusion.objects.create(
        case=scored.cases["S5"],
        reason="Tài liệu kiểm chứng không trung thực",
        decided_by=scored.leader,
        decided_at=timezone.now(),
    )
    Score.objects.filter(case=scored.cases["S1"], criterion__code="1.1").update(
        note="Kế hoạch số 12/KH-STP", evidence_explanation="Đã ban hành đúng hạn"
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


# --- the administrative format of every Word document -----------------------------------


def _document_url(p: SimpleNamespace, kind: str) -> str:
    if kind == "self-assessment":
        return f"/api/v1/cases/{p.cases['S1'].pk}/report.docx"
    return f"/api/v1/cycles/{p.cycle.pk}/{kind}.docx"


@pytest.mark.parametrize(
    ("kind", "landscape", "dated"),
    [
        ("self-assessment", False, True),
        ("appraisal-report", False, True),
        ("results-annex", True, False),  # attached to the decision, which carries the date
        ("rewards", False, True),
    ],
)
def test_every_word_document_is_in_the_administrative_format(
    published: SimpleNamespace, kind: str, landscape: bool, dated: bool
) -> None:
    Cycle.objects.filter(pk=published.cycle.pk).update(reward_rule={"groups": ["A"], "top": 1})
    # 5 January: the decree writes the day and the month with a leading zero
    with time_machine.travel(
        datetime(2027, 1, 5, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")), tick=False
    ):
        # the unit's report is dated by its sending
        AuditEntry.objects.create(
            action="workflow.case.submit",
            case=published.cases["S1"],
            cycle=published.cycle,
            actor=published.staff_s1,
            snapshot_sha256="ab" * 32,
        )
        response = api(published.secretariat).get(_document_url(published, kind))

    assert response.status_code == 200
    document = docx.Document(io.BytesIO(response.content))
    section = document.sections[0]
    size = (21.0, 29.7) if not landscape else (29.7, 21.0)
    margins = (2.0, 2.0, 3.0, 1.5) if not landscape else (2.0, 1.5, 2.0, 1.5)
    assert section.page_width is not None and section.page_height is not None
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == size
    assert (
        tuple(
            round(m.cm, 1) if m is not None else None
            for m in (
                section.top_margin,
                section.bottom_margin,
                section.left_margin,
                section.right_margin,
            )
        )
        == margins
    )
    # The body's one style is Normal, in Times New Roman for every script; no run names
    # another font.
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    fonts = normal.element.rPr.rFonts
    assert [fonts.get(qn(f"w:{a}")) for a in ("ascii", "hAnsi", "cs", "eastAsia")] == [
        "Times New Roman"
    ] * 4
    body = zipfile.ZipFile(io.BytesIO(response.content)).read("word/document.xml").decode()
    assert "<w:pStyle" not in body and "<w:rFonts" not in body
    # Every framed table repeats its header row, and only that row, on each page.
    framed = [
        t
        for t in document.tables
        if t._tbl.find(f"{qn('w:tblPr')}/{qn('w:tblBorders')}/{qn('w:top')}").get(qn("w:val"))
        == "single"
    ]
    assert framed
    for table in framed:
        repeated = [
            bool(row._tr.findall(f"{qn('w:trPr')}/{qn('w:tblHeader')}")) for row in table.rows
        ]
        assert repeated == [True] + [False] * (len(repeated) - 1)
    text = _text(response.content)
    if dated:
        assert "Thử nghiệm, ngày 05 tháng 01 năm 2027" in text
    else:
        assert "ngày" not in text.split("PHỤ LỤC")[0]


def test_the_date_line_writes_months_from_march_without_a_leading_zero() -> None:
    assert day_line("Sơn Hà", date(2032, 5, 10)) == "Sơn Hà, ngày 10 tháng 5 năm 2032"
    assert day_line("Sơn Hà", date(2032, 2, 9)) == "Sơn Hà, ngày 09 tháng 02 năm 2032"


# --- the unit's self-assessment report ---------------------------------------------------


def test_unit_staff_download_their_self_assessment_report_with_every_criterion(
    excluded: SimpleNamespace,
) -> None:
    case = excluded.cases["S1"]
    response = api(excluded.staff_s1).get(f"/api/v1/cases/{case.pk}/report.docx")

    assert response.status_code == 200
    assert response["Content-Type"] == DOCX
    assert "bao-cao-tu-danh-gia-s1-2025.docx" in response["Content-Disposition"]
    text = _text(response.content)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "SỞ TƯ PHÁP" in text and "Số: ……/BC-S1" in text
    rows = _table_rows(response.content)
    by_code = {r[0]: r for r in rows if r and r[0]}
    assert by_code["1"][1:4] == ["Chỉ đạo, điều hành", "40,00", "30,00"]  # 20 + 10 self
    assert by_code["1.1"][3] == "20,00"
    assert "Đã ban hành đúng hạn" in by_code["1.1"][4]
    assert "Kế hoạch số 12/KH-STP" in by_code["1.1"][4]
    assert by_code["1.3"][3] == "" and "điều tra" in by_code["1.3"][4].lower()
    total = next(r for r in rows if r[1] == "Tổng điểm tự chấm")
    assert total[2:4] == ["", "67,00"]  # 20 + 10 + 27 + 10
    assert "chưa gửi" in text  # a draft until the self-assessment is sent


def test_the_self_assessment_report_names_each_file_relied_on_with_its_section_or_page(
    excluded: SimpleNamespace,
) -> None:
    """Set-up shortcut: the documents and their links written as rows (the report reads
    only the rows, never the stored files)."""
    case = excluded.cases["S1"]
    for name, code, note in (
        ("ke-hoach-cchc-2025.pdf", "1.1", "Mục II, trang 3"),
        ("bao-cao-quy-4.pdf", "1.1", ""),
        ("danh-muc-tthc.xlsx", "2.2", "Trang 2"),
    ):
        document = Document.objects.create(
            case=case,
            storage_key=f"test/{name}",
            sha256="0" * 64,
            size=1,
            content_type="application/pdf",
            kind="pdf",
            filename=name,
            uploaded_by=excluded.staff_s1,
        )
        EvidenceLink.objects.create(
            case=case,
            document=document,
            criterion=Score.objects.get(case=case, criterion__code=code).criterion,
            version=EvidenceLink.objects.filter(case=case, criterion__code=code).count() + 1,
            note=note,
            created_by=excluded.staff_s1,
        )
    response = api(excluded.staff_s1).get(f"/api/v1/cases/{case.pk}/report.docx")

    by_code = {r[0]: r for r in _table_rows(response.content) if r and r[0]}
    # newest version first; the file without a note stands alone
    assert by_code["1.1"][4].startswith(
        "bao-cao-quy-4.pdf; ke-hoach-cchc-2025.pdf (Mục II, trang 3)"
    )
    assert "danh-muc-tthc.xlsx (Trang 2)" in by_code["2.2"][4]
    assert "Giải trình" not in by_code["1.1"][4]  # the files stand in for the explanation


def test_the_report_of_a_submitted_case_names_the_submission_and_its_checksum(
    excluded: SimpleNamespace,
) -> None:
    case = excluded.cases["S1"]
    Case.objects.filter(pk=case.pk).update(state=Case.State.SUBMITTED)
    entry = AuditEntry.objects.create(
        action="workflow.case.submit",
        case=case,
        cycle=case.cycle,
        actor=excluded.staff_s1,
        snapshot_sha256="ab" * 32,
    )
    response = api(excluded.secretariat).get(f"/api/v1/cases/{case.pk}/report.docx")

    text = _text(response.content)
    assert "ab" * 32 in text
    assert timezone.localtime(entry.at).strftime("%d/%m/%Y") in text


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("outsider", 404), ("auditor", 200), ("leader", 200), ("appraiser", 200)],
)
def test_only_those_who_may_see_the_case_download_its_report(
    excluded: SimpleNamespace, who: str | None, status: int
) -> None:
    user = getattr(excluded, who) if who else None
    case = excluded.cases["S2"]
    response = api(user).get(f"/api/v1/cases/{case.pk}/report.docx")

    assert response.status_code == status
    if status >= 400:
        assert response["Content-Type"] == "application/json"
        assert response.json()["detail"]


def test_unit_staff_cannot_download_another_units_report(excluded: SimpleNamespace) -> None:
    other = excluded.cases["S2"]
    response = api(excluded.staff_s1).get(f"/api/v1/cases/{other.pk}/report.docx")

    assert response.status_code == 404


# --- the appraisal report ----------------------------------------------------------------


def test_appraisal_report_before_any_case_is_finalised_is_refused_with_the_reason(
    excluded: SimpleNamespace,
) -> None:
    states = dict(Case.objects.values_list("pk", "state"))
    response = api(excluded.secretariat).get(
        f"/api/v1/cycles/{excluded.cycle.pk}/appraisal-report.docx"
    )

    assert response.status_code == 409
    assert "chốt" in response.json()["detail"]
    assert not response.content.startswith(b"PK")
    assert dict(Case.objects.values_list("pk", "state")) == states


def test_appraisal_report_shows_each_units_areas_adjustments_and_proposed_ranking(
    excluded: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    finalise_all(excluded.cycle)
    Case.objects.filter(pk=excluded.cases["X3"].pk).update(is_late=True)
    Score.objects.filter(case=excluded.cases["S4"], criterion__code="1.1").update(
        appraised_comment="Kế hoạch ban hành chậm 2 tháng"
    )
    client = api(excluded.secretariat)
    with django_assert_max_num_queries(30):
        response = client.get(f"/api/v1/cycles/{excluded.cycle.pk}/appraisal-report.docx")

    assert response.status_code == 200
    text = _text(response.content)
    assert "Chủ tịch Hội đồng thẩm định" in text
    assert "Sở Xây dựng (S4)" in text
    # S4's adjustment of 1.1: self 15, appraised 10, with the appraiser's reason
    assert "1.1 | Kế hoạch | 15,00 | 10,00 | Kế hoạch ban hành chậm 2 tháng" in text
    # area 1 of S4: self 20 (15 + 5) against appraised 15 (10 + 5); the survey's 5 apart
    assert "1. Chỉ đạo, điều hành | 40,00 | 20,00 | 15,00 | -5,00 | 5,00" in text
    assert "Phường Bắc Sơn" in text.split("II.")[0]  # late at the cutoff, in the overview
    assert "Sở Công Thương: Tài liệu kiểm chứng không trung thực" in text
    assert "1 | Sở Tư pháp | 94,00 | 94,00 | A (tốt)" in text


def test_appraisal_report_says_what_each_explanation_round_changed_and_why(
    excluded: SimpleNamespace,
) -> None:
    """Set-up shortcut: the rounds' appraisals and the answered question written as rows."""
    finalise_all(excluded.cycle)
    case, now = excluded.cases["S4"], timezone.now()
    rounds = {"1.1": (10, 14, 14), "1.2": (5, 5, 6), "2.1": (20, 20, 20)}
    for code, scores in rounds.items():
        score = Score.objects.get(case=case, criterion__code=code)
        for number, points in enumerate(scores, start=1):
            Appraisal.objects.create(
                score=score,
                round=number,
                appraised_score=points,
                appraiser=excluded.appraiser,
                at=now,
            )
    Clarification.objects.create(
        case=case,
        criterion=Score.objects.get(case=case, criterion__code="1.1").criterion,
        round=1,
        question="Đề nghị bổ sung kế hoạch CCHC năm.",
        asked_by=excluded.appraiser,
        status=Clarification.Status.ANSWERED,
        answer="Đã bổ sung Kế hoạch số 12/KH-SXD",
        answered_at=now,
    )

    response = api(excluded.secretariat).get(
        f"/api/v1/cycles/{excluded.cycle.pk}/appraisal-report.docx"
    )

    assert response.status_code == 200
    text = _text(response.content)
    s4 = text.split("Sở Xây dựng (S4)", 1)[1].split("Sở Công Thương (S5)", 1)[0]
    assert (
        "Sau giải trình: vòng 2, tiêu chí 1.1: 10,00 → 14,00 "
        "(giải trình: Đã bổ sung Kế hoạch số 12/KH-SXD); vòng 3, tiêu chí 1.2: 5,00 → 6,00."
    ) in s4
    assert "2.1:" not in s4  # a round that changed nothing is not reported
    others = text.replace(s4, "")
    assert "Sau giải trình" not in others  # no other unit had a round that changed a score


def test_appraisal_report_summarises_the_survey_in_force_and_each_groups_average(
    excluded: SimpleNamespace,
) -> None:
    finalise_all(excluded.cycle)
    when = datetime(2026, 4, 2, 23, 30, tzinfo=ZoneInfo("UTC"))  # 3 April in Việt Nam
    for filename, sha, at in (
        ("dieu-tra-lan-1.xlsx", "1" * 64, when.replace(day=1)),
        ("dieu-tra-lan-2.xlsx", "ab" * 32, when),
    ):
        SurveyImport.objects.create(
            cycle=excluded.cycle,
            filename=filename,
            sha256=sha,
            row_count=20,
            imported_by=excluded.secretariat,
            imported_at=at,
        )
    response = api(excluded.secretariat).get(
        f"/api/v1/cycles/{excluded.cycle.pk}/appraisal-report.docx"
    )

    text = _text(response.content)
    survey = text.split("IV.", 1)[1].split("V.", 1)[0]
    assert (
        "Điểm điều tra xã hội học được nhập từ tệp dieu-tra-lan-2.xlsx ngày 03/04/2026 "
        f"(20 dòng, SHA-256 {'ab' * 32})."
    ) in survey
    assert "dieu-tra-lan-1" not in text  # only the import in force
    # ranked units only: S1 27, S2 25, S3 27, S4 15 (S5 is not ranked); X1 24, X2 25, X3 20
    assert "Khối sở: điểm điều tra xã hội học bình quân 23,50." in survey
    assert "Khối xã, phường: điểm điều tra xã hội học bình quân 23,00." in survey


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("outsider", 404), ("staff_s1", 403)])
def test_units_and_outsiders_do_not_read_the_appraisal_report(
    excluded: SimpleNamespace, who: str | None, status: int
) -> None:
    finalise_all(excluded.cycle)
    user = getattr(excluded, who) if who else None
    response = api(user).get(f"/api/v1/cycles/{excluded.cycle.pk}/appraisal-report.docx")

    assert response.status_code == status
    assert response.json()["detail"]


# --- the results annex -------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["docx", "xlsx"])
def test_before_publication_the_public_gets_no_annex(excluded: SimpleNamespace, ext: str) -> None:
    response = api(None).get(f"/api/v1/cycles/{excluded.cycle.pk}/results-annex.{ext}")

    assert response.status_code == 404
    assert response.json()["detail"]


def test_published_annex_has_one_table_per_group_and_lists_excluded_units_without_an_index(
    published: SimpleNamespace,
) -> None:
    response = api(None).get(f"/api/v1/cycles/{published.cycle.pk}/results-annex.docx")

    assert response.status_code == 200
    text = _text(response.content)
    assert "45/QĐ-UBND" in text and "20/04/2026" in text
    rows = _table_rows(response.content)
    assert [
        "1",
        "Sở Tư pháp",
        "39,00",
        "55,00",
        "27,00",
        "94,00",
        "94,00",
        "A (tốt)",
        "",
    ] in rows
    assert [
        "3",
        "Phường Bắc Sơn",
        "30,00",
        "30,00",
        "20,00",
        "60,00",
        "60,00",
        "C (trung bình)",
        "",
    ] in rows
    # not ranked: in the group's own table, the reason across the figure columns
    part = rows.index(["Đơn vị không xếp hạng"] * 9)
    assert rows[part + 1] == ["", "Sở Công Thương", *["Tài liệu kiểm chứng không trung thực"] * 7]
    assert "99,00" not in text  # the excluded unit's index is not published


def test_published_annex_workbook_prints_and_keeps_excluded_units_apart(
    published: SimpleNamespace,
) -> None:
    response = api(None).get(f"/api/v1/cycles/{published.cycle.pk}/results-annex.xlsx")

    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook["Khối sở"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[5][:8] == [1, "Sở Tư pháp", 39, 55, 27, 94, 94, "A (tốt)"]
    part = rows.index(["Đơn vị không xếp hạng", *[None] * 8])
    assert (
        rows[part + 1]
        == [None, "Sở Công Thương", "Tài liệu kiểm chứng không trung thực"] + [None] * 6
    )
    assert f"C{part + 2}:I{part + 2}" in sheet.merged_cells  # the reason across the figures
    assert not any(99 in r for r in rows)
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.print_title_rows == "$5:$5"


# --- the reward proposal -----------------------------------------------------------------


def test_reward_proposal_lists_the_units_meeting_the_cycles_rule(
    published: SimpleNamespace,
) -> None:
    Cycle.objects.filter(pk=published.cycle.pk).update(reward_rule={"groups": ["A"], "top": 1})
    response = api(published.leader).get(f"/api/v1/cycles/{published.cycle.pk}/rewards.xlsx")

    assert response.status_code == 200
    rows = [list(r) for r in worksheet(load_workbook(io.BytesIO(response.content))).values]
    proposed = [r[3] for r in rows[5:] if r[0]]
    # S1 and S3 share rank 1 in group A; X1 is first of the communes; S5 is not ranked
    assert proposed == ["Sở Tư pháp", "Sở Y tế", "Xã An Phú"]
    assert rows[5][8] == "nhóm A; hạng 1 trong khối"


def test_reward_proposal_as_word_lists_the_same_units_per_unit_group(
    published: SimpleNamespace,
) -> None:
    Cycle.objects.filter(pk=published.cycle.pk).update(reward_rule={"groups": ["A"], "top": 1})
    response = api(published.secretariat).get(f"/api/v1/cycles/{published.cycle.pk}/rewards.docx")

    assert response.status_code == 200
    assert response["Content-Type"] == DOCX
    text = _text(response.content)
    assert "ĐỀ XUẤT THI ĐUA, KHEN THƯỞNG" in text and "Quy tắc" in text
    rows = _table_rows(response.content)
    proposed = [r[2] for r in rows if r[0].isdigit()]
    assert proposed == ["Sở Tư pháp", "Sở Y tế", "Xã An Phú"]
    assert [
        "1",
        "1",
        "Sở Tư pháp",
        "94,00",
        "94,00",
        "A (tốt)",
        "nhóm A; hạng 1 trong khối",
    ] in rows
    assert "Sở Công Thương" not in text  # not ranked: never proposed


@pytest.mark.parametrize("ext", ["xlsx", "docx"])
@pytest.mark.parametrize(
    ("who", "status"), [(None, 401), ("outsider", 404), ("staff_s1", 403), ("auditor", 403)]
)
def test_only_the_secretariat_and_leader_read_the_reward_proposal(
    published: SimpleNamespace, who: str | None, status: int, ext: str
) -> None:
    user = getattr(published, who) if who else None
    response = api(user).get(f"/api/v1/cycles/{published.cycle.pk}/rewards.{ext}")

    assert response.status_code == status
    assert response.json()["detail"]


@pytest.mark.parametrize("ext", ["xlsx", "docx"])
def test_reward_proposal_with_nobody_ranked_is_refused(excluded: SimpleNamespace, ext: str) -> None:
    Score.objects.filter(case__cycle=excluded.cycle).update(
        self_score=None, appraised_score=None, not_applicable=True
    )
    response = api(excluded.secretariat).get(f"/api/v1/cycles/{excluded.cycle.pk}/rewards.{ext}")

    assert response.status_code == 409
    assert response.json()["detail"]


# --- every workbook prints as an official expects -----------------------------------------


def _workbook(p: SimpleNamespace, kind: str) -> bytes:
    """The workbooks the product writes, each from the function that writes it (the history
    through its API: the years are gathered there)."""
    Cycle.objects.filter(pk=p.cycle.pk).update(reward_rule={"groups": ["A"], "top": 1})
    p.cycle.refresh_from_db()
    if kind == "survey template":
        return survey.template_xlsx(p.cycle)
    if kind == "people template":
        return people.template_xlsx()
    if kind == "criteria-set template":
        return excel.template()
    if kind == "criteria-set export":
        return excel.export(Framework.objects.filter(cycle=p.cycle).earliest("pk"))
    if kind == "unit history":
        return api(None).get("/api/v1/units/S1/history.xlsx").content
    if kind == "province history":
        return api(None).get("/api/v1/history.xlsx").content
    writer = {
        "results": exports.to_xlsx,
        "results annex": documents.results_annex_xlsx,
        "rewards": documents.rewards_xlsx,
    }[kind]
    return writer(compute_results(p.cycle))


@pytest.mark.parametrize(
    ("kind", "tables", "header"),
    [
        ("survey template", 1, 1),
        ("people template", 2, 1),  # units and accounts
        ("criteria-set template", 1, 1),
        ("criteria-set export", 1, 1),
        ("results", 2, 5),  # one sheet per unit group
        ("results annex", 2, 5),
        ("rewards", 1, 5),
        ("unit history", 1, 3),
        ("province history", 1, 3),
    ],
)
def test_every_workbook_prints_on_a4_landscape_one_page_wide_with_its_header_on_each_page(
    published: SimpleNamespace, kind: str, tables: int, header: int
) -> None:
    book = load_workbook(io.BytesIO(_workbook(published, kind)))

    instructions = gettext("Instructions")[:31]
    sheets = [s for s in book.worksheets if s.title != instructions]
    assert len(sheets) == tables
    for sheet in sheets:
        setup = sheet.page_setup
        # 9: A4 among the paper codes (openpyxl's Worksheet.PAPERSIZE_A4, a string there)
        assert (setup.paperSize, setup.orientation) == (9, "landscape")
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)
        properties = sheet.sheet_properties.pageSetUpPr
        assert properties is not None and properties.fitToPage
        assert sheet.print_title_rows == f"${header}:${header}"
        assert sheet.oddHeader is not None and sheet.oddHeader.center.text  # the print title
        assert sheet.oddFooter is not None and sheet.oddFooter.center.text == "&P / &N"
