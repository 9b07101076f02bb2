from typing import Any

from django.contrib.auth.models import User
from django.core.management import call_command

from cases.models import Case, Criterion, Cycle, Membership, Score, Unit
from workflow.models import AuditEntry


def test_seed_demo_builds_a_province_and_is_idempotent(db: Any) -> None:
    call_command("seed_demo")
    counts = (
        Unit.objects.count(),
        Case.objects.count(),
        Score.objects.count(),
        User.objects.count(),
        AuditEntry.objects.count(),
        Criterion.objects.count(),
    )
    call_command("seed_demo")
    assert (
        Unit.objects.count(),
        Case.objects.count(),
        Score.objects.count(),
        User.objects.count(),
        AuditEntry.objects.count(),
        Criterion.objects.count(),
    ) == counts

    assert Unit.objects.filter(group__code="khoi_so").count() >= 20
    assert Unit.objects.filter(group__code="khoi_xa").exists()
    cycle = Cycle.objects.get()
    assert cycle.status == Cycle.Status.OPEN
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


def test_demo_framework_has_eight_areas_seventy_plus_thirty_points(db: Any) -> None:
    call_command("seed_demo")
    leaves = Criterion.objects.filter(framework__unit_group__code="khoi_so", is_leaf=True)
    survey = sum(c.max_points for c in leaves if c.method == "survey")
    scored = sum(c.max_points for c in leaves if c.method not in ("survey", "bonus", "penalty"))
    assert (scored, survey) == (70, 30)
    areas = Criterion.objects.filter(framework__unit_group__code="khoi_so", depth=0)
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
