"""The secretariat imports the survey scores from a page: the template, the file, every
problem of a refused file by row and column, the summary of an accepted one."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from cases.models import Cycle, Method, Score, SurveyImport
from tests.helpers import worksheet
from tests.web.html import Page
from workflow.models import AuditEntry

HEADER = ["Mã đơn vị", "Mã tiêu chí", "Điểm"]


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = worksheet(workbook)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _url(world: Any) -> str:
    return reverse("web:survey", args=[world.cycle.pk])


def _post(client: Client, world: Any, content: bytes, name: str = "Điều tra XHH.xlsx") -> Any:
    return client.post(_url(world), {"file": SimpleUploadedFile(name, content)})


def survey_scores(world: Any) -> dict[tuple[str, str], Decimal | None]:
    return {
        (unit, code): value
        for unit, code, value in Score.objects.filter(
            case__cycle=world.cycle, criterion__method=Method.SURVEY
        ).values_list("case__unit__code", "criterion__code", "appraised_score")
    }


def test_the_secretariat_finds_the_survey_import_on_the_cycle_overview(
    world: Any, signed_in: Any
) -> None:
    overview = reverse("web:cycle", args=[world.cycle.pk])
    page = Page(signed_in(world.secretariat).get(overview))
    assert page.first("a", href=_url(world)).text == "Nhập điểm điều tra xã hội học"
    leader_page = Page(signed_in(world.leader).get(overview))
    assert leader_page.first_or_none("a", href=_url(world)) is None


def test_the_page_offers_the_template_and_says_what_is_in_force(world: Any, signed_in: Any) -> None:
    page = Page(signed_in(world.secretariat).get(_url(world)))
    assert (
        page.first_or_none("a", href=reverse("survey-template-xlsx", args=[world.cycle.pk]))
        is not None
    )
    assert (
        page.first_or_none("a", href=reverse("survey-template-csv", args=[world.cycle.pk]))
        is not None
    )
    expected = len(survey_scores(world))
    assert page.id("survey-filled").text.startswith(f"0/{expected}")
    assert "1.6 – Đánh giá về công tác chỉ đạo, điều hành CCHC (điều tra XHH)" in page.text
    assert "Chưa có tệp điều tra nào được nhập cho đợt này." in page.text


def test_the_secretariat_imports_a_file_and_reads_what_it_brought(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    content = xlsx([HEADER, ["STP", "1.6", 1.5], ["STP", "2.5", 2], ["STC", "1.6", 1.75]])

    response = _post(client, world, content)

    assert response.status_code == 302 and response["Location"] == _url(world)
    scores = survey_scores(world)
    assert scores[("STP", "1.6")] == Decimal("1.50") and scores[("STC", "1.6")] == Decimal("1.75")
    page = Page(client.get(response["Location"]))
    assert "Đã nhập “Điều tra XHH.xlsx”: 3 điểm, 2 đơn vị, 2 tiêu chí." in page.text
    assert "Đây là lần nhập điểm điều tra đầu tiên của đợt đánh giá." in page.text
    assert page.id("survey-filled").text.startswith("3/")
    imports = page.id("survey-imports").text
    assert "Điều tra XHH.xlsx" in imports and "đang áp dụng" in imports

    second = _post(client, world, xlsx([HEADER, ["STC", "3.6", 4]]), "lần 2.xlsx")

    assert second.status_code == 302
    page = Page(client.get(second["Location"]))
    assert "Đã nhập “lần 2.xlsx”: 1 điểm, 1 đơn vị, 1 tiêu chí." in page.text
    first = SurveyImport.objects.get(filename="Điều tra XHH.xlsx")
    assert (
        "Lần nhập này thay thế lần nhập lúc" in page.text and "(“Điều tra XHH.xlsx”)" in page.text
    )
    assert timezone.localtime(first.imported_at).strftime("%d/%m/%Y %H:%M") in page.text
    assert survey_scores(world)[("STP", "1.6")] is None  # replaced, as the API does


def test_a_refused_file_lists_every_problem_by_row_and_column_and_changes_nothing(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    _post(client, world, xlsx([HEADER, ["STP", "1.6", 1]]))
    before, audit = survey_scores(world), AuditEntry.objects.count()
    content = xlsx(
        [
            HEADER,
            ["STP", "1.6", 1.5],
            ["XYZ", "1.6", 1],  # unknown unit
            ["STC", "1.1.1", 1],  # not a survey criterion
            ["STC", "2.5", 9],  # above the maximum
            ["STC", "3.6", "nhiều"],  # not a number
        ]
    )

    response = _post(client, world, content, "sai.xlsx")

    assert response.status_code == 400
    page = Page(response)
    problems = page.id("problems")
    assert "Tệp chưa được nhập" in page.id("problems-title").text
    located = [
        (tr["data-row"], tr["data-column"], tr.text)
        for tr in page.all("tr")
        if "data-row" in tr.attrs
    ]
    assert [(row, column) for row, column, _text in located] == [
        ("3", "A"),
        ("4", "B"),
        ("5", "C"),
        ("6", "C"),
    ]
    assert "XYZ" in located[0][2] and "1.1.1" in located[1][2] and "nhiều" in located[3][2]
    assert "4 lỗi; không có dữ liệu nào được nhập." in problems.text
    assert survey_scores(world) == before
    assert AuditEntry.objects.count() == audit
    assert SurveyImport.objects.count() == 1
    assert page.id("survey-file").attrs.get("aria-invalid") == "true"


def test_importing_without_a_file_says_so_beside_the_field(world: Any, signed_in: Any) -> None:
    response = signed_in(world.secretariat).post(_url(world), {})
    assert response.status_code == 400
    error = Page(response).id("survey-file-error")
    assert error.text == "Hãy chọn tệp điều tra (.xlsx hoặc .csv) để nhập."
    assert not SurveyImport.objects.exists()


def test_after_the_results_are_sent_the_import_is_refused_with_the_services_reason(
    world: Any, signed_in: Any
) -> None:
    Cycle.objects.filter(pk=world.cycle.pk).update(status=Cycle.Status.RESULTS_SUBMITTED)
    client = signed_in(world.secretariat)
    assert Page(client.get(_url(world))).first_or_none("form", id="survey-form") is None

    response = _post(client, world, xlsx([HEADER, ["STP", "1.6", 1]]))

    assert response.status_code == 409
    error = Page(response).id("survey-file-error").text
    assert "Chỉ nhập được điểm điều tra xã hội học khi đợt đánh giá đang mở" in error
    assert not SurveyImport.objects.exists()
    assert all(v is None for v in survey_scores(world).values())


def test_only_the_secretariat_may_open_or_post_the_survey_page(world: Any, signed_in: Any) -> None:
    content = xlsx([HEADER, ["STP", "1.6", 1]])
    for user in (world.leader, world.auditor, world.appraiser, world.head_a, world.outsider):
        client = signed_in(user)
        assert client.get(_url(world)).status_code == 403
        assert _post(client, world, content).status_code == 403
    assert not SurveyImport.objects.exists()
    missing = reverse("web:survey", args=[world.cycle.pk + 1000])
    assert signed_in(world.secretariat).get(missing).status_code == 404


def test_the_survey_page_costs_the_same_with_one_import_or_many(
    world: Any, signed_in: Any, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(world.secretariat)
    _post(client, world, xlsx([HEADER, ["STP", "1.6", 1]]))
    with django_assert_max_num_queries(SURVEY_PAGE_QUERIES) as one:
        client.get(_url(world))
    for n in range(5):
        _post(client, world, xlsx([HEADER, ["STC", "1.6", n / 4]]), f"lần {n}.xlsx")
    with django_assert_max_num_queries(SURVEY_PAGE_QUERIES) as many:
        page = Page(client.get(_url(world)))
    assert len(page.all("tr")) == 1 + 6  # the header and every import
    assert len(many) == len(one)


SURVEY_PAGE_QUERIES = 8
