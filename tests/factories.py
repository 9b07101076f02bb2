"""Builders of test data: personas and the small province most tests start from.

`build_world` makes two departments (A, the unit under test, and B, another unit) in a cycle
whose self-assessment deadline is a week away, with the department framework of the demo
(59 leaves, every scoring method), and one user per role; `open_world` opens its cycle too,
as the `world` fixture hands it to a test.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from django.contrib.auth.models import Group, User
from django.utils import timezone

from cases import frameworks
from cases.models import Case, Cycle, Unit, UnitGroup
from cases.permissions import AUDITOR, LEADER, SECRETARIAT, ensure_role_groups
from deadlines.calendar import local_date
from workflow import council, cycle_services

PASSWORD = "pw-12345-xyz"  # every persona's, for tests that sign in through the login form


def make_user(username: str, *groups: str) -> User:
    user = User.objects.create_user(
        username, f"{username}@example.test", PASSWORD, first_name=username.title()
    )
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


def seat_support_team(cycle: Cycle, users: list[User], *, actor: User) -> None:
    """The cycle's council, formed by a decision of today, with these people on its support
    team (who may appraise any area)."""
    today = local_date(timezone.now())
    council.form_council(cycle.pk, "01/QĐ-HĐTĐ", today, actor=actor)
    for user in users:
        council.add_member(cycle.pk, user.pk, "support", actor=actor)


def build_world(*, framework: str = "khoi_so", deadline_days: int = 7) -> SimpleNamespace:
    """The province with its cycle still a draft (tests of opening it start here)."""
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
    seat_support_team(cycle, [w.appraiser, w.appraiser2], actor=actor)
    for area in ("1", "2", "3", "4"):
        cycle_services.assign_appraiser(cycle, w.appraiser, area, actor=actor)
    for area in ("5", "6", "7", "8", "9"):
        cycle_services.assign_appraiser(cycle, w.appraiser2, area, actor=actor)
    return w


def open_world(*, framework: str = "khoi_so", deadline_days: int = 7) -> SimpleNamespace:
    """`build_world` with its cycle opened: a case for each unit (`case_a`, `case_b`)."""
    w = build_world(framework=framework, deadline_days=deadline_days)
    cycle_services.open_cycle(w.cycle.pk, actor=w.secretariat)
    w.cycle.refresh_from_db()
    w.case_a = Case.objects.get(cycle=w.cycle, unit=w.unit_a)
    w.case_b = Case.objects.get(cycle=w.cycle, unit=w.unit_b)
    return w
