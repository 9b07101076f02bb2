"""The figures a unit compares: its own self-assessed part and the appraised one, both of the
same maximum (70), the survey part of its own (30), the total of 100 and the index — on the
score sheet and in the case API. A sheet that put "self score 70" beside an appraised score
that included the survey compared unlike things."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse

from cases.models import Case, Score
from tests.helpers import api, fill_self_scores, force_state, import_survey_scores
from tests.web.html import Page


def _score(case: Case, code: str, **fields: Any) -> None:
    Score.objects.filter(case=case, criterion__code=code).update(**fields)


def _appraised_case(world: Any) -> Case:
    """Unit A scored 1,5 on 1.5 and 1 on 1.1.1; the appraiser agreed only with 1.1.1; every
    survey leaf imported at 1 point (ten leaves: 10 of 30)."""
    case = world.case_a
    fill_self_scores(case)
    _score(case, "1.5", self_score=Decimal("1.5"))
    _score(case, "1.1.1", self_score=1)
    import_survey_scores(world.cycle, 1)
    case = force_state(case, Case.State.APPRAISING)
    Score.objects.filter(case=case, self_score__isnull=False).update(
        appraised_score=0, appraised_round=1
    )
    _score(case, "1.1.1", appraised_score=1)
    return case


def _rows(page: Page) -> dict[str, list[str]]:
    """The figures table: row heading → its cells."""
    table = page.html[page.html.index('<table class="totals-table"') :]
    table = table[: table.index("</table>")]
    rows = {}
    for chunk in table.split("<tr>")[1:]:
        row = Page(chunk)
        heading = row.first_or_none("th", scope="row")
        if heading is not None:
            rows[heading.text] = [cell.text for cell in row.all("td")]
    return rows


def test_unit_sees_its_survey_score_beside_parts_of_the_same_maximum(
    world: Any, signed_in: Any
) -> None:
    case = _appraised_case(world)

    rows = _rows(Page(signed_in(world.staff_a).get(reverse("web:case", args=[case.pk]))))

    assert rows["Phần tự đánh giá"] == ["2,50", "1,00", "70"]
    assert rows["Điều tra xã hội học"] == ["10,00", "30"]
    assert rows["Tổng điểm"] == ["12,50", "11,00", "100"]
    assert rows["Chỉ số"][1] == "11,00"


def test_before_the_survey_import_the_unit_sees_that_it_is_not_imported_yet(
    world: Any, signed_in: Any
) -> None:
    fill_self_scores(world.case_a)
    _score(world.case_a, "1.5", self_score=Decimal("1.5"))

    page = Page(signed_in(world.staff_a).get(reverse("web:case", args=[world.case_a.pk])))

    rows = _rows(page)
    assert rows["Phần tự đánh giá"] == ["1,50", "70"]  # no appraised column while scoring
    assert rows["Điều tra xã hội học"] == ["chưa nhập", "30"]
    assert page.id("self-total").text == "1,50"


def test_case_api_labels_each_part_with_its_maximum(world: Any) -> None:
    case = _appraised_case(world)

    totals = api(world.head_a).get(f"/api/v1/cases/{case.pk}/").json()["totals"]

    assert totals["parts"] == {
        "self_assessed": {"points": "2.50", "of": "70.00"},
        "appraised": {"points": "1.00", "of": "70.00"},
        "survey": {"points": "10.00", "of": "30.00"},
    }
    assert (totals["total"], totals["self_assessed_total"]) == ("11.00", "12.50")
    listed = api(world.head_a).get(f"/api/v1/cases/?cycle={world.cycle.pk}").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [r["totals"]["parts"]["survey"] for r in rows] == [{"points": "10.00", "of": "30.00"}]


def test_case_api_survey_points_are_null_until_imported(world: Any) -> None:
    totals = api(world.head_a).get(f"/api/v1/cases/{world.case_a.pk}/").json()["totals"]
    assert totals["parts"]["survey"] == {"points": None, "of": "30.00"}
