"""The secretariat imports survey scores: all rows or none, every problem located."""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from cases.models import Case, Cycle, Score, SurveyImport
from tests.helpers import api, worksheet
from workflow.models import AuditEntry

HEADER = ["Mã đơn vị", "Mã tiêu chí", "Điểm"]
GOOD: list[list[Any]] = [
    ["S1", "1.3", 9],
    ["S1", "2.3", 18.5],
    ["S2", "1.3", 8],
    ["X1", "1.2", 12],
]


def xlsx(rows: list[list[Any]], merge: str = "") -> bytes:
    workbook = Workbook()
    sheet = worksheet(workbook)
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(
    user: Any, cycle: Cycle, content: bytes, name: str = "xhh.xlsx", *, language: str = ""
) -> Any:
    return api(user).post(
        f"/api/v1/cycles/{cycle.pk}/survey/",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
        headers={"Accept-Language": language} if language else {},
    )


def survey_scores(cycle: Cycle) -> dict[tuple[str, str], Decimal | None]:
    return {
        (unit, code): value
        for unit, code, value in Score.objects.filter(
            case__cycle=cycle, criterion__method="survey"
        ).values_list("case__unit__code", "criterion__code", "appraised_score")
    }


def test_secretariat_imports_survey_scores_from_an_excel_file(province: SimpleNamespace) -> None:
    content = xlsx([HEADER, *GOOD])

    response = upload(province.secretariat, province.cycle, content)

    assert response.status_code == 201, response.json()
    assert response.json()["rows"] == 4
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    scores = survey_scores(province.cycle)
    assert scores[("S1", "1.3")] == Decimal("9.00")
    assert scores[("S1", "2.3")] == Decimal("18.50")
    assert scores[("X1", "1.2")] == Decimal("12.00")
    assert scores[("S3", "1.3")] is None
    entry = AuditEntry.objects.get(action="cases.survey.imported")
    assert entry.cycle == province.cycle and entry.actor == province.secretariat
    assert (entry.before, entry.after) == ({"scores": 0}, {"scores": 4})
    assert entry.data["sha256"] == hashlib.sha256(content).hexdigest()
    assert entry.data["changed"] == 4
    per_case = AuditEntry.objects.get(action="cases.score.survey_imported", case__unit__code="S1")
    assert per_case.after == {"1.3": "9.00", "2.3": "18.50"}
    assert per_case.before == {"1.3": None, "2.3": None}


def test_csv_with_semicolons_and_decimal_commas_is_accepted(province: SimpleNamespace) -> None:
    text = "Mã đơn vị;Mã tiêu chí;Điểm\nS1;1.3;8,75\ns2;2.3;17\n"

    response = upload(province.secretariat, province.cycle, text.encode(), "xhh.csv")

    assert response.status_code == 201, response.json()
    scores = survey_scores(province.cycle)
    assert (scores[("S1", "1.3")], scores[("S2", "2.3")]) == (Decimal("8.75"), Decimal(17))


def test_reimport_replaces_the_previous_import(province: SimpleNamespace) -> None:
    assert upload(province.secretariat, province.cycle, xlsx([HEADER, *GOOD])).status_code == 201

    second = xlsx([HEADER, ["S1", "1.3", 7], ["S3", "2.3", 20]])
    response = upload(province.secretariat, province.cycle, second)

    assert response.status_code == 201
    scores = survey_scores(province.cycle)
    assert scores[("S1", "1.3")] == Decimal(7)
    assert scores[("S3", "2.3")] == Decimal(20)
    assert scores[("S1", "2.3")] is None  # not in the new file: the old value is gone
    assert scores[("X1", "1.2")] is None
    assert SurveyImport.objects.filter(cycle=province.cycle).count() == 2
    last = AuditEntry.objects.filter(action="cases.survey.imported").latest("pk")
    assert (last.before, last.after) == ({"scores": 4}, {"scores": 2})
    assert last.data["changed"] == 5  # S1 1.3 changed, S1 2.3, S2 1.3, X1 1.2 cleared, S3 set


