"""The demo a newcomer opens: the province, two published years (last year's ranks changing
against the year before), this year under way, an audit trail that verifies, no e-mail sent."""

from collections.abc import Iterator
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse

from cases.models import (
    Appraisal,
    Case,
    Criterion,
    Cycle,
    Membership,
    PublishedResult,
    Score,
    Unit,
)
from cases.scoring import appraisal_needs_reason
from notifications.models import Delivery
from ops import demo
from results.ranking import compute_results, snapshot_rows
from tests.helpers import built_once
from workflow import audit, services
from workflow.models import AuditEntry, Clarification

pytestmark = pytest.mark.django_db
THIS_YEAR = date.today().year


def _counts() -> tuple[int, ...]:
    return (
        Unit.objects.count(),
        Cycle.objects.count(),
        Case.objects.count(),
        Score.objects.count(),
        User.objects.count(),
        AuditEntry.objects.count(),
        Criterion.objects.count(),
        PublishedResult.objects.count(),
    )


@pytest.fixture(scope="module")
def seeded(django_db_setup: Any, django_db_blocker: Any) -> Iterator[SimpleNamespace]:
    def build() -> SimpleNamespace:
        call_command("seed_demo")
        return SimpleNamespace(counts=_counts())

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield from built_once(django_db_blocker, build)


def _cycle(year: int) -> Cycle:
    return Cycle.objects.get(year=year, authority=demo.AUTHORITY)


def test_seed_demo_builds_a_province_and_is_idempotent(seeded: SimpleNamespace) -> None:
    call_command("seed_demo")
    assert _counts() == seeded.counts

    assert Unit.objects.filter(group__code="khoi_so").count() >= 20
    assert Unit.objects.filter(group__code="khoi_xa").exists()
    assert _cycle(THIS_YEAR).status == Cycle.Status.OPEN
    for name in (
        "secretariat",
        "leader",
        "auditor",
        "appraiser1",
        "appraiser2",
        "snv.staff",
        "snv.head",
        "xanlac.head",
    ):
        assert User.objects.get(username=name).check_password("demo12345"), name
    assert Membership.objects.filter(unit__code="SNV", role="head").exists()


def test_demo_framework_has_eight_areas_seventy_plus_thirty_points(seeded: Any) -> None:
    cycle = _cycle(THIS_YEAR)
    leaves = Criterion.objects.filter(
        framework__cycle=cycle, framework__unit_group__code="khoi_so", is_leaf=True
    )
    survey = sum(c.max_points for c in leaves if c.method == "survey")
    scored = sum(c.max_points for c in leaves if c.method not in ("survey", "bonus", "penalty"))
    assert (scored, survey) == (70, 30)
    areas = Criterion.objects.filter(
        framework__cycle=cycle, framework__unit_group__code="khoi_so", depth=0
    )
    assert areas.count() == 9  # eight areas and the capped bonus/penalty content
    assert {c.method for c in leaves} == {
        "manual",
        "yes_no",
        "graded",
        "percentage_threshold",
        "deduction",
        "survey",
        "bonus",
        "penalty",
    }


def test_the_two_past_years_are_published_with_every_unit_ranked_in_a_group(seeded: Any) -> None:
    units = Unit.objects.filter(is_active=True).count()
    for year in (THIS_YEAR - 2, THIS_YEAR - 1):
        cycle = _cycle(year)
        assert cycle.status == Cycle.Status.PUBLISHED and cycle.decision_number
        published = PublishedResult.objects.filter(cycle=cycle)
        assert published.count() == units
        assert not published.filter(rank__isnull=True).exists()
        assert set(published.values_list("group_code", flat=True)) == {"khoi_so", "khoi_xa"}
        assert set(published.values_list("classification", flat=True)) <= {"A", "B", "C", "D"}
        assert published.filter(rank=1).count() >= 2  # a first in each group
        # What was frozen at publication is what the ranking computes from the score rows.
        fresh = {
            (r.unit_id, r.rank, r.index, r.classification)
            for r in snapshot_rows(compute_results(cycle))
        }
        assert {(r.unit_id, r.rank, r.index, r.classification) for r in published} == fresh
    last = PublishedResult.objects.filter(cycle=_cycle(THIS_YEAR - 1))
    assert not last.filter(previous_rank__isnull=True).exists()
    assert any(r.previous_rank != r.rank for r in last)


