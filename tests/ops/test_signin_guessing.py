"""Guessing passwords from many addresses: the account slows down, not the person.

The lock-out of django-axes counts one username from one address. An attacker with many
addresses got around it; these stories show the account's own growing delay (short enough
that a real user waits minutes at most, and none from a browser they signed in on before)
and the spraying of one password over many accounts, audited and shown to the secretariat.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.permissions import AUDITOR, LEADER, SECRETARIAT, ensure_role_groups
from notifications import rules
from notifications.models import Notification
from ops.models import SignInFailure
from tests.factories import PASSWORD, make_user
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db
SPRAYING = "auth.signin.spraying"


@pytest.fixture
def people() -> dict[str, User]:
    ensure_role_groups()
    found = {
        "secretariat": make_user("secretariat", SECRETARIAT),
        "leader": make_user("leader", LEADER),
        "auditor": make_user("auditor", AUDITOR),
        "head": make_user("stp.head"),
    }
    found.update({f"staff{n}": make_user(f"staff{n}") for n in range(12)})
    return found


def page_attempt(username: str, password: str, address: str, **extra: Any) -> Any:
    client = extra.pop("client", None) or Client(HTTP_ACCEPT_LANGUAGE="vi")
    return client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def wrong_from_many_addresses(username: str, addresses: int, per_address: int) -> None:
    for n in range(addresses):
        for _attempt in range(per_address):
            page_attempt(username, "doan-sai", f"10.0.0.{n + 1}")


def let_time_pass(seconds: float) -> None:
    """The failures happened that much earlier (the clock of the throttle is their times)."""
    for failure in SignInFailure.objects.all():
        SignInFailure.objects.filter(pk=failure.pk).update(
            at=failure.at - timedelta(seconds=seconds)
        )


def test_fifty_guesses_from_ten_addresses_make_the_eleventh_wait(
    people: dict[str, User],
) -> None:
    wrong_from_many_addresses("stp.head", addresses=10, per_address=5)
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    response = page_attempt("stp.head", PASSWORD, "10.0.1.1", client=client)
    assert response.status_code == 429
    assert "thử lại sau" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


def test_the_token_endpoint_makes_the_account_wait_too(
    people: dict[str, User],
) -> None:
    wrong_from_many_addresses("stp.head", addresses=5, per_address=2)
    response = APIClient(HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/v1/auth/token/",
        {"username": "stp.head", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.1.2",
    )
    assert response.status_code == 429
    assert "try again in" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0
    assert not Token.objects.filter(user=people["head"]).exists()


def test_a_real_user_waits_minutes_at_most(settings: Any, people: dict[str, User]) -> None:
    wrong_from_many_addresses("stp.head", addresses=10, per_address=4)
    assert page_attempt("stp.head", PASSWORD, "10.0.1.1").status_code == 429
    let_time_pass(settings.SIGNIN_DELAY_MAX_SECONDS)
    client = Client()
    response = page_attempt("stp.head", PASSWORD, "10.0.1.1", client=client)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(people["head"].pk)
    # signing in clears the account's failures: its next mistake costs nothing
    assert not SignInFailure.objects.filter(username="stp.head").exists()


def test_attempts_refused_while_waiting_do_not_lengthen_the_wait(
    settings: Any, people: dict[str, User]
) -> None:
    wrong_from_many_addresses("stp.head", addresses=10, per_address=4)
    counted = SignInFailure.objects.filter(username="stp.head").count()
    for n in range(20):
        response = page_attempt("stp.head", "doan-sai", f"10.0.2.{n + 1}")
        assert response.status_code == 429
    assert SignInFailure.objects.filter(username="stp.head").count() == counted
    let_time_pass(settings.SIGNIN_DELAY_MAX_SECONDS)
    assert page_attempt("stp.head", PASSWORD, "10.0.2.99").status_code == 302


def test_the_delay_grows_with_each_failure_up_to_its_cap(
    settings: Any, people: dict[str, User]
) -> None:
    settings.SIGNIN_DELAY_BASE_SECONDS = 10
    settings.SIGNIN_DELAY_MAX_SECONDS = 60
    free = settings.SIGNIN_ACCOUNT_FREE_FAILURES
    for n in range(free):
        page_attempt("stp.head", "doan-sai", f"10.0.3.{n + 1}")
    waits = []
    for n in range(5):
        response = page_attempt("stp.head", PASSWORD, "10.0.4.1")
        assert response.status_code == 429
        waits.append(int(response["Retry-After"]))
        let_time_pass(waits[-1])
        assert page_attempt("stp.head", "doan-sai", f"10.0.4.{n + 2}").status_code == 200
    assert waits == [10, 20, 40, 60, 60]


def test_a_browser_the_user_signed_in_on_before_is_not_made_to_wait(
    people: dict[str, User],
) -> None:
    browser = Client(HTTP_ACCEPT_LANGUAGE="vi")
    assert page_attempt("stp.head", PASSWORD, "10.9.9.9", client=browser).status_code == 302
    browser.post("/logout/", REMOTE_ADDR="10.9.9.9")
    wrong_from_many_addresses("stp.head", addresses=10, per_address=4)
    assert page_attempt("stp.head", PASSWORD, "10.0.1.1").status_code == 429
    response = page_attempt("stp.head", PASSWORD, "10.9.9.9", client=browser)
    assert response.status_code == 302
    assert browser.session["_auth_user_id"] == str(people["head"].pk)


def test_another_users_browser_gets_no_pass(people: dict[str, User]) -> None:
    browser = Client(HTTP_ACCEPT_LANGUAGE="vi")
    assert page_attempt("staff1", PASSWORD, "10.9.9.9", client=browser).status_code == 302
    browser.post("/logout/", REMOTE_ADDR="10.9.9.9")
    wrong_from_many_addresses("stp.head", addresses=10, per_address=4)
    response = page_attempt("stp.head", PASSWORD, "10.9.9.9", client=browser)
    assert response.status_code == 429
    assert "_auth_user_id" not in browser.session


def test_one_password_tried_on_many_accounts_is_audited_once(
    settings: Any, people: dict[str, User]
) -> None:
    accounts = settings.SIGNIN_SPRAY_ACCOUNTS
    for n in range(accounts + 2):
        page_attempt(f"staff{n}", "Matkhau@2026", "203.0.113.7")
    entries = list(AuditEntry.objects.filter(action=SPRAYING))
    assert len(entries) == 1
    (entry,) = entries
    assert entry.data["address"] == "203.0.113.7"
    assert entry.data["accounts"] == accounts
    assert entry.actor.username == "system"
    assert entry.case is None and entry.cycle is None


def test_an_address_that_sprays_is_made_to_wait(settings: Any, people: dict[str, User]) -> None:
    accounts = settings.SIGNIN_SPRAY_ACCOUNTS
    for n in range(accounts):
        assert page_attempt(f"staff{n}", "Matkhau@2026", "203.0.113.7").status_code == 200
    # the right password of an account never tried from there still waits
    response = page_attempt("staff11", PASSWORD, "203.0.113.7")
    assert response.status_code == 429
    # the same account from elsewhere is not delayed: the account itself had no failure
    assert page_attempt("staff11", PASSWORD, "198.51.100.1").status_code == 302


def test_spraying_from_many_addresses_is_audited(settings: Any, people: dict[str, User]) -> None:
    settings.SIGNIN_SPRAY_ACCOUNTS_TOTAL = 8
    for n in range(8):
        page_attempt(f"staff{n}", "Matkhau@2026", f"192.0.2.{n + 1}")
    (entry,) = AuditEntry.objects.filter(action=SPRAYING)
    assert entry.data["address"] == ""
    assert entry.data["accounts"] == 8
    assert not AuditEntry.objects.filter(action=SPRAYING).exclude(pk=entry.pk).exists()


def spray(accounts: range, address: str) -> None:
    for n in accounts:
        page_attempt(f"staff{n}", "Matkhau@2026", address)


def test_the_secretariat_is_notified_of_spraying_once_per_wave(
    settings: Any, people: dict[str, User]
) -> None:
    other = make_user("secretariat2", SECRETARIAT)
    settings.SIGNIN_SPRAY_ACCOUNTS_TOTAL = 11
    with time_machine.travel(timezone.now(), tick=False) as clock:
        spray(range(10), "203.0.113.7")  # the address's entry, then the total's: one wave
        page_attempt("staff10", "Matkhau@2026", "192.0.2.50")
        assert AuditEntry.objects.filter(action=SPRAYING).count() == 2
        told = Notification.objects.filter(kind=rules.SIGNIN_SPRAYING)
        assert {n.recipient for n in told.all()} == {people["secretariat"], other}
        notice = told.get(recipient=other)
        assert notice.text_vi == (
            "Dò mật khẩu: một mật khẩu được thử trên 10 tài khoản từ địa chỉ 203.0.113.7 "
            "trong 15 phút. Xem trang Đăng nhập sai."
        )
        assert "10 accounts from the address 203.0.113.7" in notice.text_en
        assert notice.link == "/security/sign-ins/" and notice.case is None
        # The spraying goes on into the next window: audited again, still the same wave.
        clock.shift(timedelta(minutes=settings.SIGNIN_SPRAY_WINDOW_MINUTES + 1))
        spray(range(10), "203.0.113.7")
        assert AuditEntry.objects.filter(action=SPRAYING).count() == 3
        assert told.count() == 2
        # Quiet for two windows, then a new wave: told again.
        clock.shift(timedelta(minutes=2 * settings.SIGNIN_SPRAY_WINDOW_MINUTES + 1))
        spray(range(10), "198.51.100.9")
        assert told.count() == 4
        assert told.filter(text_vi__contains="198.51.100.9").count() == 2
    assert not Notification.objects.exclude(kind=rules.SIGNIN_SPRAYING).exists()


def test_a_few_mistakes_by_different_people_are_not_spraying(
    settings: Any, people: dict[str, User]
) -> None:
    for n in range(settings.SIGNIN_SPRAY_ACCOUNTS - 1):
        page_attempt(f"staff{n}", "doan-sai", "203.0.113.7")
    assert not AuditEntry.objects.filter(action=SPRAYING).exists()
    assert not Notification.objects.exists()


def test_the_secretariat_sees_spraying_and_waiting_accounts(
    settings: Any, people: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    for n in range(settings.SIGNIN_SPRAY_ACCOUNTS):
        page_attempt(f"staff{n}", "Matkhau@2026", "203.0.113.7")
    wrong_from_many_addresses("stp.head", addresses=3, per_address=2)
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    client.force_login(people["secretariat"])
    with django_assert_max_num_queries(8):
        response = client.get("/security/sign-ins/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "203.0.113.7" in text
    assert "stp.head" in text
    assert "Dò mật khẩu trên nhiều tài khoản" in text


@pytest.mark.parametrize("role", ["leader", "auditor", "head"])
def test_only_the_secretariat_sees_the_sign_in_watch(role: str, people: dict[str, User]) -> None:
    page_attempt("staff1", "doan-sai", "203.0.113.7")
    client = Client()
    client.force_login(people[role])
    response = client.get("/security/sign-ins/")
    assert response.status_code == 403
    assert "staff1" not in response.content.decode()
    assert Client().get("/security/sign-ins/").status_code == 302  # to the sign-in page


def test_the_guard_costs_a_failed_sign_in_a_few_queries(
    people: dict[str, User], django_assert_max_num_queries: Any
) -> None:
    for n in range(3):
        page_attempt(f"staff{n}", "doan-sai", "203.0.113.7")
    # django-axes' own bookkeeping is most of the rest
    with django_assert_max_num_queries(20) as counted:
        response = page_attempt("stp.head", "doan-sai", "203.0.113.7")
    assert response.status_code == 200
    guard = [q for q in counted.captured_queries if "ops_signinfailure" in q["sql"]]
    assert len(guard) <= 6
