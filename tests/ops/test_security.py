"""Headers, sign-in lock-out and API tokens: what protects a user's session."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pw-12345-xyz"  # tests/conftest.make_user


def test_pages_carry_a_strict_csp_hsts_and_deny_framing(settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 31_536_000
    response = Client().get("/login/", secure=True)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_pages_have_no_inline_script_or_style_the_csp_would_block() -> None:
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    inline_style = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.I)
    offenders = []
    for folder in ("templates", "web", "notifications", "evidence", "workflow", "cases"):
        for path in (ROOT / folder).rglob("*.html"):
            text = path.read_text(encoding="utf-8")
            if inline_script.search(text) or inline_style.search(text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_session_cookie_is_secure_and_http_only_in_production(
    settings: Any, world: SimpleNamespace
) -> None:
    settings.SESSION_COOKIE_SECURE = True
    client = Client()
    response = client.post("/login/", {"username": "stp.head", "password": PASSWORD}, secure=True)
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] and cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_repeated_failed_sign_ins_lock_the_login_page(world: SimpleNamespace) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="vi")
    for _attempt in range(4):
        response = client.post("/login/", {"username": "stp.head", "password": "sai"})
        assert response.status_code == 200  # the form again, with its error
    response = client.post("/login/", {"username": "stp.head", "password": "sai"})
    assert response.status_code == 429  # the fifth failure locks
    response = client.post("/login/", {"username": "stp.head", "password": PASSWORD})
    assert response.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_token_endpoint_counts_failures_and_locks_out(world: SimpleNamespace) -> None:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    for attempt in range(5):
        response = client.post(
            "/api/v1/auth/token/", {"username": "stc.head", "password": "wrong"}, format="json"
        )
        assert response.status_code == (400 if attempt < 4 else 429)
    response = client.post(
        "/api/v1/auth/token/", {"username": "stc.head", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.json()["detail"]
    assert not Token.objects.filter(user=world.head_b).exists()
    # the lock is per username and address: another user still signs in
    response = client.post(
        "/api/v1/auth/token/", {"username": "stp.head", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200


def sign_in(username: str) -> str:
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    return response.json()["token"]


def test_an_expired_token_is_refused_and_a_new_sign_in_replaces_it(
    settings: Any, world: SimpleNamespace
) -> None:
    key = sign_in("stp.head")
    Token.objects.filter(key=key).update(
        created=timezone.now() - timedelta(days=settings.API_TOKEN_TTL_DAYS, minutes=1)
    )
    client = APIClient(HTTP_ACCEPT_LANGUAGE="vi", HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/cases/")
    assert response.status_code == 401
    assert "hết hạn" in response.json()["detail"]
    new_key = sign_in("stp.head")
    assert new_key != key
    client = APIClient(HTTP_AUTHORIZATION=f"Token {new_key}")
    assert client.get("/api/v1/cases/").status_code == 200


def test_a_user_revokes_their_token(world: SimpleNamespace) -> None:
    key = sign_in("stp.head")
    client = APIClient(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert client.get("/api/v1/cases/").status_code == 401
    assert APIClient().delete("/api/v1/auth/token/").status_code == 401
