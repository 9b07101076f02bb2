"""The probes the load balancer and the compose health checks call."""

from __future__ import annotations

import os
import socket
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from cases.permissions import SECRETARIAT
from evidence.storage import get_storage
from tests.evidence.helpers import new_bucket, s3_endpoint, use_s3
from workflow import audit
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db
OPS_TOKEN = "operator-token-for-the-tests-0123456789"


@pytest.fixture
def client(client: Any, settings: Any) -> Any:
    """The operator's client: /readyz names the failing part only to the operator token."""
    settings.OPS_TOKEN = OPS_TOKEN
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {OPS_TOKEN}"
    return client


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthz_answers_from_inside_the_container_without_a_known_host(client: Any) -> None:
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database_redis_and_the_object_store(client: Any, settings: Any) -> None:
    settings.REDIS_URL = os.environ["TEST_REDIS_URL"]
    bucket = new_bucket()
    use_s3(settings, s3_endpoint(), bucket)
    get_storage().ensure_bucket()
    response = client.get("/readyz", HTTP_HOST="10.0.0.7")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "redis": "ok", "object_store": "ok"}


def test_readyz_says_redis_is_down_with_503(client: Any, settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{dead_port()}/0"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert "ConnectionError" in body["checks"]["redis"]


def test_readyz_names_a_missing_bucket(client: Any, settings: Any) -> None:
    use_s3(settings, s3_endpoint(), new_bucket())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "evidence_bucket" in response.json()["checks"]["object_store"]


def test_readyz_fails_fast_when_the_object_store_is_down(client: Any, settings: Any) -> None:
    use_s3(settings, f"127.0.0.1:{dead_port()}", new_bucket())
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["object_store"] != "ok"


@pytest.mark.parametrize("sent", [None, "Bearer wrong-token", f"Bearer {OPS_TOKEN}x"])
def test_readyz_tells_anyone_else_only_the_status(settings: Any, sent: str | None) -> None:
    settings.OPS_TOKEN = OPS_TOKEN
    settings.REDIS_URL = f"redis://127.0.0.1:{dead_port()}/0"
    headers = {"Authorization": sent} if sent else {}
    response = Client().get("/readyz", headers=headers)
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_readiness_command_fails_for_the_worker_health_check(settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{dead_port()}/0"
    with pytest.raises(CommandError):
        call_command("readiness", stdout=StringIO())
    settings.REDIS_URL = os.environ["TEST_REDIS_URL"]
    call_command("readiness", stdout=StringIO())


def test_first_secretariat_account_needs_a_strong_password(monkeypatch: Any) -> None:
    monkeypatch.setenv("SECRETARIAT_PASSWORD", "12345678")
    with pytest.raises(CommandError):
        call_command("create_secretariat", "thu.ky")
    assert not User.objects.filter(username="thu.ky").exists()
    monkeypatch.setenv("SECRETARIAT_PASSWORD", "Cai-cach-hanh-chinh-2026")
    call_command("create_secretariat", "thu.ky", "--full-name", "Nguyễn Văn An", stdout=StringIO())
    user = User.objects.get(username="thu.ky")
    assert user.groups.filter(name=SECRETARIAT).exists()
    assert user.check_password("Cai-cach-hanh-chinh-2026")
    assert (user.first_name, user.last_name) == ("Nguyễn Văn", "An")
    entry = AuditEntry.objects.get(action=audit.ACCOUNT_CREATED)
    assert (entry.actor, entry.data["role"]) == (user, SECRETARIAT)
