"""The secretariat keeps the working-day calendar from a page: days off and make-up working
days added and removed through the deadlines service, each with its reason, audited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from deadlines import services
from deadlines.calendar import is_working_day, local_date
from deadlines.models import CalendarOverride
from tests.web.html import Page
from workflow.models import AuditEntry

URL = reverse("web:calendar")


def _working_day(year: int, after: int = 0) -> date:
    """A weekday of the year that is a working day (no holiday), `after` of them skipped."""
    day, found = date(year, 3, 2), -1
    while True:
        if day.weekday() < 5 and is_working_day(day):
            found += 1
            if found == after:
                return day
        day += timedelta(days=1)


def _saturday(year: int) -> date:
    day = date(year, 6, 1)
    while day.weekday() != 5 or is_working_day(day):
        day += timedelta(days=1)
    return day


def _year() -> int:
    return local_date(timezone.now()).year


def test_the_secretariat_finds_the_calendar_on_the_cycle_overview(
    world: Any, signed_in: Any
) -> None:
    page = Page(signed_in(world.secretariat).get(reverse("web:cycle", args=[world.cycle.pk])))
    assert page.first("a", href=URL).text == "Ngày nghỉ, ngày làm bù"
    calendar = Page(signed_in(world.secretariat).get(URL))
    assert f"01/01/{_year()}" in calendar.id("public-holidays").text


def test_the_secretariat_adds_a_day_off_with_its_reason(world: Any, signed_in: Any) -> None:
    client = signed_in(world.secretariat)
    day = _working_day(_year())

    response = client.post(
        URL, {"day": f"{day:%d/%m/%Y}", "kind": "day_off", "reason": "Nghỉ bù lễ hội tỉnh"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"{URL}?year={day.year}#day-{day.isoformat()}"
    override = CalendarOverride.objects.get(day=day)
    assert (override.kind, override.reason, override.created_by) == (
        "day_off",
        "Nghỉ bù lễ hội tỉnh",
        world.secretariat,
    )
    assert AuditEntry.objects.filter(action="deadlines.calendar.day_added").count() == 1
    assert not is_working_day(day, frozenset({day}))
    page = Page(client.get(response["Location"]))
    assert f"Ngày {day:%d/%m/%Y} nay là: Ngày nghỉ." in page.text
    row = page.id(f"day-{day.isoformat()}").text
    assert "Ngày nghỉ" in row and "Nghỉ bù lễ hội tỉnh" in row


def test_refused_additions_show_the_services_reason_and_change_nothing(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    saturday, day = _saturday(_year()), _working_day(_year())
    services.add_calendar_day(day, CalendarOverride.Kind.DAY_OFF, "Đã có", actor=world.secretariat)
    before = (CalendarOverride.objects.count(), AuditEntry.objects.count())
    for data, status, message in (
        ({"day": f"{saturday:%d/%m/%Y}", "kind": "day_off", "reason": "x"}, 400, "đã là ngày nghỉ"),
        (
            {"day": f"{day:%d/%m/%Y}", "kind": "day_off", "reason": "lần hai"},
            409,
            "hãy xóa điều chỉnh đó trước",
        ),
        ({"day": "31/02/2026", "kind": "day_off", "reason": "x"}, 400, "“31/02/2026”"),
        (
            {"day": f"{saturday:%d/%m/%Y}", "kind": "working_day", "reason": ""},
            400,
            "Hãy nêu lý do điều chỉnh lịch.",
        ),
    ):
        response = client.post(URL, data)
        assert response.status_code == status, data
        page = Page(response)
        assert message in page.id("add-day-error").text, data
        assert page.id("add-day-date")["value"] == data["day"]  # what was typed stays
    assert (CalendarOverride.objects.count(), AuditEntry.objects.count()) == before


def test_the_secretariat_adding_a_day_that_is_not_a_date_or_of_no_known_kind_is_told_by_the_form(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    before = (CalendarOverride.objects.count(), AuditEntry.objects.count())
    day = _working_day(_year())
    for data, message in (
        ({"day": "", "kind": "day_off", "reason": "x"}, "Ngày: “” không phải là ngày"),
        ({"day": "hôm nay", "kind": "day_off", "reason": "x"}, "Ngày: “hôm nay” không phải"),
        ({"day": f"{day:%d/%m/%Y}", "kind": "holiday", "reason": "x"}, "“day_off” (ngày nghỉ)"),
        ({"day": f"{day:%d/%m/%Y}", "reason": "x"}, "“working_day” (ngày làm việc)"),
    ):
        response = client.post(URL, data)
        assert response.status_code == 400, data
        page = Page(response)
        assert message in page.id("add-day-error").text, data
        assert page.id("add-day-date")["value"] == data["day"]  # what was typed stays
        assert page.id("add-day-date")["aria-invalid"] == "true"
    assert (CalendarOverride.objects.count(), AuditEntry.objects.count()) == before


def test_the_secretariat_removes_a_change_with_a_reason_and_not_without(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    day = _working_day(_year())
    services.add_calendar_day(day, CalendarOverride.Kind.DAY_OFF, "Nghỉ", actor=world.secretariat)
    remove = reverse("web:calendar-remove", args=[day.isoformat()])

    refused = client.post(remove, {"reason": ""})

    assert refused.status_code == 400
    assert "Hãy nêu lý do điều chỉnh lịch." in Page(refused).id(f"day-{day.isoformat()}-error").text
    assert CalendarOverride.objects.filter(day=day).exists()

    response = client.post(remove, {"reason": "Tỉnh hủy lịch nghỉ"})

    assert response.status_code == 302
    assert not CalendarOverride.objects.filter(day=day).exists()
    entry = AuditEntry.objects.get(action="deadlines.calendar.day_removed")
    assert entry.actor == world.secretariat
    page = Page(client.get(response["Location"]))
    assert f"Đã xóa điều chỉnh lịch ngày {day:%d/%m/%Y}." in page.text

    gone = client.post(remove, {"reason": "lần hai"})
    assert gone.status_code == 404
    assert "không có điều chỉnh lịch nào để xóa" in Page(gone).id("add-day-error").text


def test_only_the_secretariat_may_open_or_change_the_calendar(world: Any, signed_in: Any) -> None:
    day = _working_day(_year())
    services.add_calendar_day(day, CalendarOverride.Kind.DAY_OFF, "Nghỉ", actor=world.secretariat)
    other = _working_day(_year(), after=3)
    remove = reverse("web:calendar-remove", args=[day.isoformat()])
    for user in (world.leader, world.auditor, world.appraiser, world.head_a, world.outsider):
        client = signed_in(user)
        assert client.get(URL).status_code == 403
        data = {"day": f"{other:%d/%m/%Y}", "kind": "day_off", "reason": "x"}
        assert client.post(URL, data).status_code == 403
        assert client.post(remove, {"reason": "x"}).status_code == 403
    assert list(CalendarOverride.objects.values_list("day", flat=True)) == [day]


def test_the_calendar_costs_the_same_for_one_change_or_six(
    world: Any, signed_in: Any, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(world.secretariat)
    services.add_calendar_day(
        _working_day(_year()), CalendarOverride.Kind.DAY_OFF, "1", actor=world.secretariat
    )
    with django_assert_max_num_queries(CALENDAR_PAGE_QUERIES) as one:
        client.get(URL)
    for n in range(1, 6):
        services.add_calendar_day(
            _working_day(_year(), n), CalendarOverride.Kind.DAY_OFF, str(n), actor=world.secretariat
        )
    with django_assert_max_num_queries(CALENDAR_PAGE_QUERIES) as six:
        page = Page(client.get(URL))
    assert len([tr for tr in page.all("tr") if tr.attrs.get("id", "").startswith("day-")]) == 6
    assert len(six) == len(one)


CALENDAR_PAGE_QUERIES = 6
