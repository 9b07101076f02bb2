"""The query that reads a case answers "may this user see it, do this to it, is it their own
unit's, do they speak for it on the council" in SQL of its own (`cases.permissions`): each
answer agrees with the check that asks the same question separately, for every kind of
holder — a role, a permission given to the person directly, an object permission, a unit
membership, a council seat, the superuser, nobody."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.contrib.auth.models import Permission

from cases import permissions
from cases.models import Case, CaseUserObjectPermission
from cases.users import User
from tests.factories import make_user
from web.shortcuts import case_page
from workflow import council

CODES = ("view_case", "edit_self_score", "appraise_case", "finalise_case", "view_audit")


def _people(world: SimpleNamespace) -> list[User]:
    direct = make_user("direct.grant")
    direct.user_permissions.add(Permission.objects.get(codename="finalise_case"))
    seated = make_user("stp.council")
    council.add_member(world.cycle.pk, seated.pk, "member", "STP", actor=world.secretariat)
    root = make_user("root")
    root.is_superuser = True
    root.save()
    return [
        world.secretariat,
        world.leader,
        world.auditor,
        world.outsider,
        world.staff_a,
        world.head_a,
        world.head_b,
        world.appraiser,
        direct,
        seated,
        root,
    ]


def test_each_answer_read_with_the_case_agrees_with_the_separate_check(
    world: SimpleNamespace,
) -> None:
    checked: dict[str, set[bool]] = {}
    for person in _people(world):
        for case in (world.case_a, world.case_b):
            for code in CODES:
                asking = User.objects.get(pk=person.pk)  # nothing known about them yet
                _wanted, annotations = permissions._decision_annotations(asking, code)
                row: Any = Case.objects.annotate(**annotations).get(pk=case.pk)
                fresh = User.objects.get(pk=person.pk)
                held_on_case = CaseUserObjectPermission.objects.filter(
                    user=fresh, content_object=case, permission__codename=code
                ).exists()
                expected = {
                    f"_may_{code}": held_on_case,
                    f"_global_{code}": code in permissions.global_case_perms(fresh),
                    "_own_unit": case.unit_id in permissions.member_unit_ids(fresh),
                    "_represents": permissions.represents(fresh, Case.objects.get(pk=case.pk)),
                }
                for name, value in expected.items():
                    answer = getattr(row, name)
                    assert answer is value, (person.username, case.unit.code, name, answer)
                    checked.setdefault(name.replace(code, "code"), set()).add(value)
    # Every answer was seen both ways: the people above exercise each rule.
    assert all(seen == {True, False} for seen in checked.values()), checked


def test_a_page_reads_every_permission_with_the_case_as_the_separate_read_finds_them(
    world: SimpleNamespace, django_assert_num_queries: Any
) -> None:
    """The score sheet's rules ask every permission the user holds on the case: read with the
    case (`every`), they are the ones `case_perms` reads on its own, for every kind of holder,
    and asking them then costs no query."""
    for person in _people(world):
        for case in (world.case_a, world.case_b):
            fresh = User.objects.get(pk=person.pk)
            separate = permissions.case_perms(fresh, Case.objects.get(pk=case.pk))
            held_globally = permissions.global_case_perms(fresh)
            asking = User.objects.get(pk=person.pk)  # nothing known about them yet
            try:
                with django_assert_num_queries(1):
                    read = permissions.get_case_for_user(
                        asking, case.pk, queryset=case_page, every=True
                    )
            except permissions.NotFound:
                assert "view_case" not in separate, (person.username, case.unit.code)
                continue
            with django_assert_num_queries(0):
                assert permissions.case_perms(asking, read) == separate
                assert permissions.global_case_perms(asking) == held_globally
