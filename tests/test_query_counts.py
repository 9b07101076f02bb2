"""Lists, the case detail and a score save stay at a fixed number of queries whatever their
size."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bench.common import manual_framework
from cases import frameworks
from cases.models import Case, Cycle, Score, Unit, UnitGroup
from cases.permissions import SECRETARIAT, ensure_role_groups
from tests.helpers import api
from tests.web.province import province
from workflow import cycle_services
from workflow.models import AuditEntry

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
    assert case is not None
    # A request's user is loaded afresh: the set-up's user carries permissions it cached.
    secretariat = User.objects.get(pk=secretariat.pk)
    with django_assert_max_num_queries(MAX_DETAIL_QUERIES):
        response = api(secretariat).get(f"/api/v1/cases/{case.pk}/")
    assert len(response.json()["scores"]) == 100


# A unit's score save through the API, as the day of the deadline is made of: the token
# and its user, then BEGIN, the case locked with the user's permissions on it, the score row
# locked with its criterion, the UPDATE with the audit INSERT (one statement), COMMIT.
SAVE_QUERIES = 6


def _signed_in(head: User) -> APIClient:
    """The head's API client, signed in with a token as an integration or app is."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=head).key}")
    return client


def _save(client: APIClient, case: Case, code: str, points: int) -> Any:
    return client.put(
        f"/api/v1/cases/{case.pk}/scores/{code}/",
        {"self_score": points, "note": f"Ghi chú {code}"},
        format="json",
    )


def test_a_score_save_costs_the_same_for_8_or_100_criteria(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    w = province(small=(2, 8), big=(2, 100))
    counts = []
    for head, case, code in ((w.small_head, w.small_case, "1.2"), (w.big_head, w.big_case, "4.25")):
        entries = AuditEntry.objects.filter(case=case).count()
        client = _signed_in(head)
        with (
            django_assert_max_num_queries(SAVE_QUERIES),
            CaptureQueriesContext(connection) as captured,
        ):
            response = _save(client, case, code, 1)
        assert response.status_code == 200, response.content
        assert response.json()["criterion"] == code
        assert response.json()["area"] == code.split(".")[0]
        assert response.json()["self_score"] == "1.00"
        assert response.json()["version"] == 1
        assert AuditEntry.objects.filter(case=case).count() == entries + 1
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_a_save_naming_a_heading_or_another_sets_criterion_changes_nothing(db: Any) -> None:
    w = province(small=(2, 8), big=(2, 100))
    entries = AuditEntry.objects.count()
    client = _signed_in(w.small_head)
    # 4.25 is a leaf of the big set only; 4 is a heading of both.
    for code in ("4.25", "4"):
        response = _save(client, w.small_case, code, 1)
        assert response.status_code == 400
        assert code in response.json()["detail"]
    assert AuditEntry.objects.count() == entries
    assert not Score.objects.filter(case=w.small_case, self_score__isnull=False).exists()
