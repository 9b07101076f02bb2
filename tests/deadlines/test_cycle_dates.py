"""The dates Sở Nội vụ and the leaders are held to — the survey scores (điều tra xã hội học)
by their date, the appraisal report to the Chair of the appraisal council (by 10/5) and the
publication target — watched like the units' own: reminded before, flagged and told once
after."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from django.test import Client
from django.urls import reverse

from cases.models import Case, Cycle, Score
from deadlines.sweep import (
    KIND_PUBLICATION,
    KIND_PUBLICATION_OVERDUE,
    KIND_REPORT,
    KIND_REPORT_OVERDUE,
    KIND_SURVEY,
    KIND_SURVEY_OVERDUE,
    sweep,
)
from notifications.models import Notification
from tests.deadlines.helpers import at, set_cycle
from tests.helpers import api, force_state
from tests.web.html import Page

PUBLISH_BY = date(2026, 5, 31)
SURVEY_BY = date(2026, 4, 30)


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
    assert cycle["overdue"] == {
        "appraisal_report": True,
        "publication": False,
        "survey": False,
    }
    client = Client()
    client.force_login(dated.secretariat)
    page = Page(client.get(reverse("web:cycle", args=[dated.cycle.pk])))
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
    assert cycle["overdue"] == {
        "appraisal_report": False,
        "publication": True,
        "survey": False,
    }


def test_a_published_cycle_is_not_watched(dated: SimpleNamespace) -> None:
    set_cycle(dated.cycle, status=Cycle.Status.PUBLISHED, publication_target=PUBLISH_BY)

    assert sweep(at(2026, 6, 1, 8)).sent == 0
    cycle = api(dated.leader).get(f"/api/v1/cycles/{dated.cycle.pk}/").json()
    assert cycle["overdue"] == {
        "appraisal_report": False,
        "publication": False,
        "survey": False,
    }


def test_secretariat_is_reminded_of_the_survey_date_then_told_it_is_overdue_once(
    dated: SimpleNamespace,
) -> None:
    set_cycle(dated.cycle, survey_due=SURVEY_BY)
    leaves = Score.objects.survey_of(dated.cycle)
    leaves.filter(case=dated.case_b).update(appraised_score=1)  # one unit's scores are in

    before = sweep(at(2026, 4, 28, 8))
    on_the_day = sweep(at(2026, 4, 30, 8))
    after = sweep(at(2026, 5, 1, 8))
    again = sweep(at(2026, 5, 2, 8))

    assert recipients(KIND_SURVEY) == ["secretariat", "secretariat"]  # T-3, then the day
    assert before.notifications.get(KIND_SURVEY) == 1
    assert on_the_day.notifications.get(KIND_SURVEY) == 1
    note = Notification.objects.filter(kind=KIND_SURVEY).order_by("pk").first()
    assert note is not None and "30/04/2026" in note.text_vi
    assert "1 of 2 units still without survey scores" in note.text_en
    assert note.link == reverse("web:survey", args=[dated.cycle.pk])
    assert recipients(KIND_SURVEY_OVERDUE) == ["secretariat"]
    assert after.notifications.get(KIND_SURVEY_OVERDUE) == 1
    assert again.notifications.get(KIND_SURVEY_OVERDUE) is None
    cycle = api(dated.leader).get(f"/api/v1/cycles/{dated.cycle.pk}/").json()
    assert cycle["overdue"]["survey"] is True
    client = Client()
    client.force_login(dated.secretariat)
    page = Page(client.get(reverse("web:cycle", args=[dated.cycle.pk])))
    assert "30/04/2026" in page.id("survey-overdue").text


def test_survey_scores_imported_in_time_are_neither_reminded_nor_overdue(
    dated: SimpleNamespace,
) -> None:
    set_cycle(dated.cycle, survey_due=SURVEY_BY)
    Score.objects.survey_of(dated.cycle).update(appraised_score=1)

    sweep(at(2026, 4, 28, 8))
    sweep(at(2026, 5, 1, 8))

    assert recipients(KIND_SURVEY) == recipients(KIND_SURVEY_OVERDUE) == []
    cycle = api(dated.secretariat).get(f"/api/v1/cycles/{dated.cycle.pk}/").json()
    assert cycle["overdue"]["survey"] is False
