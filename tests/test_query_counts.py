"""Lists and the case detail stay at a fixed number of queries whatever their size."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.utils import timezone

from bench.common import manual_framework
from cases import frameworks
from cases.models import Cycle, Unit, UnitGroup
from cases.permissions import SECRETARIAT, ensure_role_groups
from tests.helpers import api
from workflow import cycle_services

MAX_LIST_QUERIES = 5
# Measured with the user loaded afresh, as a request loads it: the global permissions (one
# query), then the case, its framework, totals, areas, object permissions, extensions,
# scores and questions. (8 was measured on the set-up's user, whose cached permissions
# hid the query.)
MAX_DETAIL_QUERIES = 9


def _province(units: int, leaves: int) -> tuple[User, Cycle]:
    ensure_role_groups()
    secretariat = User.objects.create_user("secretariat")
    secretariat.groups.add(Group.objects.get(name=SECRETARIAT))
    group = UnitGroup.objects.create(code="khoi_so", name="Khối sở")
    Unit.objects.bulk_create(
        [Unit(code=f"U{i:03}", name=f"Đơn vị {i}", group=group) for i in range(units)]
    )
    today = timezone.localdate()
    cycle = Cycle.objects.create(
        year=2026,
        title="T",
        authority="A",
        self_assessment_due=today,
        appraisal_due=today.replace(year=2027),
    )
    frameworks.load(manual_framework(leaves), cycle=cycle, unit_group=group)
    cycle_services.open_cycle(cycle.pk, actor=secretariat)
    return secretariat, cycle


def test_the_case_list_costs_the_same_for_3_or_40_cases(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    secretariat, _cycle = _province(40, 8)
    client = api(secretariat)
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = client.get("/api/v1/cases/?unit=U001")
    assert len(response.json()) == 1
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = client.get("/api/v1/cases/")
    assert len(response.json()) == 40


def test_the_case_detail_with_100_criteria_costs_a_fixed_number_of_queries(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    secretariat, cycle = _province(2, 100)
    case = cycle.cases.first()
    # A request's user is loaded afresh: the set-up's user carries permissions it cached.
    secretariat = User.objects.get(pk=secretariat.pk)
    with django_assert_max_num_queries(MAX_DETAIL_QUERIES):
        response = api(secretariat).get(f"/api/v1/cases/{case.pk}/")
    assert len(response.json()["scores"]) == 100
