"""Structured logs: a JSON line per request and per transition, with the request id, the
user id and the case id, and never a password, a token or a file's content."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from ops.logs import JsonFormatter, log_transition
from tests.factories import PASSWORD
from tests.helpers import fill_self_scores
from workflow import services
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db
CONTENT_MARKER = b"NOI-DUNG-MAT-CUA-TAI-LIEU"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + CONTENT_MARKER + b"\n%%EOF\n"


@pytest.fixture
def log_lines() -> Iterator[StringIO]:
    """The root logger's output through the production formatter."""
    stream = StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def parsed(stream: StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_unit_heads_day_in_the_logs(
    world: SimpleNamespace,
    log_lines: StringIO,
    settings: Any,
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.MINIO_ENDPOINT = ""
    settings.EVIDENCE_LOCAL_DIR = tmp_path / "evidence"
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token/", {"username": "stp.head", "password": PASSWORD}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}", HTTP_X_REQUEST_ID="proxy-42")
    upload = client.post(
        f"/api/v1/cases/{world.case_a.pk}/evidence/",
        {"criterion": "1.1.1", "file": SimpleUploadedFile("kh.pdf", PDF, "application/pdf")},
        format="multipart",
    )
    assert upload.status_code == 201, upload.content
    assert upload["X-Request-ID"] == "proxy-42"
    fill_self_scores(world.case_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/cases/{world.case_a.pk}/transitions/submit/")
    assert response.status_code == 200, response.content

    output = log_lines.getvalue()
    assert PASSWORD not in output and token not in output
    assert CONTENT_MARKER.decode() not in output

    lines = parsed(log_lines)
    requests = [line for line in lines if line.get("event") == "request"]
    assert [(r["method"], r["path"], r["status"]) for r in requests] == [
        ("POST", "/api/v1/auth/token/", 200),
        ("POST", f"/api/v1/cases/{world.case_a.pk}/evidence/", 201),
        ("POST", f"/api/v1/cases/{world.case_a.pk}/transitions/submit/", 200),
    ]
    assert requests[0]["user_id"] is None and len(requests[0]["request_id"]) == 32
    for line in requests[1:]:
        assert line["request_id"] == "proxy-42"
        assert line["user_id"] == world.head_a.pk
        assert line["case_id"] == world.case_a.pk
    (transition,) = [line for line in lines if line.get("event") == "transition"]
    assert transition["action"] == "workflow.case.submit"
    assert (transition["source"], transition["target"]) == ("self_scoring", "submitted")
    assert transition["request_id"] == "proxy-42"
    assert transition["case_id"] == world.case_a.pk
    assert transition["actor_id"] == world.head_a.pk


def test_a_transition_writes_no_line_and_waits_for_no_commit_when_the_level_is_off(
    world: SimpleNamespace,
    log_lines: StringIO,
    django_capture_on_commit_callbacks: Any,
) -> None:
    fill_self_scores(world.case_a)
    logging.getLogger().setLevel(logging.WARNING)  # LOG_LEVEL=WARNING
    case = services.run_transition(world.case_a.pk, "submit", actor=world.head_a)
    with django_capture_on_commit_callbacks() as after_commit:
        log_transition(AuditEntry.objects.get(case=case, action="workflow.case.submit"))
    assert after_commit == []
    logging.getLogger().setLevel(logging.INFO)
    with django_capture_on_commit_callbacks(execute=True):
        services.run_transition(world.case_a.pk, "recall", actor=world.head_a)
    (line,) = [ln for ln in parsed(log_lines) if ln.get("event") == "transition"]
    assert line["action"] == "workflow.case.recall"


def test_a_forged_request_id_is_replaced(world: SimpleNamespace, log_lines: StringIO) -> None:
    client = APIClient(HTTP_X_REQUEST_ID='x"\n{"admin": true}')
    response = client.get("/api/v1/cases/")
    assert response.status_code == 401
    rid = response["X-Request-ID"]
    assert len(rid) == 32 and rid.isalnum()
    lines = parsed(log_lines)
    (line,) = [ln for ln in lines if ln.get("event") == "request"]
    assert line["request_id"] == rid and line["status"] == 401
    # Django's own line about the refused request carries the id too
    (django_line,) = [ln for ln in lines if ln["logger"] == "django.request"]
    assert django_line["request_id"] == rid
