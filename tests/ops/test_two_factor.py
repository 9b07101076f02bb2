"""Two-factor sign-in for officials: where the installation requires it, the secretariat, the
leader and the auditor sign in with a password and a code from an authenticator app (or a
recovery code); an API token is issued only with the code; integrations use long-lived tokens
made in the pages. Off in the embedded default; offered to everyone else."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.permissions import AUDITOR, LEADER, SECRETARIAT, ensure_role_groups
from ops.models import IntegrationToken
from tests.factories import PASSWORD, make_user
from tests.helpers import after_a_wrong_code
from tests.web.html import Page
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def people() -> dict[str, User]:
    ensure_role_groups()
    return {
        "secretariat": make_user("secretariat", SECRETARIAT),
        "leader": make_user("leader", LEADER),
        "auditor": make_user("auditor", AUDITOR),
        "staff": make_user("stp.staff"),
    }


@pytest.fixture
def required(settings: Any) -> None:
    settings.TWO_FACTOR_REQUIRED = True


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """What the person's authenticator app shows now (or that many 30-second steps later)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def with_authenticator(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def recovery_codes(response: Any) -> list[str]:
    listed = re.search(r'<ul id="recovery-codes">(.*?)</ul>', response.content.decode(), re.S)
    return re.findall(r"<code>([^<]+)</code>", listed.group(1)) if listed else []


def new_key(response: Any) -> str:
    return Page(response).id("new-token-key").text


def password_step(client: Client, username: str) -> Any:
    return client.post("/login/", {"username": username, "password": PASSWORD})


