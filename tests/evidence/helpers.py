"""Helpers for the evidence tests: the S3 server's address, uploads through the API."""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from cases.models import Case
from evidence.storage import Storage

if TYPE_CHECKING:  # the test client's response, as the DRF stubs name it (no runtime class)
    from rest_framework.response import _MonkeyPatchedResponse

S3_ACCESS, S3_SECRET = "evidence-test", "evidence-test-secret"


def s3_endpoint() -> str:
    endpoint = os.environ.get("TEST_S3_ENDPOINT", "")
    if not endpoint:
        pytest.fail("TEST_S3_ENDPOINT is not set: run the tests with `make test`.")
    return endpoint


def use_s3(settings: Any, endpoint: str, bucket: str) -> None:
    settings.MINIO_ENDPOINT = endpoint
    settings.MINIO_ACCESS_KEY = S3_ACCESS
    settings.MINIO_SECRET_KEY = S3_SECRET
    settings.MINIO_BUCKET = bucket
    settings.MINIO_SECURE = False
    settings.MINIO_PUBLIC_ENDPOINT = ""
    settings.MINIO_PUBLIC_SECURE = False


def new_bucket() -> str:
    return f"ev-{uuid.uuid4().hex[:24]}"


def client_for(user: Any, language: str = "en") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.force_authenticate(user)
    return client


def upload(
    user: Any,
    case: Case,
    criterion: str,
    content: bytes,
    name: str = "Kế hoạch CCHC.pdf",
    *,
    note: str = "",
    declared: str = "application/pdf",
    language: str = "en",
) -> _MonkeyPatchedResponse:
    data: dict[str, Any] = {
        "criterion": criterion,
        "file": SimpleUploadedFile(name, content, content_type=declared),
    }
    if note:
        data["note"] = note
    return client_for(user, language).post(
        reverse("case-evidence", args=[case.pk]), data, format="multipart"
    )


def stored_keys(store: Storage) -> list[str]:
    return sorted(ref.key for ref in store.list_objects())