def _refused(province: SimpleNamespace, content: bytes, name: str = "xhh.xlsx") -> dict[str, Any]:
    before = survey_scores(province.cycle)
    audit_count = AuditEntry.objects.count()
    response = upload(province.secretariat, province.cycle, content, name, language="en")
    assert response.status_code == 400, response.content
    assert survey_scores(province.cycle) == before, "nothing may be imported"
    assert AuditEntry.objects.count() == audit_count
    assert not SurveyImport.objects.exists()
    return response.json()


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        (["S9", "1.3", 5], "A", "S9"),  # unknown unit
        (["S1", "7.7", 5], "B", "7.7"),  # unknown criterion
        (["S1", "1.1", 5], "B", "1.1"),  # self-assessed, not a survey criterion
        (["S1", "1.3", 10.5], "C", "10"),  # above the maximum of 10
        (["S1", "1.3", -1], "C", "negative"),
        (["S1", "1.3", "tám điểm"], "C", "tám điểm"),  # Vietnamese text in a number column
        (["S1", "1.3", "Không có"], "C", "Không có"),
        (["S1", "1.3", None], "C", "empty"),
        (["S1", "1.3", 8.125], "C", "two decimal places"),
        ([None, "1.3", 8], "A", "empty"),
    ],
)
def test_a_bad_row_refuses_the_whole_file(
    province: SimpleNamespace, row: list[Any], column: str, words: str
) -> None:
    body = _refused(province, xlsx([HEADER, ["S2", "1.3", 8], row]))

    (problem,) = body["problems"]  # the bad row is the file's third row
    assert (problem["row"], problem["column"]) == (3, column)
    assert words in problem["message"]
    assert body["errors"] == [f"Row 3, column {column} ({_label(column)}): {problem['message']}"]


def _label(column: str) -> str:
    return dict(zip("ABC", HEADER, strict=True))[column]


def test_a_duplicate_row_is_refused_with_the_row_of_the_first(province: SimpleNamespace) -> None:
    body = _refused(province, xlsx([HEADER, ["S1", "1.3", 8], ["S2", "1.3", 8], ["s1", "1.3", 9]]))

    (problem,) = body["problems"]
    assert problem["row"] == 4
    assert "already on row 2" in problem["message"]


def test_every_problem_of_a_file_is_listed_by_row_and_column(province: SimpleNamespace) -> None:
    rows: list[list[Any]] = [
        HEADER,
        ["S1", "1.3", 9],
        ["S9", "1.3", 5],
        ["S1", "2.3", 25],
        ["S2", "1.3", "chín"],
        ["S1", "1.3", 9],
    ]
    body = _refused(province, xlsx(rows))

    assert [(p["row"], p["column"]) for p in body["problems"]] == [
        (3, "A"),
        (4, "C"),
        (5, "C"),
        (6, None),
    ]
    assert body["detail"].startswith("The file was not imported")


def test_wrong_columns_are_refused_before_any_row_is_read(province: SimpleNamespace) -> None:
    body = _refused(province, xlsx([["Mã đơn vị", "Tiêu chí số", "Điểm số"], ["S1", "1.3", 9]]))

    problems = [(p["row"], p["column"], p["message"]) for p in body["problems"]]
    assert [(row, column) for row, column, _m in problems] == [
        (1, None),  # the two required columns missing …
        (1, None),
        (1, "B"),  # … because these two are not the template's
        (1, "C"),
    ]
    assert "Criterion code" in problems[0][2] and "Score" in problems[1][2]
    assert "Tiêu chí số" in problems[2][2] and "Điểm số" in problems[3][2]


def test_a_file_that_is_not_an_excel_workbook_is_refused(province: SimpleNamespace) -> None:
    body = _refused(province, b"PK\x03\x04 this is no workbook", "xhh.xlsx")
    assert body["problems"][0]["row"] is None
    assert "Excel" in body["errors"][0]


def test_a_text_file_named_xlsx_is_refused(province: SimpleNamespace) -> None:
    body = _refused(province, b"Ma don vi,Ma tieu chi,Diem\nS1,1.3,9\n", "xhh.xlsx")
    assert ".xlsx" in body["errors"][0]


def test_an_old_xls_file_is_refused_with_what_to_do(province: SimpleNamespace) -> None:
    body = _refused(province, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "xhh.xls")
    assert ".xlsx" in body["errors"][0]


def test_a_csv_not_in_utf8_is_refused(province: SimpleNamespace) -> None:
    latin1 = "Mã don vi,Mã tiêu chí,Diem\nS1,1.3,9\n".encode("latin-1")
    body = _refused(province, latin1, "xhh.csv")
    assert "UTF-8" in body["errors"][0]


def test_merged_cells_are_refused_with_their_place(province: SimpleNamespace) -> None:
    rows: list[list[Any]] = [HEADER, ["S1", "1.3", 9], ["S1", "2.3", 18], ["S2", "1.3", 8]]
    body = _refused(province, xlsx(rows, merge="A2:A3"))

    (problem,) = body["problems"]
    assert (problem["row"], problem["column"]) == (2, "A")
    assert "A2:A3" in problem["message"]
    assert body["errors"][0].startswith("Row 2, column A (Mã đơn vị): ")


