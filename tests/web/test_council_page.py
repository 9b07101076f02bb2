"""The secretariat records the council in its page: the decision, the people, the areas of
each member department; a refusal is shown beside the form it came from."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from cases.models import AppraiserAssignment, Council, CouncilArea, CouncilMember
from tests.factories import make_user
from tests.web.html import Page
from workflow import council


def _url(world: Any) -> str:
    return reverse("web:council", args=[world.cycle.pk])


def test_the_secretariat_forms_the_council_and_gives_an_area_to_a_department(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    person = make_user("stc.council")
    steps = [
        {"action": "decision", "decision_number": "88/QĐ-UBND", "decision_date": "02/01/2026"},
        {"action": "add_member", "user": "leader", "role": "chair"},
        {"action": "add_member", "user": person.username, "role": "member", "department": "STC"},
        {"action": "add_area", "area": "3", "department": "STC"},
    ]
    for step in steps:
        response = client.post(_url(world), step)
        assert response.status_code == 302, Page(response).text
    assert Council.objects.get(cycle=world.cycle).decision_number == "88/QĐ-UBND"
    assert CouncilMember.objects.get(user=world.leader).role == "chair"
    assert CouncilArea.objects.get(area_code="3").department == world.unit_b
    response = client.post(
        reverse("web:appraisers", args=[world.cycle.pk]), {"user": person.username, "area": "3"}
    )
    assert response.status_code == 302
    assert AppraiserAssignment.objects.filter(user=person, area_code="3").exists()
    page = Page(client.get(_url(world)))
    assert "Sở Tài chính" in page.id("area-3").text and "Stc.Council" in page.id("area-3").text


def test_a_member_without_a_department_is_refused_beside_the_form(
    world: Any, signed_in: Any
) -> None:
    before = CouncilMember.objects.count()
    response = signed_in(world.secretariat).post(
        _url(world), {"action": "add_member", "user": "outsider", "role": "member"}
    )
    assert response.status_code == 400
    page = Page(response)
    assert "đại diện" in page.id("add-member-error").text
    assert page.id("m-user")["value"] == "outsider"
    assert CouncilMember.objects.count() == before


def test_a_remove_button_posting_something_other_than_a_row_id_is_refused_beside_its_form(
    world: Any, signed_in: Any
) -> None:
    council.add_member(world.cycle.pk, "outsider", "member", "STC", actor=world.secretariat)
    council.assign_area(world.cycle.pk, "2", "STC", actor=world.secretariat)
    before = (CouncilMember.objects.count(), CouncilArea.objects.count())
    client = signed_in(world.secretariat)
    for member in ("abc", "", "1.5", "9" * 40):
        response = client.post(_url(world), {"action": "remove_member", "member": member})
        assert response.status_code == 400
        assert "Người này không thuộc Hội đồng" in Page(response).id("remove-member-error").text
    response = client.post(_url(world), {"action": "remove_area", "row": "2 OR 1=1"})
    assert response.status_code == 400
    assert "không được giao" in Page(response).id("remove-area-error").text
    assert (CouncilMember.objects.count(), CouncilArea.objects.count()) == before


def test_only_the_secretariat_opens_the_council_page(world: Any, signed_in: Any) -> None:
    before = CouncilMember.objects.count()
    for user in (world.leader, world.appraiser, world.head_a):
        client = signed_in(user)
        assert client.get(_url(world)).status_code == 403
        response = client.post(
            _url(world), {"action": "add_member", "user": "outsider", "role": "support"}
        )
        assert response.status_code == 403
    assert CouncilMember.objects.count() == before


def test_the_council_page_costs_the_same_for_two_people_or_eight(
    world: Any, signed_in: Any, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(world.secretariat)
    with django_assert_max_num_queries(COUNCIL_PAGE_QUERIES) as two:
        client.get(_url(world))
    for n in range(6):
        person = make_user(f"council{n}")
        council.add_member(world.cycle.pk, person.pk, "member", "STC", actor=world.secretariat)
    council.assign_area(world.cycle.pk, "2", "STC", actor=world.secretariat)
    with django_assert_max_num_queries(COUNCIL_PAGE_QUERIES) as eight:
        page = Page(client.get(_url(world)))
    assert len([tr for tr in page.all("tr") if tr.attrs.get("id", "").startswith("member-")]) == 8
    assert len(eight) == len(two)


COUNCIL_PAGE_QUERIES = 11
