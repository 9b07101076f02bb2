"""Deadlines on the pages: time left, the secretariat's extension, who counts as late."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from cases.models import Cycle
from deadlines.calendar import local_date
from deadlines.models import Extension
from tests.web.html import Page


def _move_cycle_deadline(world: Any, days: int) -> None:
    Cycle.objects.filter(pk=world.cycle.pk).update(
        self_assessment_due=local_date(timezone.now()) + timedelta(days=days)
    )


def test_the_secretariat_extends_a_units_deadline_and_the_unit_sees_the_new_date(
    world: Any, signed_in: Any
) -> None:
    _move_cycle_deadline(world, -2)
    new_day = local_date(timezone.now()) + timedelta(days=5)
    secretariat = signed_in(world.secretariat)
    response = secretariat.post(
        reverse("web:extend", args=[world.case_a.pk]),
        {
            "kind": "self_assessment",
            "due_date": new_day.strftime("%d/%m/%Y"),
            "reason": "Đơn vị sáp nhập",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("#deadlines")
    assert Extension.objects.get(case=world.case_a).due_date == new_day
    page = Page(signed_in(world.staff_a).get(reverse("web:case", args=[world.case_a.pk])))
    deadlines = page.id("deadlines").text
    assert new_day.strftime("%d/%m/%Y") in deadlines
    assert "còn 5 ngày" in deadlines
    assert "Đơn vị sáp nhập" in deadlines
    assert page.first_or_none("form", **{"class": "score-form"}) is not None  # editable again


def test_a_refused_extension_shows_its_errors_beside_the_fields(world: Any, signed_in: Any) -> None:
    secretariat = signed_in(world.secretariat)
    url = reverse("web:extend", args=[world.case_a.pk])
    missing = Page(secretariat.post(url, {"kind": "self_assessment", "due_date": "", "reason": ""}))
    assert missing.id("ext-date-error").text == "Hãy nhập thời hạn mới."
    assert "lý do" in missing.id("ext-reason-error").text
    earlier = local_date(timezone.now()) + timedelta(days=1)
    refused = secretariat.post(
        url,
        {"kind": "self_assessment", "due_date": earlier.strftime("%d/%m/%Y"), "reason": "x"},
    )
    assert refused.status_code == 400
    assert "phải sau" in Page(refused).text or "muộn hơn" in Page(refused).text
    assert not Extension.objects.exists()


def test_only_the_secretariat_may_extend(world: Any, signed_in: Any) -> None:
    day = (local_date(timezone.now()) + timedelta(days=20)).strftime("%d/%m/%Y")
    response = signed_in(world.head_a).post(
        reverse("web:extend", args=[world.case_a.pk]),
        {"kind": "self_assessment", "due_date": day, "reason": "Xin thêm thời gian"},
    )
    assert response.status_code == 403
    assert not Extension.objects.exists()
    page = Page(signed_in(world.head_a).get(reverse("web:case", args=[world.case_a.pk])))
    assert page.id_or_none("ext-date") is None


def test_a_unit_head_posting_a_bad_extension_is_refused_before_the_form_is_read(
    world: Any, signed_in: Any
) -> None:
    response = signed_in(world.head_a).post(
        reverse("web:extend", args=[world.case_a.pk]),
        {"kind": "self_assessment", "due_date": "", "reason": ""},
    )
    assert response.status_code == 403
    assert "Hãy nhập thời hạn mới." not in response.content.decode()
    assert not Extension.objects.exists()


def test_a_unit_with_an_extension_is_not_counted_late(world: Any, signed_in: Any) -> None:
    _move_cycle_deadline(world, -2)
    Extension.objects.create(
        case=world.case_a,
        kind="self_assessment",
        previous_due=local_date(timezone.now()) - timedelta(days=2),
        due_date=local_date(timezone.now()) + timedelta(days=3),
        reason="Sáp nhập",
        granted_by=world.secretariat,
    )
    page = Page(signed_in(world.secretariat).get(reverse("web:cycle", args=[world.cycle.pk])))
    late = page.text.split("Trễ hạn", 1)[1].split("Xem tổng quan", 1)[0]
    assert "STC – Sở Tài chính" in late
    assert "STP – Sở Tư pháp" not in late
    row = next(r.text for r in page.all("tr") if "STP – Sở Tư pháp" in r.text)
    assert "đã gia hạn" in row
