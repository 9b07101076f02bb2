"""One case, the same figures wherever they are read: the score sheet, the appraisal page, the
cycle overview and the case API count the same criteria ("x/y"), give the same points, and show
the appraised index only once every criterion is appraised and the survey imported — never
after one row."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django.urls import reverse

from cases.models import Case, Method, Score
from tests.helpers import api, fill_self_scores, force_state, import_survey_scores, self_scorable
from tests.web.html import Page
from workflow import cycle_services


def _figures(world: Any, signed_in: Any, case: Case) -> dict[str, Any]:
    """What each place shows for the case."""
    sheet = Page(signed_in(world.staff_a).get(reverse("web:case", args=[case.pk])))
    appraisal = Page(signed_in(world.appraiser).get(reverse("web:appraisal", args=[case.pk])))
    overview = Page(signed_in(world.secretariat).get(reverse("web:cycle", args=[case.cycle_id])))
    row = next(r for r in overview.html.split("<tr") if case.unit.name in r)
    self_count, appraised_count = re.findall(r'<td class="num">(\d+/\d+)</td>', row)[:2]
    totals = api(world.head_a).get(f"/api/v1/cases/{case.pk}/").json()["totals"]
    index = appraisal.id_or_none("index")
    return {
        "sheet": sheet.id("self-count").text,
        "appraisal": appraisal.id("appraised-count").text,
        "overview": (self_count, appraised_count),
        "api": (
            f"{totals['self_scored']}/{totals['self_leaves']}",
            f"{totals['self_appraised']}/{totals['self_leaves']}",
        ),
        "self_part": (sheet.id("self-part").text, totals["parts"]["self_assessed"]["points"]),
        "index": (
            index.text
            if index is not None and "muted" not in index.attrs.get("class", "")
            else None,
            totals["index"],
        ),
    }


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(".", "").replace(",", "."))


def test_every_page_and_the_api_agree_on_a_case_in_each_state(world: Any, signed_in: Any) -> None:
    case = world.case_a
    leaves = self_scorable(case).count()
    half = list(self_scorable(case).order_by("criterion__position").values_list("pk", flat=True))

    # Self-scoring, half the criteria scored.
    fill_self_scores(case, 0)
    Score.objects.filter(pk__in=half[leaves // 2 :]).update(self_score=None)
    seen = _figures(world, signed_in, case)
    done = f"{leaves // 2}/{leaves}"
    assert seen["sheet"] == seen["api"][0] == seen["overview"][0] == done
    assert seen["index"] == (None, None)

    # Appraising, one row appraised: no index anywhere.
    fill_self_scores(case, 0)
    case = force_state(case, Case.State.APPRAISING)
    first = self_scorable(case).order_by("criterion__position").first()
    assert first is not None
    Score.objects.filter(pk=first.pk).update(appraised_score=0, appraised_round=1)
    seen = _figures(world, signed_in, case)
    assert seen["sheet"] == seen["api"][0] == seen["overview"][0] == f"{leaves}/{leaves}"
    assert seen["appraisal"] == seen["api"][1] == seen["overview"][1] == f"1/{leaves}"
    assert seen["index"] == (None, None)
    results = reverse("web:results", args=[world.cycle.pk])
    provisional = Page(signed_in(world.leader).get(results))
    assert not any(case.unit.name in r.text for r in provisional.all("tr"))  # not ranked
    assert "Chưa thẩm định đầy đủ (hoặc chưa nhập điểm điều tra xã hội học)" in provisional.text

    # Every row appraised, the survey not imported yet: still no index.
    self_scorable(case).update(appraised_score=0, appraised_round=1)
    seen = _figures(world, signed_in, case)
    assert seen["appraisal"] == seen["api"][1] == seen["overview"][1] == f"{leaves}/{leaves}"
    assert seen["index"] == (None, None)

    # Explanation, then finalised with the survey imported: the index, the same everywhere.
    for state in (Case.State.EXPLANATION, Case.State.FINALISED):
        case = force_state(case, state)
        import_survey_scores(world.cycle, 1)
        seen = _figures(world, signed_in, case)
        assert seen["sheet"] == seen["api"][0] == f"{leaves}/{leaves}"
        assert seen["appraisal"] == seen["api"][1] == seen["overview"][1] == f"{leaves}/{leaves}"
        shown, given = seen["index"]
        assert shown is not None and given is not None and _decimal(shown) == Decimal(given)
        assert _decimal(seen["self_part"][0]) == Decimal(seen["self_part"][1])

    # Published: the results pages give the index the case showed.
    force_state(world.case_b, Case.State.FINALISED)
    fill_self_scores(world.case_b, 0)
    self_scorable(world.case_b).update(appraised_score=0, appraised_round=1)
    Score.objects.filter(case__cycle=world.cycle, criterion__method=Method.SURVEY).update(
        appraised_score=1
    )
    cycle_services.submit_results(world.cycle.pk, actor=world.secretariat)
    cycle_services.publish_cycle(
        world.cycle.pk,
        actor=world.leader,
        decision_number="9/QĐ-UBND",
        decision_date=date(2026, 4, 15),
    )
    unit = Page(
        signed_in(world.staff_a).get(reverse("web:result-unit", args=[world.cycle.pk, "STP"]))
    )
    kpis = [li.text for li in unit.all("li")]
    assert any(k.startswith(seen["index"][0]) and "Chỉ số" in k for k in kpis), kpis
