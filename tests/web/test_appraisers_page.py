"""The secretariat assigns the appraisal council's members to areas from a page: through the
assignment service (audited, case permissions synced), refusals beside their row."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from cases import permissions
from cases.models import AppraiserAssignment, Case, Cycle
from tests.factories import make_user
from tests.web.html import Page
from workflow import council, cycle_services
from workflow.models import AuditEntry


def _url(world: Any) -> str:
    return reverse("web:appraisers", args=[world.cycle.pk])


def _assign(client: Client, world: Any, user: Any, area: str) -> Any:
    """A click on the cell (user's row, area's column)."""
    return client.post(_url(world), {"row": user.pk, "user": user.pk, "area": area})


def _areas(world: Any, user: Any) -> set[str]:
    return set(
        AppraiserAssignment.objects.filter(cycle=world.cycle, user=user).values_list(
            "area_code", flat=True
        )
    )


def test_the_table_shows_each_member_and_the_areas_they_appraise(
    world: Any, signed_in: Any
) -> None:
    overview = Page(signed_in(world.secretariat).get(reverse("web:cycle", args=[world.cycle.pk])))
    assert overview.first("a", href=_url(world)).text == "Phân công thẩm định"

    page = Page(signed_in(world.secretariat).get(_url(world)))

    first = page.id(f"ap-{world.appraiser.pk}")
    assert "Appraiser1" in first.text
    cells = [td for td in page.all("td") if "cell-area" in td.attrs.get("class", "")]
    assigned = [td for td in cells if "is-assigned" in td["class"]]
    assert len(cells) == 2 * 9 and len(assigned) == 4 + 5
    assert "1 người thẩm định" in page.id("area-1").text


def test_the_secretariat_assigns_a_member_to_an_area_and_the_case_rights_follow(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)

    response = _assign(client, world, world.appraiser, "5")

    assert response.status_code == 302
    assert response["Location"].endswith(f"{_url(world)}#ap-{world.appraiser.pk}")
    assert _areas(world, world.appraiser) == {"1", "2", "3", "4", "5"}
    entry = AuditEntry.objects.filter(action="cases.assignment.added").latest("pk")
    assert entry.actor == world.secretariat and entry.data == {"user": "appraiser1", "area": "5"}
    page = Page(client.get(response["Location"]))
    assert "Appraiser1 được phân công thẩm định lĩnh vực 5." in page.text


def test_the_secretariat_removes_an_assignment_and_the_rights_go_with_it(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    for area in ("5", "6", "7", "8"):
        cycle_services.delete_assignment(
            world.cycle.pk,
            AppraiserAssignment.objects.get(user=world.appraiser2, area_code=area).pk,
            actor=world.secretariat,
        )
    last = AppraiserAssignment.objects.get(user=world.appraiser2, area_code="9")
    assert permissions.has_case_perm(world.appraiser2, "appraise_case", world.case_a)

    response = client.post(
        reverse("web:unassign", args=[world.cycle.pk, last.pk]), {"row": world.appraiser2.pk}
    )

    assert response.status_code == 302
    assert _areas(world, world.appraiser2) == set()
    assert AuditEntry.objects.filter(action="cases.assignment.removed").count() == 5
    case = Case.objects.get(pk=world.case_a.pk)  # permissions are cached per case object
    assert not permissions.has_case_perm(world.appraiser2, "appraise_case", case)
    page = Page(client.get(response["Location"]))
    assert "Appraiser2 không còn thẩm định lĩnh vực 9." in page.text


def test_a_new_member_is_added_by_user_name(world: Any, signed_in: Any) -> None:
    director = make_user("stp.director")
    council.add_member(world.cycle.pk, director.pk, "support", actor=world.secretariat)
    response = signed_in(world.secretariat).post(_url(world), {"user": "stp.director", "area": "3"})
    assert response.status_code == 302
    assert _areas(world, director) == {"3"}
    page = Page(signed_in(world.secretariat).get(_url(world)))
    assert page.id_or_none(f"ap-{director.pk}") is not None


def test_someone_not_on_the_council_is_refused_beside_the_add_form(
    world: Any, signed_in: Any
) -> None:
    make_user("stp.director")
    before = AuditEntry.objects.count()
    response = signed_in(world.secretariat).post(_url(world), {"user": "stp.director", "area": "3"})
    assert response.status_code == 400
    assert "không thuộc Hội đồng thẩm định" in Page(response).id("add-error").text
    assert AuditEntry.objects.count() == before


def test_an_unknown_user_is_refused_beside_the_add_form_and_nothing_changes(
    world: Any, signed_in: Any
) -> None:
    before = AuditEntry.objects.count()
    response = signed_in(world.secretariat).post(_url(world), {"user": "nobody", "area": "3"})
    assert response.status_code == 400
    page = Page(response)
    error = page.id("add-error").text
    assert "Không thể phân công." in error and "“nobody”" in error
    assert page.id("add-user")["value"] == "nobody"
    assert AppraiserAssignment.objects.count() == 9
    assert AuditEntry.objects.count() == before


def test_after_publication_an_assignment_is_refused_beside_its_row(
    world: Any, signed_in: Any
) -> None:
    Cycle.objects.filter(pk=world.cycle.pk).update(status=Cycle.Status.PUBLISHED)
    client = signed_in(world.secretariat)
    page = Page(client.get(_url(world)))
    assert "không thể thay đổi phân công" in page.text
    assert not page.all("button", type="submit", **{"class": "small-button"})
    before = AuditEntry.objects.count()

    response = _assign(client, world, world.appraiser, "5")

    assert response.status_code == 409
    error = Page(response).id(f"ap-{world.appraiser.pk}-error").text
    assert "Kết quả của đợt đánh giá đã được công bố: không thể thay đổi phân công." in error
    assignment = AppraiserAssignment.objects.get(user=world.appraiser, area_code="1")
    removed = client.post(
        reverse("web:unassign", args=[world.cycle.pk, assignment.pk]), {"row": world.appraiser.pk}
    )
    assert removed.status_code == 409
    assert "không thể thay đổi phân công" in Page(removed).id(f"ap-{world.appraiser.pk}-error").text
    assert _areas(world, world.appraiser) == {"1", "2", "3", "4"}
    assert AuditEntry.objects.count() == before


def test_removing_an_assignment_already_gone_says_so_beside_the_row(
    world: Any, signed_in: Any
) -> None:
    assignment = AppraiserAssignment.objects.get(user=world.appraiser, area_code="1")
    cycle_services.delete_assignment(world.cycle.pk, assignment.pk, actor=world.secretariat)
    response = signed_in(world.secretariat).post(
        reverse("web:unassign", args=[world.cycle.pk, assignment.pk]), {"row": world.appraiser.pk}
    )
    assert response.status_code == 404
    assert (
        "Phân công này không tồn tại." in Page(response).id(f"ap-{world.appraiser.pk}-error").text
    )


def test_a_member_of_a_unit_is_flagged_and_never_appraises_that_units_case(
    world: Any, signed_in: Any
) -> None:
    cycle_services.add_membership(world.appraiser, world.unit_a, "staff", actor=world.secretariat)
    page = Page(signed_in(world.secretariat).get(_url(world)))
    row = page.id(f"ap-{world.appraiser.pk}").text
    assert "Thành viên của STP – Sở Tư pháp: không thẩm định hồ sơ của đơn vị này." in row
    assert "STP" not in page.id(f"ap-{world.appraiser2.pk}").text
    case_a, case_b = Case.objects.get(pk=world.case_a.pk), Case.objects.get(pk=world.case_b.pk)
    assert not permissions.has_case_perm(world.appraiser, "appraise_case", case_a)
    assert permissions.has_case_perm(world.appraiser, "appraise_case", case_b)


def test_only_the_secretariat_may_open_or_change_the_assignments(
    world: Any, signed_in: Any
) -> None:
    assignment = AppraiserAssignment.objects.get(user=world.appraiser, area_code="1")
    remove = reverse("web:unassign", args=[world.cycle.pk, assignment.pk])
    for user in (world.leader, world.auditor, world.appraiser, world.head_a, world.outsider):
        client = signed_in(user)
        assert client.get(_url(world)).status_code == 403
        assert _assign(client, world, user, "5").status_code == 403
        assert client.post(remove).status_code == 403
    assert AppraiserAssignment.objects.count() == 9


def test_the_table_costs_the_same_for_two_members_or_eight(
    world: Any, signed_in: Any, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(world.secretariat)
    with django_assert_max_num_queries(APPRAISERS_PAGE_QUERIES) as two:
        client.get(_url(world))
    for n in range(6):
        member = make_user(f"member{n}")
        cycle_services.add_membership(member, world.unit_b, "staff", actor=world.secretariat)
        council.add_member(world.cycle.pk, member.pk, "support", actor=world.secretariat)
        cycle_services.assign_appraiser(world.cycle, member, str(n + 1), actor=world.secretariat)
    with django_assert_max_num_queries(APPRAISERS_PAGE_QUERIES) as eight:
        page = Page(client.get(_url(world)))
    assert len([tr for tr in page.all("tr") if tr.attrs.get("id", "").startswith("ap-")]) == 8
    assert len(eight) == len(two)


APPRAISERS_PAGE_QUERIES = 9
