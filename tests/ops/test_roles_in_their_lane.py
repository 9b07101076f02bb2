"""The auditor only reads and the system actor only acts for the clock: neither becomes a
unit's member or an appraiser, by the API, the services or the admin; errors under /api/ that
Django answers itself are JSON."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from cases.errors import InvalidInput
from cases.models import AppraiserAssignment, Membership
from cases.permissions import system_user
from tests.helpers import api
from workflow import cycle_services

# No module-wide django_db mark: the tests that need the database take `world` (and with it
# the database), the others need none, and so the province is built once for the module
# (tests/sharing.py).


def _readers(world: SimpleNamespace) -> list[User]:
    return [world.auditor, system_user()]


def test_the_auditor_and_the_system_actor_cannot_be_assigned_as_appraisers(
    world: SimpleNamespace,
) -> None:
    before = AppraiserAssignment.objects.count()
    for user in _readers(world):
        response = api(world.secretariat).post(
            f"/api/v1/cycles/{world.cycle.pk}/assignments/",
            {"user": user.username, "area_code": "1"},
            format="json",
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 400, response.content
        assert "cannot be a unit's member or an appraiser" in " ".join(response.json()["errors"])
        with pytest.raises(InvalidInput):
            cycle_services.assign_appraiser(world.cycle, user, "2", actor=world.secretariat)
    assert AppraiserAssignment.objects.count() == before


def test_the_auditor_and_the_system_actor_cannot_be_made_members_of_a_unit(
    world: SimpleNamespace,
) -> None:
    before = Membership.objects.count()
    for user in _readers(world):
        with pytest.raises(InvalidInput):
            cycle_services.add_membership(user, world.unit_a, "staff", actor=world.secretariat)
    assert Membership.objects.count() == before


@pytest.mark.parametrize("model", ["membership", "appraiserassignment"])
def test_the_admin_refuses_them_too(world: SimpleNamespace, model: str) -> None:
    admin = User.objects.create_superuser("root", "root@example.test", "pw-12345-xyz")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    before = (Membership.objects.count(), AppraiserAssignment.objects.count())
    data: dict[str, Any] = {"user": world.auditor.pk}
    if model == "membership":
        data |= {"unit": world.unit_a.pk, "role": "staff"}
    else:
        data |= {"cycle": world.cycle.pk, "area_code": "1"}
    response = client.post(f"/admin/cases/{model}/add/", data)
    assert response.status_code == 200  # the form again, with the error
    assert "không thể là thành viên của đơn vị hay thẩm định viên" in response.content.decode()
    assert (Membership.objects.count(), AppraiserAssignment.objects.count()) == before


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v2/", "/api/v1/cases/x/"])
def test_an_unknown_api_address_answers_json(path: str) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "There is nothing at this address.", "errors": []}


def test_an_unknown_page_is_still_a_page(world: SimpleNamespace) -> None:
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
