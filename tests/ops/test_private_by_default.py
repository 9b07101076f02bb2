"""Answers that carry case data are sent with `Cache-Control: no-store`: no shared cache,
and no browser after its user signed out, keeps a copy (published results served to the
public are the one exception: tests/results/test_results_api.py)."""

from __future__ import annotations

from types import SimpleNamespace

from django.test import Client

from tests.helpers import api, self_scorable


def test_a_units_case_page_and_its_api_answers_are_never_stored(world: SimpleNamespace) -> None:
    browser = Client()
    browser.force_login(world.head_a)
    page = browser.get(f"/cases/{world.case_a.pk}/")
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"

    client = api(world.staff_a)
    detail = client.get(f"/api/v1/cases/{world.case_a.pk}/")
    assert detail.status_code == 200 and detail["Cache-Control"] == "no-store"
    code = self_scorable(world.case_a).first().criterion.code
    saved = client.put(
        f"/api/v1/cases/{world.case_a.pk}/scores/{code}/", {"self_score": 0}, format="json"
    )
    assert saved.status_code == 200 and saved["Cache-Control"] == "no-store"
    history = client.get(f"/api/v1/cases/{world.case_a.pk}/history/")
    assert history.status_code == 200 and history["Cache-Control"] == "no-store"


def test_refusals_and_other_units_cases_are_not_stored_either(world: SimpleNamespace) -> None:
    refused = api(world.staff_b).get(f"/api/v1/cases/{world.case_a.pk}/")
    assert refused.status_code in (403, 404) and refused["Cache-Control"] == "no-store"
    anonymous = Client().get(f"/cases/{world.case_a.pk}/")
    assert anonymous.status_code == 302 and "no-store" in anonymous["Cache-Control"]
