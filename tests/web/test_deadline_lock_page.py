"""Moving the self-assessment deadline into the past on the cycle's settings page locks the
units still scoring: the page refuses until the secretariat repeats how many cases that is,
and a refused attempt changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone

from cases.models import Case, Cycle
from deadlines.calendar import local_date
from tests.web.html import Page
from workflow.models import AuditEntry


def _form(cycle: Cycle, **changes: str) -> dict[str, str]:
    """The open cycle's editable settings as the page sends them, with the given changes."""
    return {
        "title": cycle.title,
        "self_assessment_due": cycle.self_assessment_due.strftime("%d/%m/%Y"),
        "appraisal_due": cycle.appraisal_due.strftime("%d/%m/%Y"),
        "explanation_window_days": str(cycle.explanation_window_days),
        "reminder_offsets": ", ".join(str(d) for d in cycle.reminder_offsets),
        **({"overdue_reminder": "on"} if cycle.overdue_reminder else {}),
        **({"auto_start_appraisal": "on"} if cycle.auto_start_appraisal else {}),
        **(
            {"explanation_may_replace_evidence": "on"}
            if cycle.explanation_may_replace_evidence
            else {}
        ),
        **changes,
    }


def _state(world: Any) -> tuple[Any, ...]:
    cycle = Cycle.objects.get(pk=world.cycle.pk)
    return (
        cycle.self_assessment_due,
        tuple(Case.objects.filter(cycle=cycle).values_list("state", flat=True)),
        AuditEntry.objects.count(),
    )


def test_secretariat_must_confirm_on_the_page_how_many_cases_a_past_deadline_locks(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    url = reverse("web:cycle-settings", args=[world.cycle.pk])
    yesterday = local_date(timezone.now()) - timedelta(days=1)
    moved = _form(
        world.cycle,
        self_assessment_due=yesterday.strftime("%d/%m/%Y"),
        reason="Theo Kế hoạch sửa đổi",
    )
    before = _state(world)

    refused = client.post(url, moved)
    wrong = client.post(url, {**moved, "confirm_lock": "1"})

    assert (refused.status_code, wrong.status_code) == (400, 400)
    page = Page(refused)
    # Said beside the confirmation it asks for, and read out with that field.
    error = page.id("c-confirm-error")
    beside = error.text
    assert "2 hồ sơ" in beside and yesterday.strftime("%d/%m/%Y") in beside
    assert "xác nhận" in beside
    field = page.id("c-confirm")
    assert field["aria-describedby"] == "c-confirm-error"
    assert field["aria-invalid"] == "true"
    top = page.first("div", **{"class": "row-errors"})
    assert "2 hồ sơ" not in top.text
    # The groups, shown but not sent by an open cycle's form, are still the cycle's own.
    bands = [page.first("input", name=f"band_{k}_0") for k in ("group", "min")]
    assert [b["value"] for b in bands] == ["A", "90"]
    assert _state(world) == before
    confirmed = client.post(url, {**moved, "confirm_lock": "2"})
    assert confirmed.status_code == 302
    assert Cycle.objects.get(pk=world.cycle.pk).self_assessment_due == yesterday
