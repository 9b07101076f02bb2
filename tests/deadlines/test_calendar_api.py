"""The secretariat keeps the working-day calendar: days off and make-up working days."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from deadlines.models import CalendarOverride
from tests.deadlines.helpers import at, request_explanation
from tests.helpers import api
from workflow.models import AuditEntry


def add_day(user: Any, **body: Any) -> Any:
    payload = {"day": "28/02/2026", "kind": "working_day", "reason": "Làm bù cho 20/2"}
    payload.update(body)
    return api(user).post("/api/v1/calendar/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")


def test_secretariat_adds_a_make_up_saturday_that_answer_dates_then_count(
    dated: SimpleNamespace,
) -> None:
    response = add_day(dated.secretariat)

    assert response.status_code == 201, response.json()
    assert response.json()["day"] == "2026-02-28"
    entry = AuditEntry.objects.get(action="deadlines.calendar.day_added")
    assert (entry.actor, entry.comment) == (dated.secretariat, "Làm bù cho 20/2")
    question = request_explanation(dated, dated.case_a, at(2026, 2, 25, 9))
    assert question.due_at == at(2026, 3, 4, 0, 0)  # 26, 27, Sat 28/2, 2/3, 3/3


def test_secretariat_adds_a_day_off_that_answer_dates_then_skip(dated: SimpleNamespace) -> None:
    assert add_day(dated.secretariat, day="2026-03-02", kind="day_off").status_code == 201
    question = request_explanation(dated, dated.case_a, at(2026, 2, 25, 9))
    assert question.due_at == at(2026, 3, 6, 0, 0)  # 26, 27, (2/3 off) 3/3, 4/3, 5/3


def test_answer_dates_already_fixed_do_not_move_with_the_calendar(dated: SimpleNamespace) -> None:
    question = request_explanation(dated, dated.case_a, at(2026, 2, 25, 9))
    assert question.due_at == at(2026, 3, 5, 0, 0)  # 26, 27, 2/3, 3/3, 4/3
    add_day(dated.secretariat, day="2026-03-02", kind="day_off")
    question.refresh_from_db()
    assert question.due_at == at(2026, 3, 5, 0, 0)


def test_calendar_lists_holidays_workdays_and_overrides_of_a_year(dated: SimpleNamespace) -> None:
    add_day(dated.secretariat)
    body = api(dated.secretariat).get("/api/v1/calendar/?year=2026").json()
    assert "2026-02-17" in body["public_holidays"]
    assert body["weekend_workdays"] == ["2026-08-22"]
    assert [(o["day"], o["kind"]) for o in body["overrides"]] == [("2026-02-28", "working_day")]


def test_secretariat_removes_a_calendar_change_with_a_reason(dated: SimpleNamespace) -> None:
    add_day(dated.secretariat)
    client = api(dated.secretariat)
    refused = client.delete("/api/v1/calendar/2026-02-28/", {}, format="json")
    assert refused.status_code == 400
    response = client.delete("/api/v1/calendar/28/02/2026/", {"reason": "Nhầm"}, format="json")
    assert response.status_code == 404  # slashes do not belong in the path: ISO only
    response = client.delete("/api/v1/calendar/2026-02-28/", {"reason": "Nhầm"}, format="json")
    assert response.status_code == 204
    assert not CalendarOverride.objects.exists()
    assert AuditEntry.objects.filter(action="deadlines.calendar.day_removed").count() == 1
    again = client.delete("/api/v1/calendar/2026-02-28/", {"reason": "Nhầm"}, format="json")
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"day": "30/02/2026"}, 400, "is not a date"),
        ({"kind": "holiday"}, 400, "day_off"),
        ({"reason": ""}, 400, "reason"),
        ({"day": "2026-03-02"}, 400, "already a working day"),  # a Monday
        ({"day": "2026-02-17", "kind": "day_off"}, 400, "already a day off"),  # Tết
    ],
)
def test_bad_calendar_changes_are_refused(
    dated: SimpleNamespace, body: dict[str, str], status: int, fragment: str
) -> None:
    response = add_day(dated.secretariat, **body)
    assert response.status_code == status
    answer = response.json()
    # The service's refusals are the detail; the input serializer's name their field.
    assert fragment in " ".join([answer["detail"], *answer["errors"]])
    assert not CalendarOverride.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"day": "30/02/2026"}, "day", "“30/02/2026” is not a date"),
        ({"day": "next Saturday"}, "day", "is not a date"),
        ({"day": ["28/02/2026"]}, "day", "is not a date"),
        ({"day": 20260228}, "day", "is not a date"),
        ({"kind": "holiday"}, "kind", "“day_off” or “working_day”"),
        ({"kind": ["working_day"]}, "kind", "“day_off” or “working_day”"),
        ({"reason": ["Làm bù"]}, "reason", ""),
    ],
)
def test_secretariat_adding_a_calendar_day_that_is_not_a_date_gets_the_field_named(
    dated: SimpleNamespace, body: dict[str, Any], field: str, fragment: str
) -> None:
    response = add_day(dated.secretariat, **body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error.startswith(f"{field}: ") and fragment in error
    assert not CalendarOverride.objects.exists()
    assert not AuditEntry.objects.filter(action="deadlines.calendar.day_added").exists()


def test_secretariat_removing_a_change_by_an_address_that_is_not_a_date_gets_the_field_named(
    dated: SimpleNamespace,
) -> None:
    add_day(dated.secretariat)
    client = api(dated.secretariat)
    for address in ("/api/v1/calendar/2026-02-30/", "/api/v1/calendar/yesterday/"):
        response = client.delete(address, {"reason": "Nhầm"}, format="json")
        assert response.status_code == 400
        [error] = response.json()["errors"]
        assert error.startswith("day: ") and "không phải là ngày" in error
    listed = client.delete("/api/v1/calendar/2026-02-28/", {"reason": ["Nhầm"]}, format="json")
    assert listed.status_code == 400
    assert [e.split(":")[0] for e in listed.json()["errors"]] == ["reason"]
    assert CalendarOverride.objects.count() == 1
    assert not AuditEntry.objects.filter(action="deadlines.calendar.day_removed").exists()


def test_others_sending_a_bad_calendar_change_learn_only_that_they_may_not(
    dated: SimpleNamespace,
) -> None:
    refused = add_day(dated.head_a, day="30/02/2026", kind=["x"])
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": "Only the secretariat changes the working-day calendar.",
        "errors": [],
    }
    removed = api(dated.head_a).delete("/api/v1/calendar/yesterday/", {}, format="json")
    assert removed.status_code == 403


def test_the_same_day_cannot_be_changed_twice(dated: SimpleNamespace) -> None:
    assert add_day(dated.secretariat).status_code == 201
    assert add_day(dated.secretariat).status_code == 409
    assert CalendarOverride.objects.get().day == date(2026, 2, 28)


@pytest.mark.parametrize("who", ["head_a", "staff_a", "appraiser", "leader", "auditor", "outsider"])
def test_only_the_secretariat_changes_the_calendar(dated: SimpleNamespace, who: str) -> None:
    user = getattr(dated, who)
    assert add_day(user).status_code == 403
    CalendarOverride.objects.create(
        day=date(2026, 2, 28), kind="working_day", reason="x", created_by=dated.secretariat
    )
    deleted = api(user).delete("/api/v1/calendar/2026-02-28/", {"reason": "x"}, format="json")
    assert deleted.status_code == 403
    assert CalendarOverride.objects.count() == 1


def test_unit_users_do_not_read_the_calendar_administration(dated: SimpleNamespace) -> None:
    assert api(dated.head_a).get("/api/v1/calendar/").status_code == 403
    assert api(dated.leader).get("/api/v1/calendar/").status_code == 200
    assert api(None).get("/api/v1/calendar/").status_code in (401, 403)