def test_merged_cells_do_not_hide_the_other_problems(province: SimpleNamespace) -> None:
    rows: list[list[Any]] = [
        HEADER,
        ["S9", "1.3", 9],
        ["S1", "2.3", 18],
        ["S2", "1.3", 8],
        ["S2", "2.3", "mười"],
    ]
    body = _refused(province, xlsx(rows, merge="C3:C4"))

    assert [(p["row"], p["column"]) for p in body["problems"]] == [(2, "A"), (3, "C"), (5, "C")]


def test_an_empty_file_and_a_file_without_rows_are_refused(province: SimpleNamespace) -> None:
    assert _refused(province, b"", "xhh.csv")["errors"]
    assert _refused(province, xlsx([HEADER]))["errors"]


def test_a_message_names_the_column_as_the_file_does(province: SimpleNamespace) -> None:
    content = xlsx([HEADER, ["S9", "1.3", 5]])
    response = upload(province.secretariat, province.cycle, content, language="en")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        "Row 2, column A (Mã đơn vị): no unit with code “S9” is assessed in this cycle."
    ]


def test_a_finalised_case_keeps_its_survey_scores(province: SimpleNamespace) -> None:
    assert upload(province.secretariat, province.cycle, xlsx([HEADER, *GOOD])).status_code == 201
    Case.objects.filter(pk=province.cases["S1"].pk).update(state=Case.State.FINALISED)

    body = _refused_again(province, xlsx([HEADER, ["S1", "1.3", 5], *GOOD[1:]]))

    assert "S1" in body["errors"][0] and "1.3" in body["errors"][0]


def _refused_again(province: SimpleNamespace, content: bytes) -> dict[str, Any]:
    before = survey_scores(province.cycle)
    response = upload(province.secretariat, province.cycle, content, language="en")
    assert response.status_code == 400
    assert survey_scores(province.cycle) == before
    assert SurveyImport.objects.count() == 1
    return response.json()


def test_only_the_secretariat_imports(province: SimpleNamespace) -> None:
    content = xlsx([HEADER, *GOOD])
    assert upload(province.appraiser, province.cycle, content).status_code == 403
    assert upload(province.leader, province.cycle, content).status_code == 403
    assert upload(province.outsider, province.cycle, content).status_code == 404
    assert upload(None, province.cycle, content).status_code in (401, 403)
    assert not SurveyImport.objects.exists()


def test_no_import_once_the_results_are_sent_for_approval(province: SimpleNamespace) -> None:
    Cycle.objects.filter(pk=province.cycle.pk).update(status=Cycle.Status.RESULTS_SUBMITTED)

    response = upload(province.secretariat, province.cycle, xlsx([HEADER, *GOOD]))

    assert response.status_code == 409
    assert not SurveyImport.objects.exists()


def test_the_template_lists_every_unit_and_survey_criterion_and_imports_back(
    province: SimpleNamespace,
) -> None:
    response = api(province.secretariat).get(
        f"/api/v1/cycles/{province.cycle.pk}/survey/template.xlsx", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "Unit code",
        "Unit name",
        "Criterion code",
        "Criterion",
        "Max points",
        "Score",
    )
    # 5 departments × 2 survey criteria + 3 communes × 2
    assert len(rows) - 1 == 16
    assert rows[1][:3] == ("S1", "Sở Tư pháp", "1.3") and rows[1][4] == 10

    for row in sheet.iter_rows(min_row=2):  # the secretariat fills in the scores
        max_points = row[4].value
        assert isinstance(max_points, int | float)
        row[5].value = max_points / 2
    filled = io.BytesIO()
    workbook.save(filled)
    imported = upload(province.secretariat, province.cycle, filled.getvalue())
    assert imported.status_code == 201, imported.json()
    assert survey_scores(province.cycle)[("X3", "2.2")] == Decimal("7.50")


def test_the_csv_template_reads_back(province: SimpleNamespace) -> None:
    response = api(province.secretariat).get(
        f"/api/v1/cycles/{province.cycle.pk}/survey/template.csv", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "Unit code,Unit name,Criterion code,Criterion,Max points,Score"
    assert len(lines) == 17


def test_the_csv_template_writes_the_decimal_comma_and_a_filled_copy_imports(
    province: SimpleNamespace,
) -> None:
    url = f"/api/v1/cycles/{province.cycle.pk}/survey/template.csv"
    rows = list(
        csv.reader(api(province.secretariat).get(url).content.decode("utf-8-sig").splitlines())
    )
    assert rows[1][4] == "10"  # not "10.00"
    for row in rows[1:]:
        row[5] = "7,5"
    filled = io.StringIO()
    csv.writer(filled).writerows(rows)
    imported = upload(province.secretariat, province.cycle, filled.getvalue().encode(), "xhh.csv")
    assert imported.status_code == 201, imported.json()

    again = api(province.secretariat).get(url).content.decode("utf-8-sig").splitlines()
    assert again[1].endswith(',10,"7,5"')  # the score in force, with the decimal comma
