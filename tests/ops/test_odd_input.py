"""Odd input answers 400 in the error format, never a 500: JSON nested beyond reason,
numbers JSON cannot hold (1e309, NaN, 400 digits), ids no database column holds, texts where
flags or numbers belong and objects where texts belong."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.helpers import api

pytestmark = pytest.mark.django_db

HUGE = "9" * 400
BODIES = {
    "nested": "[" * 100_000 + "]" * 100_000,
    "nested_object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "inf": '{"self_score": 1e309, "value": 1e309, "appraised_score": 1e309, '
    '"explanation_window_days": 1e309, "version": 1e309, "area": 1e309, "user": 1e309}',
    "nan": '{"self_score": NaN, "value": NaN, "appraised_score": NaN, "version": NaN, '
    '"explanation_window_days": NaN, "user": NaN, "days": NaN}',
    "digits": '{"self_score": %s, "value": %s, "appraised_score": %s, "version": %s, '
    '"explanation_window_days": %s, "user": %s, "days": %s, "reminder_offsets": [%s]}'
    % ((HUGE,) * 8),
    "id20": '{"version": 12345678901234567890, "user": 12345678901234567890, '
    '"evidence": 12345678901234567890, "link": 12345678901234567890, '
    '"explanation_window_days": 12345678901234567890, "days": 12345678901234567890}',
    "objects": '{"note": {"a": 1}, "comment": {"a": 1}, "reason": {"a": 1}, '
    '"question": {"a": 1}, "answer": {"a": 1}, "title": {"a": 1}, "criterion": {"a": 1}, '
    '"not_applicable": {"a": 1}, "self_score": {"a": 1}, "decision_number": {"a": 1}, '
    '"language": {"a": 1}, "kind": {"a": 1}, "day": {"a": 1}, "user": {"a": 1}, '
    '"document": {"a": 1}}',
}

WRITES = [
    ("post", "/api/v1/auth/token/", None),
    ("post", "/api/v1/calendar/", "secretariat"),
    ("post", "/api/v1/cases/{case}/clarifications/", "appraiser"),
    ("post", "/api/v1/cases/{case}/evidence/links/", "staff_a"),
    ("post", "/api/v1/cases/{case}/exclusion/", "leader"),
    ("post", "/api/v1/cases/{case}/extensions/", "secretariat"),
    ("put", "/api/v1/cases/{case}/scores/1.4/", "staff_a"),
    ("put", "/api/v1/cases/{case}/scores/1.4/", "appraiser"),
    ("post", "/api/v1/cases/{case}/transitions/submit/", "head_a"),
    ("patch", "/api/v1/cycles/{cycle}/", "secretariat"),
    ("post", "/api/v1/cycles/{cycle}/assignments/", "secretariat"),
    ("post", "/api/v1/cycles/{cycle}/publish/", "leader"),
    ("put", "/api/v1/notifications/settings/", "staff_a"),
    ("patch", "/api/v1/notifications/settings/", "staff_a"),
    ("post", "/api/v1/units/STP/correct-name/", "secretariat"),
]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize(("method", "path", "role"), WRITES)
def test_odd_json_is_refused_with_400_in_the_error_format(
    world: SimpleNamespace, method: str, path: str, role: str | None, body: str
) -> None:
    client = api(getattr(world, role) if role else None)
    url = path.format(case=world.case_a.pk, cycle=world.cycle.pk)
    before = world.case_a.scores.values_list("self_score", "appraised_score", "note", "version")
    before = sorted(before)
    response = getattr(client, method)(
        url, BODIES[body], content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code in (400, 403), response.content[:300]
    data = response.json()
    assert set(data) >= {"detail", "errors"}
    assert (
        sorted(world.case_a.scores.values_list("self_score", "appraised_score", "note", "version"))
        == before
    )


ID20 = "12345678901234567890"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cases/{id}/",
        "/api/v1/cycles/{id}/",
        "/api/v1/cycles/{id}/results/",
        "/api/v1/cases/{id}/history/",
        "/api/v1/evidence/{id}/download/",
        "/api/v1/notifications/{id}/read/",
        "/api/v1/cases/?cycle={id}",
    ],
)
def test_a_20_digit_id_is_not_found_not_a_500(world: SimpleNamespace, path: str) -> None:
    client = api(world.secretariat)
    url = path.format(id=ID20)
    method = client.post if url.endswith("/read/") else client.get
    response = method(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (200, 400, 404), response.content[:300]
    assert response["Content-Type"].startswith("application/json")


def test_the_text_false_is_not_true(world: SimpleNamespace) -> None:
    response = api(world.staff_a).put(
        f"/api/v1/cases/{world.case_a.pk}/scores/1.4/",
        {"self_score": "0", "not_applicable": "false"},
        format="json",
    )
    assert response.status_code == 200, response.content
    score = world.case_a.scores.get(criterion__code="1.4")
    assert (score.not_applicable, score.self_score) == (False, 0)