def signed_in_as(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


@pytest.mark.parametrize("role", ["secretariat", "leader", "auditor"])
def test_an_official_must_set_up_an_authenticator_before_signing_in(
    role: str, people: dict[str, User], required: None
) -> None:
    user = people[role]
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    response = password_step(client, user.username)
    assert response.status_code == 302
    assert response["Location"] == "/login/second-factor/setup/"
    assert signed_in_as(client) is None
    # the password alone opens nothing
    assert client.get("/").status_code == 302
    page = client.get("/login/second-factor/setup/")
    assert page.status_code == 200
    assert "data:image/svg+xml" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/login/second-factor/setup/", {"code": "000000"})
    assert response.status_code == 200
    assert signed_in_as(client) is None
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    after_a_wrong_code()
    response = client.post("/login/second-factor/setup/", {"code": code(device)})
    assert response.status_code == 200
    codes = recovery_codes(response)
    assert len(codes) == 10
    assert signed_in_as(client) == str(user.pk)
    assert client.get("/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.two_factor.enabled", actor=user).count() == 1


def test_with_an_authenticator_the_password_alone_does_not_sign_in(
    people: dict[str, User], required: None
) -> None:
    device = with_authenticator(people["leader"])
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    response = password_step(client, "leader")
    assert response["Location"] == "/login/second-factor/"
    assert signed_in_as(client) is None
    assert client.get("/api/v1/cases/").status_code in (401, 403)
    response = client.post("/login/second-factor/", {"code": "123456"})
    assert response.status_code == 200
    assert "Mã không đúng" in response.content.decode()
    assert signed_in_as(client) is None
    after_a_wrong_code()
    response = client.post("/login/second-factor/", {"code": code(device, 1)})
    assert response.status_code == 302
    assert signed_in_as(client) == str(people["leader"].pk)


def test_wrong_codes_are_throttled(people: dict[str, User], required: None) -> None:
    device = with_authenticator(people["auditor"])
    client = Client()
    password_step(client, "auditor")
    client.post("/login/second-factor/", {"code": "111111"})
    response = client.post("/login/second-factor/", {"code": code(device)})
    assert response.status_code == 429  # the right code waits too: guessing is slowed
    assert signed_in_as(client) is None


def test_a_recovery_code_signs_in_once(people: dict[str, User], required: None) -> None:
    user = people["secretariat"]
    client = Client()
    password_step(client, "secretariat")
    client.get("/login/second-factor/setup/")
    device = TOTPDevice.objects.get(user=user)
    codes = recovery_codes(client.post("/login/second-factor/setup/", {"code": code(device)}))
    client.post("/logout/")
    other = Client()
    password_step(other, "secretariat")
    assert other.post("/login/second-factor/", {"code": codes[0]}).status_code == 302
    assert signed_in_as(other) == str(user.pk)
    assert StaticToken.objects.filter(device__user=user).count() == 9
    again = Client()
    password_step(again, "secretariat")
    assert again.post("/login/second-factor/", {"code": codes[0]}).status_code == 200
    assert signed_in_as(again) is None


def test_staff_sign_in_with_the_password_and_may_turn_it_on(
    people: dict[str, User], required: None
) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    assert password_step(client, "stp.staff")["Location"] == "/"
    assert signed_in_as(client) == str(people["staff"].pk)
    page = client.get("/account/security/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=people["staff"], confirmed=False)
    response = client.post("/account/security/", {"action": "authenticator", "code": "1"})
    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    after_a_wrong_code()
    response = client.post("/account/security/", {"action": "authenticator", "code": code(device)})
    assert len(recovery_codes(response)) == 10
    client.post("/logout/")
    # from now on the staff member needs it too, even where it is not required
    later = Client()
    assert password_step(later, "stp.staff")["Location"] == "/login/second-factor/"
    assert signed_in_as(later) is None


def test_off_in_the_embedded_default_on_in_the_production_example(
    people: dict[str, User],
) -> None:
    from django.conf import settings

    assert settings.TWO_FACTOR_REQUIRED is False  # the tests run on the embedded default
    client = Client()
    assert password_step(client, "secretariat")["Location"] == "/"
    assert signed_in_as(client) == str(people["secretariat"].pk)
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert "\nTWO_FACTOR_REQUIRED=true\n" in example
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "TWO_FACTOR_REQUIRED: ${TWO_FACTOR_REQUIRED:-true}" in compose


def test_a_session_from_before_the_requirement_is_ended(
    settings: Any, people: dict[str, User]
) -> None:
    client = Client()
    password_step(client, "secretariat")  # signed in while the requirement was off
    assert signed_in_as(client) is not None
    settings.TWO_FACTOR_REQUIRED = True
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert signed_in_as(client) is None
    assert client.get("/api/v1/cases/").status_code in (401, 403)


def test_staff_made_secretariat_are_asked_for_the_second_factor_at_the_next_request(
    people: dict[str, User], required: None
) -> None:
    """Staff need no second factor; the secretariat does. Given the role while signed in on
    the password alone, the session, the API token and the integration token all stop."""
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    password_step(client, "stp.staff")
    assert client.get("/").status_code == 200
    key = api_token("stp.staff").json()["token"]
    made = client.post("/account/security/", {"action": "token", "name": "Cổng dữ liệu"})
    integration = APIClient(HTTP_AUTHORIZATION=f"Bearer {new_key(made)}")
    token = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert token.get("/api/v1/cases/").status_code == 200
    assert integration.get("/api/v1/cases/").status_code == 200

    people["staff"].groups.add(Group.objects.get(name=SECRETARIAT))

    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert signed_in_as(client) is None
    assert token.get("/api/v1/cases/").status_code == 401
    assert integration.get("/api/v1/cases/").status_code == 401
    # Signing in again now asks for the authenticator to be set up; once it is, the token
    # made on the password alone stays revoked (a new one is made with the second factor).
    assert password_step(client, "stp.staff")["Location"] == "/login/second-factor/setup/"
    client.get("/login/second-factor/setup/")
    device = TOTPDevice.objects.get(user=people["staff"])
    client.post("/login/second-factor/setup/", {"code": code(device)})
    assert signed_in_as(client) == str(people["staff"].pk)
    assert integration.get("/api/v1/cases/").status_code == 401
    assert IntegrationToken.objects.get().revoked_at is not None
    assert AuditEntry.objects.filter(action="auth.integration_token.revoked").count() == 1


def test_staff_who_turn_it_on_themselves_keep_their_integration_tokens(
    people: dict[str, User], required: None
) -> None:
    client = Client()
    password_step(client, "stp.staff")
    made = client.post("/account/security/", {"action": "token", "name": "Cổng dữ liệu"})
    integration = APIClient(HTTP_AUTHORIZATION=f"Bearer {new_key(made)}")
    client.get("/account/security/")
    device = TOTPDevice.objects.get(user=people["staff"], confirmed=False)
    client.post("/account/security/", {"action": "authenticator", "code": code(device)})
    assert TOTPDevice.objects.filter(user=people["staff"], confirmed=True).exists()
    assert integration.get("/api/v1/cases/").status_code == 200


def test_a_role_taken_away_is_gone_at_the_next_request(people: dict[str, User]) -> None:
    """Rights are read from the database on every request: nothing to end, nothing kept."""
    client = Client()
    password_step(client, "secretariat")
    key = api_token("secretariat").json()["token"]
    token = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/security/sign-ins/").status_code == 200
    assert token.get("/api/v1/units/template.xlsx").status_code == 200

    people["secretariat"].groups.clear()

    assert client.get("/security/sign-ins/").status_code == 403
    assert token.get("/api/v1/units/template.xlsx").status_code == 403
    assert signed_in_as(client) is not None  # still signed in, as who they now are


def test_the_admin_signs_in_through_the_same_pages(people: dict[str, User]) -> None:
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/admin/"


def api_token(username: str, **extra: str) -> Any:
    return APIClient(HTTP_ACCEPT_LANGUAGE="vi").post(
        "/api/v1/auth/token/",
        {"username": username, "password": PASSWORD, **extra},
        format="json",
    )


def test_an_api_token_needs_the_second_factor(people: dict[str, User], required: None) -> None:
    user = people["secretariat"]
    response = api_token("secretariat")
    assert response.status_code == 403  # no authenticator yet: set it up in the pages
    assert "trang" in response.json()["detail"]
    device = with_authenticator(user)
    response = api_token("secretariat")
    assert response.status_code == 400
    assert any("otp" in error for error in response.json()["errors"])
    assert api_token("secretariat", otp="000000").status_code == 400
    assert not Token.objects.filter(user=user).exists()
    after_a_wrong_code()
    response = api_token("secretariat", otp=code(device, 1))
    assert response.status_code == 200
    assert Token.objects.get(user=user).key == response.json()["token"]


def test_an_api_token_for_staff_needs_only_the_password(
    people: dict[str, User], required: None
) -> None:
    assert api_token("stp.staff").status_code == 200


def test_an_integration_token_made_in_the_pages_outlives_sign_in_tokens(
    settings: Any, people: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    user = people["leader"]
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(user)
    response = client.post("/account/security/", {"action": "token", "name": "Kho dữ liệu"})
    assert response.status_code == 200
    key = new_key(response)
    token = IntegrationToken.objects.get(user=user)
    assert key.startswith("par_") and key not in token.key_sha256
    assert token.expires_at > timezone.now() + timedelta(days=settings.API_TOKEN_TTL_DAYS)
    IntegrationToken.objects.filter(pk=token.pk).update(
        created_at=timezone.now() - timedelta(days=settings.API_TOKEN_TTL_DAYS + 1)
    )
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/cases/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert AuditEntry.objects.filter(action="auth.integration_token.created").count() == 1
    # shown once: the page does not show the key again
    with django_assert_max_num_queries(12):
        page = client.get("/account/security/")
    assert key not in page.content.decode()
    assert "Kho dữ liệu" in page.content.decode()
    response = client.post("/account/security/", {"action": "revoke", "token": str(token.pk)})
    assert response.status_code == 302
    assert api.get("/api/v1/cases/").status_code == 401
    assert AuditEntry.objects.filter(action="auth.integration_token.revoked").count() == 1


def test_an_integration_token_stops_with_its_user_or_its_expiry(people: dict[str, User]) -> None:
    client = Client()
    client.force_login(people["staff"])
    response = client.post("/account/security/", {"action": "token", "name": "Báo cáo"})
    key = new_key(response)
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get("/api/v1/cases/").status_code == 200
    IntegrationToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get("/api/v1/cases/").status_code == 401
    IntegrationToken.objects.update(expires_at=timezone.now() + timedelta(days=1))
    User.objects.filter(pk=people["staff"].pk).update(is_active=False)
    assert api.get("/api/v1/cases/").status_code == 401


def test_nobody_revokes_another_persons_token(people: dict[str, User]) -> None:
    owner = Client()
    owner.force_login(people["staff"])
    owner.post("/account/security/", {"action": "token", "name": "Báo cáo"})
    token = IntegrationToken.objects.get()
    other = Client(HTTP_ACCEPT_LANGUAGE="vi")
    other.force_login(people["leader"])
    response = other.post("/account/security/", {"action": "revoke", "token": str(token.pk)})
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AuditEntry.objects.filter(action="auth.integration_token.revoked").exists()


def test_a_token_without_a_name_is_refused_and_nothing_is_made(people: dict[str, User]) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(people["staff"])
    response = client.post("/account/security/", {"action": "token", "name": "  "})
    assert response.status_code == 400
    assert "Đặt tên" in response.content.decode()
    assert not IntegrationToken.objects.exists()


def test_a_token_issued_on_the_password_alone_stops_once_it_is_required(
    settings: Any, people: dict[str, User]
) -> None:
    key = api_token("secretariat").json()["token"]  # before the installation required it
    api = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/cases/").status_code == 200
    settings.TWO_FACTOR_REQUIRED = True
    assert api.get("/api/v1/cases/").status_code == 401
    # the staff's token is not concerned
    staff_key = api_token("stp.staff").json()["token"]
    assert (
        APIClient(HTTP_AUTHORIZATION=f"Token {staff_key}").get("/api/v1/cases/").status_code == 200
    )
    # setting the authenticator up deletes the old token; a new one comes with a code
    client = Client()
    password_step(client, "secretariat")
    client.get("/login/second-factor/setup/")
    device = TOTPDevice.objects.get(user=people["secretariat"])
    client.post("/login/second-factor/setup/", {"code": code(device)})
    assert not Token.objects.filter(key=key).exists()
    new_key = api_token("secretariat", otp=code(device, 1)).json()["token"]
    assert APIClient(HTTP_AUTHORIZATION=f"Token {new_key}").get("/api/v1/cases/").status_code == 200


def test_turning_it_on_ends_tokens_issued_on_the_password_alone(people: dict[str, User]) -> None:
    key = api_token("stp.staff").json()["token"]
    client = Client()
    client.force_login(people["staff"])
    client.get("/account/security/")
    device = TOTPDevice.objects.get(user=people["staff"])
    client.post("/account/security/", {"action": "authenticator", "code": code(device)})
    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/cases/").status_code == 401


def test_staff_turn_it_off_with_a_code_officials_cannot(
    settings: Any, people: dict[str, User]
) -> None:
    settings.TWO_FACTOR_REQUIRED = True
    staff_device = with_authenticator(people["staff"])
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    password_step(client, "stp.staff")
    client.post("/login/second-factor/", {"code": code(staff_device)})
    response = client.post("/account/security/", {"action": "turn-off", "code": "12"})
    assert response.status_code == 400
    assert TOTPDevice.objects.filter(user=people["staff"]).exists()
    after_a_wrong_code()
    response = client.post(
        "/account/security/", {"action": "turn-off", "code": code(staff_device, 1)}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=people["staff"]).exists()
    assert AuditEntry.objects.filter(action="auth.two_factor.disabled").count() == 1
    assert password_step(Client(), "stp.staff")["Location"] == "/"
    # the leader's stays on where the installation requires it
    leader_device = with_authenticator(people["leader"])
    leader = Client(HTTP_ACCEPT_LANGUAGE="vi")
    password_step(leader, "leader")
    leader.post("/login/second-factor/", {"code": code(leader_device)})
    response = leader.post(
        "/account/security/", {"action": "turn-off", "code": code(leader_device, 1)}
    )
    assert response.status_code == 403
    assert "bắt buộc" in response.content.decode()
    assert TOTPDevice.objects.filter(user=people["leader"]).exists()
    assert not AuditEntry.objects.filter(
        action="auth.two_factor.disabled", actor=people["leader"]
    ).exists()