def test_the_bulk_self_scores_are_what_the_service_writes_for_the_same_answers(seeded: Any) -> None:
    case = Case.objects.select_related("unit", "cycle").get(
        cycle=_cycle(THIS_YEAR), unit__code="SCT"
    )
    staff = User.objects.get(username="sct.staff")

    def written() -> tuple[list[tuple[Any, ...]], list[Any]]:
        rows = Score.objects.filter(case=case).order_by("criterion__position")
        fields = ("criterion__code", "self_score", "value", "evidence_explanation", "version")
        entries = AuditEntry.objects.filter(case=case, action=audit.SCORE_SELF).order_by("seq")
        return list(rows.values_list(*fields)), [(e.actor_id, e.before, e.after) for e in entries]

    with transaction.atomic():
        demo._self_assess_in_bulk(Case.objects.get(pk=case.pk), staff)
        bulk = written()
        transaction.set_rollback(True)
    for code, change in demo._answers(case).items():
        services.set_self_score(case.pk, code, actor=staff, change=change)
    assert bulk == written()
    assert len(bulk[1]) == len(demo._answers(case)) > 40


def test_the_past_appraisals_agree_or_give_their_reason_round_by_round(seeded: Any) -> None:
    rows = Score.objects.filter(case__cycle=_cycle(THIS_YEAR - 1), appraised_round__isnull=False)
    rows = rows.exclude(criterion__method__in=["survey", "bonus", "penalty"])
    assert rows.count() > 1000
    disagreements = 0
    for score in rows:
        if appraisal_needs_reason(score.appraised_score, score.self_score):
            assert score.appraised_comment, score
            disagreements += 1
    assert disagreements > 0
    assert Appraisal.objects.filter(score__in=rows).count() == rows.count()
    assert (
        AuditEntry.objects.filter(
            case__cycle=_cycle(THIS_YEAR - 1), action=audit.SCORE_APPRAISED
        ).count()
        == rows.count()
    )


def test_this_year_has_units_submitted_and_one_answering_an_open_question(seeded: Any) -> None:
    cases = Case.objects.filter(cycle=_cycle(THIS_YEAR))
    submitted = cases.filter(state=Case.State.SUBMITTED)
    assert set(submitted.values_list("unit__code", flat=True)) == set(demo.SUBMITTED)
    explaining = cases.get(state=Case.State.EXPLANATION)
    assert explaining.unit.code == demo.IN_EXPLANATION
    question = Clarification.objects.get(case=explaining, status=Clarification.Status.OPEN)
    assert question.criterion.code == demo.QUESTION[0]
    assert cases.filter(state=Case.State.SELF_SCORING).count() == cases.count() - 5


def test_rank_changes_and_the_years_side_by_side_are_on_the_public_pages(seeded: Any) -> None:
    last = _cycle(THIS_YEAR - 1)
    page = Client().get(reverse("web:results", args=[last.pk])).content.decode()
    assert "rank-up" in page and "rank-down" in page
    assert _cycle(THIS_YEAR - 2).title in page  # "rank change against …"
    years = Client().get(reverse("web:years")).content.decode()
    unit = Client().get(reverse("web:unit-years", args=["SNV"])).content.decode()
    for year in (THIS_YEAR - 2, THIS_YEAR - 1):
        assert f">{year}</th>" in years and f">{year}</th>" in unit


def test_the_audit_trail_verifies_and_no_e_mail_went_out(seeded: Any) -> None:
    result = audit.verify()
    assert result.problem == "" and result.checked > 5000
    emails = Delivery.objects.filter(channel=Delivery.Channel.EMAIL)
    assert emails.exists() and not emails.exclude(status=Delivery.Status.SKIPPED).exists()
