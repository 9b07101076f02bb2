"""Personas and a small province for the tests.

`world` builds two departments (A, the unit under test, and B, another unit) in a cycle
whose self-assessment deadline is a week away, with the department framework of the demo
(59 leaves, every scoring method), and one user per role.
"""

from __future__ import annotations

import os
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from cases import frameworks
from cases.models import Case, Cycle, Method, Score, Unit, UnitGroup
from cases.permissions import AUDITOR, LEADER, SECRETARIAT, ensure_role_groups
from deadlines.calendar import local_date
from workflow import cycle_services

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    raise pytest.UsageError("The tests run on PostgreSQL: start them with `make test`.")


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str, *groups: str) -> User:
    user = User.objects.create_user(
        username, f"{username}@example.test", "pw-12345-xyz", first_name=username.title()
    )
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


def build_world(*, framework: str = "khoi_so", deadline_days: int = 7) -> SimpleNamespace:
    ensure_role_groups()
    today = local_date(timezone.now())
    group = UnitGroup.objects.create(code="khoi_so", name="Khối sở")
    unit_a = Unit.objects.create(code="STP", name="Sở Tư pháp", group=group)
    unit_b = Unit.objects.create(code="STC", name="Sở Tài chính", group=group)
    cycle = Cycle.objects.create(
        year=today.year,
        title=f"Chỉ số CCHC {today.year}",
        authority="UBND tỉnh Thử nghiệm",
        self_assessment_due=today + timedelta(days=deadline_days),
        appraisal_due=today + timedelta(days=60),
    )
    frameworks.load_builtin(framework, cycle=cycle, unit_group=group)
    w = SimpleNamespace(cycle=cycle, unit_a=unit_a, unit_b=unit_b, group=group)
    w.secretariat = make_user("secretariat", SECRETARIAT)
    w.leader = make_user("leader", LEADER)
    w.auditor = make_user("auditor", AUDITOR)
    w.outsider = make_user("outsider")
    w.staff_a, w.head_a = make_user("stp.staff"), make_user("stp.head")
    w.staff_b, w.head_b = make_user("stc.staff"), make_user("stc.head")
    w.appraiser = make_user("appraiser1")
    w.appraiser2 = make_user("appraiser2")
    actor = w.secretariat
    for user, unit, role in (
        (w.staff_a, unit_a, "staff"),
        (w.head_a, unit_a, "head"),
        (w.staff_b, unit_b, "staff"),
        (w.head_b, unit_b, "head"),
    ):
        cycle_services.add_membership(user, unit, role, actor=actor)
    for area in ("1", "2", "3", "4"):
        cycle_services.assign_appraiser(cycle, w.appraiser, area, actor=actor)
    for area in ("5", "6", "7", "8", "9"):
        cycle_services.assign_appraiser(cycle, w.appraiser2, area, actor=actor)
    return w


@pytest.fixture
def world(db: Any, django_capture_on_commit_callbacks: Any) -> SimpleNamespace:
    w = build_world()
    cycle_services.open_cycle(w.cycle.pk, actor=w.secretariat)
    w.cycle.refresh_from_db()
    w.case_a = Case.objects.get(cycle=w.cycle, unit=w.unit_a)
    w.case_b = Case.objects.get(cycle=w.cycle, unit=w.unit_b)
    return w


def api(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def self_scorable(case: Case) -> Any:
    return Score.objects.filter(case=case).exclude(
        criterion__method__in=[Method.SURVEY, Method.BONUS, Method.PENALTY]
    )


def fill_self_scores(case: Case, points: int = 0, *, explain_evidence: bool = True) -> None:
    """Test set-up shortcut: every self-scorable leaf gets a valid score (0 fits every method).

    Leaves that require evidence also get a written explanation of how the score was reached,
    which the submit guard accepts instead of a file (pass explain_evidence=False to test it).
    """
    self_scorable(case).update(self_score=points)
    if explain_evidence:
        self_scorable(case).filter(criterion__evidence_required=True).update(
            evidence_explanation="Số liệu theo báo cáo CCHC năm của đơn vị."
        )


def import_survey_scores(cycle: Cycle, points: int = 0) -> None:
    """Test set-up shortcut: the survey part as if imported (tests/results tests the import)."""
    Score.objects.filter(case__cycle=cycle, criterion__method=Method.SURVEY).update(
        appraised_score=points
    )


def appraise_all(case: Case, by: User) -> None:
    self_scorable(case).update(
        appraised_score=0, appraised_round=1, appraised_by=by, appraised_at=timezone.now()
    )


def force_state(case: Case, state: str) -> Case:
    """Test set-up shortcut: put a case in a state without running the transitions."""
    Case.objects.filter(pk=case.pk).update(state=state)
    return Case.objects.get(pk=case.pk)
