"""The appraisal council as a record: its decision, people and the areas of each member
department; only its people are assigned, and nobody appraises a unit they represent."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from cases import permissions
from cases.errors import InvalidInput, NotAllowed
from cases.models import (
    NOT_SELF_SCORED,
    AppraiserAssignment,
    Case,
    Council,
    CouncilArea,
    CouncilMember,
    Score,
)
from tests.factories import make_user
from tests.helpers import api, force_state
from workflow import appraisal, council, cycle_services, rules, services
from workflow.models import AuditEntry


def state() -> tuple[Any, ...]:
    return (
        list(Council.objects.values_list("decision_number", "decision_date")),
        sorted(CouncilMember.objects.values_list("user_id", "role", "department_id")),
        sorted(CouncilArea.objects.values_list("area_code", "department_id")),
        sorted(AppraiserAssignment.objects.values_list("user_id", "area_code")),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def member(world: SimpleNamespace) -> Any:
    """A council member for Sở Tư pháp (unit A), which holds area 1."""
    user = make_user("stp.council")
    council.add_member(world.cycle.pk, user.pk, "member", "STP", actor=world.secretariat)
    council.assign_area(world.cycle.pk, "1", "STP", actor=world.secretariat)
    return user


def test_a_member_appraises_the_areas_of_their_department_but_never_its_own_case(
    world: SimpleNamespace, member: Any
) -> None:
    created, _new = cycle_services.create_assignment(
        world.cycle.pk, member.username, "1", actor=world.secretariat
    )
    assert created.area_code == "1"
    assert permissions.has_case_perm(member, "appraise_case", world.case_b)
    member_again = type(member).objects.get(pk=member.pk)  # fresh permission caches
    assert not permissions.has_case_perm(member_again, "view_case", world.case_a)
    entries = AuditEntry.objects.filter(action__startswith="cases.council.").order_by("pk")
    assert [(e.action, e.actor) for e in entries][-2:] == [
        ("cases.council.member_added", world.secretariat),
        ("cases.council.area_assigned", world.secretariat),
    ]


def refused_through_the_api(world: SimpleNamespace, path: str, body: dict[str, Any]) -> Any:
    """The secretariat's POST under the cycle's address, refused: 400, nothing changed."""
    before = state()
    response = api(world.secretariat).post(
        f"/api/v1/cycles/{world.cycle.pk}/{path}", body, format="json"
    )
    assert response.status_code == 400, response.json()
    assert state() == before
    return response


def test_a_member_is_refused_an_area_their_department_does_not_hold(
    world: SimpleNamespace, member: Any
) -> None:
    response = refused_through_the_api(
        world, "assignments/", {"user": member.username, "area_code": "2"}
    )
    assert "Lĩnh vực 2 chưa được giao cho Sở Tư pháp" in " ".join(response.json()["errors"])


def test_someone_not_on_the_council_cannot_be_assigned(world: SimpleNamespace) -> None:
    before = state()
    with pytest.raises(InvalidInput, match="không thuộc Hội đồng thẩm định"):
        cycle_services.assign_appraiser(world.cycle, world.outsider, "1", actor=world.secretariat)
    assert state() == before


def test_the_support_team_may_appraise_any_area(world: SimpleNamespace) -> None:
    assignment, created = cycle_services.create_assignment(
        world.cycle.pk, world.appraiser.username, "7", actor=world.secretariat
    )
    assert created and assignment.user == world.appraiser


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (
            lambda w: council.form_council(w.cycle.pk, "", date(2026, 1, 1), actor=w.secretariat),
            "số",
        ),
        (
            lambda w: council.form_council(
                w.cycle.pk,
                "2/QĐ",
                timezone.localdate() + timedelta(days=3),
                actor=w.secretariat,
            ),
            "tương lai",
        ),
        (
            lambda w: council.add_member(w.cycle.pk, "outsider", "member", actor=w.secretariat),
            "đại diện",
        ),
        (
            lambda w: council.add_member(w.cycle.pk, "outsider", "boss", actor=w.secretariat),
            "vai trò",
        ),
        (
            lambda w: council.add_member(
                w.cycle.pk, "outsider", "member", "KHONGCO", actor=w.secretariat
            ),
            "KHONGCO",
        ),
        (
            lambda w: council.add_member(w.cycle.pk, "appraiser1", "support", actor=w.secretariat),
            "đã thuộc",
        ),
        (
            lambda w: council.add_member(w.cycle.pk, "auditor", "support", actor=w.secretariat),
            "auditor",
        ),
        (lambda w: council.assign_area(w.cycle.pk, "1", "STC", actor=w.secretariat), "STC"),
        (lambda w: council.assign_area(w.cycle.pk, "99", "STC", actor=w.secretariat), "99"),
    ],
)
def test_a_bad_council_change_is_refused_with_the_reason_and_changes_nothing(
    world: SimpleNamespace, call: Any, fragment: str
) -> None:
    before = state()
    with pytest.raises(InvalidInput) as refused:
        call(world)
    assert fragment in " ".join([str(refused.value.message), *map(str, refused.value.errors)])
    assert state() == before


def test_the_council_has_one_chair(world: SimpleNamespace) -> None:
    council.add_member(world.cycle.pk, "leader", "chair", actor=world.secretariat)
    before = state()
    with pytest.raises(InvalidInput) as refused:
        council.add_member(world.cycle.pk, "outsider", "chair", actor=world.secretariat)
    assert "đã có Chủ tịch" in " ".join(map(str, refused.value.errors))
    assert state() == before


def test_people_who_appraise_stay_until_their_assignments_are_removed(
    world: SimpleNamespace, member: Any
) -> None:
    cycle_services.create_assignment(world.cycle.pk, member.pk, "1", actor=world.secretariat)
    seat = CouncilMember.objects.get(user=member)
    row = CouncilArea.objects.get(area_code="1")
    before = state()
    with pytest.raises(InvalidInput, match="lĩnh vực 1"):
        council.remove_member(world.cycle.pk, seat.pk, actor=world.secretariat)
    with pytest.raises(InvalidInput, match="lĩnh vực 1"):
        council.unassign_area(world.cycle.pk, row.pk, actor=world.secretariat)
    assert state() == before


def test_only_the_secretariat_records_the_council(world: SimpleNamespace) -> None:
    before = state()
    for user in (world.leader, world.auditor, world.appraiser, world.head_a):
        with pytest.raises(NotAllowed):
            council.form_council(world.cycle.pk, "9/QĐ", date(2026, 1, 1), actor=user)
        with pytest.raises(NotAllowed):
            council.add_member(world.cycle.pk, "outsider", "support", actor=user)
    assert state() == before


@pytest.mark.parametrize("day", ["31/02/2026", "ngày 5", "", ["05/01/2026"]])
def test_the_secretariat_sending_a_decision_date_that_is_not_one_is_told_and_nothing_changes(
    world: SimpleNamespace, day: Any
) -> None:
    response = refused_through_the_api(
        world, "council/", {"decision_number": "7/QĐ-UBND", "decision_date": day}
    )
    said = " ".join([response.json()["detail"], *response.json().get("errors", [])])
    assert "decision_date" in said or "dd/mm/yyyy" in said


def test_the_council_is_recorded_and_read_through_the_api(world: SimpleNamespace) -> None:
    base = f"/api/v1/cycles/{world.cycle.pk}/council/"
    client = api(world.secretariat)
    response = client.post(
        base, {"decision_number": "7/QĐ-UBND", "decision_date": "05/01/2026"}, format="json"
    )
    assert response.status_code == 200, response.json()
    person = make_user("stc.council")
    response = client.post(
        base + "members/",
        {"user": person.username, "role": "member", "department": "STC"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    member_id = response.json()["id"]
    response = client.post(base + "areas/", {"area": "4", "department": "STC"}, format="json")
    assert response.status_code == 201, response.json()
    body = api(world.auditor).get(base).json()
    assert (body["decision_number"], body["decision_date"]) == ("7/QĐ-UBND", "2026-01-05")
    assert {"user": "stc.council", "role": "member", "department": "STC"}.items() <= next(
        m for m in body["members"] if m["id"] == member_id
    ).items()
    assert body["areas"] == [{"id": body["areas"][0]["id"], "area": "4", "department": "STC"}]
    assert client.delete(f"{base}areas/{body['areas'][0]['id']}/").status_code == 204
    assert client.delete(f"{base}members/{member_id}/").status_code == 204
    assert not CouncilMember.objects.filter(user=person).exists()


def test_a_council_change_through_the_api_by_anyone_else_is_refused_before_its_input(
    world: SimpleNamespace,
) -> None:
    before = state()
    base = f"/api/v1/cycles/{world.cycle.pk}/council/"
    for user in (world.leader, world.auditor, world.appraiser):
        assert api(user).post(base, {}, format="json").status_code == 403
        assert api(user).post(base + "members/", {}, format="json").status_code == 403
    assert api(world.head_a).get(base).status_code == 403
    assert api(world.outsider).post(base, {}, format="json").status_code == 404
    assert state() == before


def test_the_secretariat_sending_an_area_as_an_object_gets_the_field_named(
    world: SimpleNamespace, member: Any
) -> None:
    before = state()
    base = f"/api/v1/cycles/{world.cycle.pk}/council/areas/"
    for body in (
        {"area": {"code": "2"}, "department": "STP"},
        {"area": ["2"], "department": "STP"},
    ):
        response = api(world.secretariat).post(base, body, format="json")
        assert response.status_code == 400
        assert [e.split(":")[0] for e in response.json()["errors"]] == ["area"]
    assert state() == before


def test_a_secretariat_official_representing_a_department_does_not_appraise_its_case(
    world: SimpleNamespace,
) -> None:
    """The secretariat appraises every case, but not the one of a department it speaks for
    on the council: the global role does not lift the conflict of interest."""
    council.add_member(world.cycle.pk, "secretariat", "member", "STP", actor=world.secretariat)
    case_a = force_state(world.case_a, Case.State.APPRAISING)
    force_state(world.case_b, Case.State.APPRAISING)
    leaf = (
        Score.objects.filter(case=case_a)
        .exclude(criterion__method__in=NOT_SELF_SCORED)
        .select_related("criterion")
        .order_by("criterion__position")
        .first()
    )
    assert leaf is not None
    before = (state(), list(Score.objects.filter(case=case_a).values_list("appraised_score")))
    official = type(world.secretariat).objects.get(pk=world.secretariat.pk)

    with pytest.raises(NotAllowed, match="Sở Tư pháp"):
        services.set_appraised_score(
            case_a.pk,
            leaf.criterion.code,
            actor=official,
            change=services.AppraisedScoreChange(appraised_score="0", comment="x"),
        )

    assert (state(), list(Score.objects.filter(case=case_a).values_list("appraised_score"))) == (
        before
    )
    facts = rules.facts_for(official, case_a)
    assert [r.kind for r in rules.appraise(facts)] == [rules.Kind.CONFLICT]
    assert [c.unit.code for c in appraisal.worklist(official, world.cycle)] == ["STC"]
