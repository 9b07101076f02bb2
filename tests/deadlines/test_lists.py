"""Lists that show deadlines: bounded queries, extensions visible."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

from django.test import Client

from deadlines.models import CalendarOverride, Extension
from tests.helpers import api


def grant(w: SimpleNamespace, case: Any, day: date) -> Extension:
    return Extension.objects.create(
        case=case,
        kind=Extension.Kind.SELF_ASSESSMENT,
        previous_due=w.cycle.self_assessment_due,
        due_date=day,
        reason="Lý do",
        granted_by=w.secretariat,
    )


def test_cycle_overview_shows_each_cases_own_deadline_in_few_queries(
    dated: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    # The list of cases with their deadlines is on the cycle overview (not the home page);
    # the same rule, checked there.
    grant(dated, dated.case_a, date(2026, 4, 7))
    client = Client()
    client.force_login(dated.secretariat)
    with django_assert_max_num_queries(12):
        page = client.get(f"/cycles/{dated.cycle.pk}/").content.decode()
    rows = {row.split("</a>")[0].rsplit(">", 1)[-1]: row for row in page.split("<tr>")[1:]}
    assert '07/04/2026 <span class="tag">' in rows["STP – Sở Tư pháp"]  # extended
    assert "<td>31/03/2026</td>" in rows["STC – Sở Tài chính"]  # the cycle's date


def test_extension_list_costs_the_same_for_many_extensions(
    dated: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    for day in range(1, 6):
        grant(dated, dated.case_a, date(2026, 4, day))
    with django_assert_max_num_queries(6):
        rows = api(dated.secretariat).get(f"/api/v1/cases/{dated.case_a.pk}/extensions/").json()
    assert len(rows) == 5


def test_calendar_list_costs_the_same_for_many_days(
    dated: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    for day in (7, 14, 21, 28):
        CalendarOverride.objects.create(
            day=date(2026, 3, day),
            kind="working_day",
            reason="Làm bù",
            created_by=dated.secretariat,
        )
    with django_assert_max_num_queries(4):
        body = api(dated.secretariat).get("/api/v1/calendar/?year=2026").json()
    assert len(body["overrides"]) == 4
    assert api(dated.secretariat).get("/api/v1/calendar/?year=abc").status_code == 400
