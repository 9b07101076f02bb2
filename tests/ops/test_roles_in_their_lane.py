"""The auditor only reads and the system actor only acts for the clock: neither becomes a
unit's member or an appraiser, by the API, the services or the admin; errors under /api/ that
Django answers itself are JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.utils import translation

from cases import permissions
from cases.errors import InvalidInput
from cases.models import AppraiserAssignment, Membership
from cases.permissions import system_user
from ops import errors, unavailable
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


def _account_form(client: Client, user: User) -> dict[str, Any]:
    """The admin's account form for `user`, as it would be sent back unchanged."""
    form = client.get(f"/admin/auth/user/{user.pk}/change/").context["adminform"].form
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, datetime):
            data |= {f"{name}_0": value.date().isoformat(), f"{name}_1": value.strftime("%H:%M:%S")}
        elif isinstance(value, list):
            data[name] = [v.pk if hasattr(v, "pk") else v for v in value]
        elif value is not None and name != "password":
            data[name] = value
    return data


@pytest.mark.parametrize(
    ("who", "change"),
    [
        ("auditor", {"groups": ["auditor", "secretariat"]}),
        ("auditor", {"groups": ["auditor"], "permission": "cases.change_cycle"}),
        ("system", {"groups": ["system", "leader"]}),
    ],
)
def test_a_superuser_cannot_give_the_auditor_or_the_system_actor_a_writing_role(
    world: SimpleNamespace, who: str, change: dict[str, Any]
) -> None:
    account = world.auditor if who == "auditor" else system_user()
    admin = User.objects.create_superuser("root", "root@example.test", "pw-12345-xyz")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    before = (
        sorted(account.groups.values_list("name", flat=True)),
        list(account.user_permissions.all()),
    )
    data = _account_form(client, account)
    data["groups"] = list(
        Group.objects.filter(name__in=change["groups"]).values_list("pk", flat=True)
    )
    if "permission" in change:
        app, codename = change["permission"].split(".")
        data["user_permissions"] = [
            Permission.objects.get(content_type__app_label=app, codename=codename).pk
        ]
    response = client.post(f"/admin/auth/user/{account.pk}/change/", data)
    assert response.status_code == 200  # the form again, with the refusal
    refusal = permissions.role_refusal(
        account.username,
        change["groups"],
        direct_perms="permission" in change,
        memberships=False,
    )
    assert refusal and response.context["adminform"].form.non_field_errors() == [refusal]
    assert (
        sorted(account.groups.values_list("name", flat=True)),
        list(account.user_permissions.all()),
    ) == before


def test_the_refusal_says_in_vietnamese_what_the_auditor_is() -> None:
    with translation.override("vi"):
        said = permissions.role_refusal(
            "auditor", ["auditor", "secretariat"], direct_perms=False, memberships=False
        )
    assert said.startswith("Thanh tra, kiểm tra chỉ được xem")


def test_the_admin_still_saves_an_ordinary_account(world: SimpleNamespace) -> None:
    admin = User.objects.create_superuser("root", "root@example.test", "pw-12345-xyz")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin)
    data = _account_form(client, world.staff_a) | {"first_name": "Lan"}
    response = client.post(f"/admin/auth/user/{world.staff_a.pk}/change/", data)
    assert response.status_code == 302
    assert User.objects.get(pk=world.staff_a.pk).first_name == "Lan"


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


def test_a_request_under_the_api_with_a_forged_host_answers_json() -> None:
    # Django refuses the host itself, before any API view: its 400 handler answers.
    response = Client(HTTP_ACCEPT_LANGUAGE="en").get("/api/v1/cycles/", HTTP_HOST="evil host")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request is not valid.", "errors": []}


def _crashed(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler, called as Django calls it: while a crash is being handled."""
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        return unavailable.server_error(request)


@pytest.mark.parametrize(
    ("handler", "status", "detail"),
    [
        (lambda r: errors.permission_denied(r, PermissionDenied()), 403, "You are not allowed"),
        (lambda r: errors.csrf_failure(r, reason="CSRF cookie not set."), 403, "security code"),
        (lambda r: errors.bad_request(r, SuspiciousOperation()), 400, "The request is not"),
        (_crashed, 500, "Something went wrong on the server"),
    ],
)
def test_errors_django_answers_itself_under_the_api_are_json_and_pages_elsewhere(
    handler: Callable[[HttpRequest], HttpResponse], status: int, detail: str
) -> None:
    with translation.override("en"):
        answer = handler(RequestFactory().post("/api/v1/cycles/"))
        page = handler(RequestFactory().post("/cycles/"))
    assert (answer.status_code, answer["Content-Type"]) == (status, "application/json")
    assert detail in json.loads(answer.content)["detail"]
    assert (page.status_code, page["Content-Type"].split(";")[0]) == (status, "text/html")
