"""Production settings: `check --deploy` is clean, and the app refuses to start unsafely.

The settings are read at import, so each case runs manage.py in a subprocess with the
environment a data centre would give it."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import Error

from ops.checks import email_settings, redis_settings, turns_fit_the_pool

ROOT = Path(__file__).resolve().parents[2]


def production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="cchc.example.gov.vn",
        CSRF_TRUSTED_ORIGINS="https://cchc.example.gov.vn",
        REDIS_URL=os.environ["TEST_REDIS_URL"],
        MINIO_ENDPOINT=os.environ["TEST_S3_ENDPOINT"],
        MINIO_ACCESS_KEY="par-app",
        MINIO_SECRET_KEY=secrets.token_urlsafe(30),
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="smtp.example.gov.vn",
        DEFAULT_FROM_EMAIL="Chỉ số CCHC <no-reply@example.gov.vn>",
    )
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_debug_left_on() -> None:
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(DEBUG="true")
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG on in deployment


def test_the_app_refuses_to_start_without_a_secret_key() -> None:
    result = manage("check", env=production_env(SECRET_KEY=""))
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


@pytest.mark.parametrize("key", ["change-me-to-a-long-random-string", "change-me", "secret"])
def test_the_app_refuses_to_start_with_the_example_secret_key(key: str) -> None:
    result = manage("check", env=production_env(SECRET_KEY=key))
    assert result.returncode != 0
    assert "SECRET_KEY is the example from .env.example" in result.stderr


def test_the_browsable_api_is_off_in_production() -> None:
    show = "from django.conf import settings; print(settings.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES'])"
    result = manage("shell", "-c", show, env=production_env())
    assert result.returncode == 0, result.stderr
    assert "config.renderers.JSONRenderer" in result.stdout and "Browsable" not in result.stdout


@pytest.mark.parametrize("password", ["minioadmin", "change-me-too", "short"])
def test_the_app_refuses_to_start_with_a_default_object_store_password(password: str) -> None:
    result = manage("check", env=production_env(MINIO_SECRET_KEY=password))
    assert result.returncode != 0
    assert "MINIO_SECRET_KEY is a default or example password" in result.stderr


def test_a_misconfigured_redis_url_says_what_to_write(settings: Any) -> None:
    settings.REDIS_URL = "redis-server:6379"
    (error,) = redis_settings()
    assert isinstance(error, Error) and error.id == "ops.E001"
    assert error.hint is not None and "redis://redis:6379/0" in error.hint
    settings.REDIS_URL = "redis://redis:6379/0"
    assert redis_settings() == []


def test_misconfigured_email_says_what_to_fix(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = True
    settings.EMAIL_HOST = ""
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "relay", ""
    settings.DEFAULT_FROM_EMAIL = "Chỉ số CCHC"
    ids = {problem.id for problem in email_settings()}
    assert ids == {"ops.E003", "ops.E004", "ops.E005", "ops.E006"}


def test_more_turns_than_pooled_connections_say_what_to_change(settings: Any) -> None:
    settings.DB_POOL_MAX_SIZE, settings.HTTP_TURNS = 10, 12
    (warning,) = turns_fit_the_pool()
    assert warning.id == "ops.W002"
    assert warning.hint == "Set HTTP_TURNS to 10 or less, or raise DB_POOL_MAX_SIZE."
    settings.HTTP_TURNS = 10
    assert turns_fit_the_pool() == []
    settings.DB_POOL_MAX_SIZE = 0  # no pool: each thread opens its own connection
    settings.HTTP_TURNS = 50
    assert turns_fit_the_pool() == []


def _pooled_requests(times: int, each: str, then: str, **env: str) -> str:
    """`times` requests in a production shell, each running `each` with a cursor `c` (the
    request's number is `n`), then `then`: the last line it printed."""
    script = (
        "from django.db import connection\n"
        "from django.core.signals import request_finished, request_started\n"
        "seen = []\n"
        # The pool opens its first connection in the background; a request arriving before
        # it is ready makes the pool grow, and the next one may get either connection.
        "connection.pool.open(wait=True)\n"
        f"for n in range(1, {times + 1}):\n"
        "    request_started.send(sender=None)\n"
        "    with connection.cursor() as c:\n"
        f"        {each}\n"
        "    request_finished.send(sender=None)\n"
        f"{then}\n"
    )
    result = manage("shell", "-c", script, env=production_env(**env))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()[-1]


def test_production_borrows_database_connections_from_a_pool_that_outlives_requests() -> None:
    """Under uvicorn (ASGI) persistent connections pile up per thread; the pool keeps at most
    DB_POOL_MAX_SIZE per process and hands the same connection to the next request."""
    last = _pooled_requests(
        3,
        "c.execute('select pg_backend_pid()'); seen.append(c.fetchone()[0])",
        "print(connection.pool.max_size, len(set(seen)), connection.connection is None)",
        DB_POOL_MAX_SIZE="4",
    )
    # One backend served all three requests, and it went back to the pool between them.
    assert last.split() == ["4", "1", "True"]


def test_a_query_a_pooled_connection_runs_often_is_prepared_and_not_planned_again() -> None:
    """A query run request after request on the pool's connection (as the one that locks a
    case for every save): PostgreSQL keeps its plan (DB_SERVER_SIDE_BINDING), unless the
    setting is turned off for a pooler that cannot keep prepared statements."""
    each = "c.execute('SELECT relname FROM pg_class WHERE oid = %s', [n])"
    then = (
        "with connection.cursor() as c:\n"
        "    c.execute('SELECT statement FROM pg_prepared_statements')\n"
        "    print(sum('FROM pg_class WHERE oid' in row[0] for row in c.fetchall()))"
    )
    assert _pooled_requests(11, each, then, DB_POOL_MAX_SIZE="1") == "1"
    off = _pooled_requests(11, each, then, DB_POOL_MAX_SIZE="1", DB_SERVER_SIDE_BINDING="false")
    assert off == "0"
