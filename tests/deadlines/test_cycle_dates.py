"""The dates Sở Nội vụ and the leaders are held to — the appraisal report to the Chair of the
appraisal council (by 10/5) and the publication target — watched like the units' own:
reminded before, flagged and told once after."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from django.test import Client
from django.urls import reverse

from cases.models import Case, Cycle
from deadlines.sweep import (
    KIND_PUBLICATION,
    KIND_PUBLICATION_OVERDUE,
    KIND_REPORT,
    KIND_REPORT_OVERDUE,
    sweep,
)
from notifications.models import Notification
from tests.deadlines.helpers import at, set_cycle
from tests.helpers import api, force_state
from tests.web.html import Page

PUBLISH_BY = date(2026, 5, 31)


def recipients(kind: str) -> list[str]:
    return sorted(
        Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True)
    )


def test_secretariat_is_reminded_of_the_appraisal_report_date_once(
    dated: SimpleNamespace,
) -> None:
    force_state(dated.case_b, Case.State.FINALISED)

    first = sweep(at(2026, 5, 7, 8))
    again = sweep(at(2026, 5, 7, 9))

    assert recipients(KIND_REPORT) == ["secretariat"]
    assert first.notifications.get(KIND_REPORT) == 1 and again.sent == 0
    note = Notification.objects.get(kind=KIND_REPORT)
    assert "10/05/2026" in note.text_vi and "1 of 2 cases finalised" in note.text_en
    assert "Chủ tịch Hội đồng thẩm định" in note.text_vi
    assert note.link == reverse("web:cycle", args=[dated.cycle.pk])


def test_an_overdue_appraisal_report_is_flagged_and_told_to_secretariat_and_leader_once(
    dated: SimpleNamespace,
) -> None:
    sweep(at(2026, 5, 11, 8))
    sweep(at(2026, 5, 12, 8))

    assert recipients(KIND_REPORT_OVERDUE) == ["leader", "secretariat"]
    assert recipients(KIND_REPORT) == []  # once the date passed only the overdue notice
    cycle = api(dated.leader).get(f"/api/v1/cycles/{dated.cycle.pk}/").json()
    assert cycle["overdue"] == {"appraisal_report": True, "publication": False}
    client = Client()
    client.force_login(dated.secretariat)
    page = Page(client.get(reverse("web:cycle", args=[dated.cycle.pk])))
    assert page.id("report-overdue") is not None
    assert "10/05/2026" in page.id("report-overdue").text


def test_results_sent_for_approval_are_no_longer_overdue(dated: SimpleNamespace) -> None:
    set_cycle(dated.cycle, status=Cycle.Status.RESULTS_SUBMITTED)

    report = sweep(at(2026, 5, 11, 8))

    assert report.sent == 0
    cycle = api(dated.secretariat).get(f"/api/v1/cycles/{dated.cycle.pk}/").json()
    assert cycle["overdue"]["appraisal_report"] is False


def test_the_publication_target_is_reminded_then_told_overdue_once(
    dated: SimpleNamespace,
) -> None:
    set_cycle(dated.cycle, status=Cycle.Status.RESULTS_SUBMITTED, publication_target=PUBLISH_BY)

    before = sweep(at(2026, 5, 28, 8))
    after = sweep(at(2026, 6, 1, 8))
    again = sweep(at(2026, 6, 2, 8))

    assert recipients(KIND_PUBLICATION) == ["leader", "secretariat"]
    assert before.notifications == {KIND_PUBLICATION: 2}
    assert recipients(KIND_PUBLICATION_OVERDUE) == ["leader", "secretariat"]
    assert after.notifications == {KIND_PUBLICATION_OVERDUE: 2} and again.sent == 0
    note = Notification.objects.filter(kind=KIND_PUBLICATION_OVERDUE).first()
    assert note is not None and "31/05/2026" in note.text_vi
    cycle = api(dated.leader).get(f"/api/v1/cycles/{dated.cycle.pk}/").json()
    assert cycle["overdue"] == {"appraisal_report": False, "publication": True}


def test_a_published_cycle_is_not_watched(dated: SimpleNamespace) -> None:
    set_cycle(dated.cycle, status=Cycle.Status.PUBLISHED, publication_target=PUBLISH_BY)

    assert sweep(at(2026, 6, 1, 8)).sent == 0
    cycle = api(dated.leader).get(f"/api/v1/cycles/{dated.cycle.pk}/").json()
    assert cycle["overdue"] == {"appraisal_report": False, "publication": False}
