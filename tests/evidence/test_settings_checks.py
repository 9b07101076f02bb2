"""A misconfigured store fails `manage.py check`; the bucket command reports what it made."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from evidence.checks import evidence_settings
from evidence.storage import S3Storage
from tests.evidence.helpers import new_bucket, s3_endpoint, use_s3


def ids(settings: Any) -> list[str | None]:
    return [error.id for error in evidence_settings()]


def test_the_embedded_default_passes(settings: Any) -> None:
    settings.MINIO_ENDPOINT = ""
    assert ids(settings) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"MINIO_ENDPOINT": "http://minio:9000"}, "evidence.E001"),
        ({"MINIO_ENDPOINT": "minio:9000", "MINIO_SECRET_KEY": ""}, "evidence.E002"),
        ({"MINIO_ENDPOINT": "minio:9000", "MINIO_BUCKET": "Evidence_Files"}, "evidence.E003"),
        ({"EVIDENCE_ALLOWED_TYPES": ["pdf", "exe-file"]}, "evidence.E004"),
        ({"EVIDENCE_MAX_UPLOAD_MB": 0}, "evidence.E005"),
    ],
)
def test_a_misconfiguration_is_reported(
    settings: Any, changes: dict[str, Any], expected: str
) -> None:
    settings.MINIO_ENDPOINT = ""
    settings.MINIO_ACCESS_KEY, settings.MINIO_SECRET_KEY = "key", "secret"
    for name, value in changes.items():
        setattr(settings, name, value)
    assert ids(settings) == [expected]


def test_the_bucket_command_creates_a_locked_versioned_bucket_once(settings: Any) -> None:
    use_s3(settings, s3_endpoint(), new_bucket())
    first, second = io.StringIO(), io.StringIO()

    call_command("evidence_bucket", stdout=first)
    call_command("evidence_bucket", stdout=second)

    assert "created; versioning on; object lock on." in first.getvalue()
    assert "exists; versioning on; object lock on." in second.getvalue()


def test_the_bucket_command_fails_clearly_when_the_store_is_down(settings: Any) -> None:
    use_s3(settings, "127.0.0.1:9", new_bucket())
    settings.MINIO_RETRIES = 0
    with pytest.raises(CommandError, match="cannot be reached"):
        call_command("evidence_bucket", stdout=io.StringIO())


def test_an_existing_unversioned_bucket_gets_versioning(settings: Any) -> None:
    bucket = new_bucket()
    use_s3(settings, s3_endpoint(), bucket)
    from evidence.storage import get_storage

    store = get_storage()
    assert isinstance(store, S3Storage)
    store.client.make_bucket(bucket)  # made by hand, without lock or versioning

    status = store.ensure_bucket()

    assert (status.created, status.versioning, status.object_lock) == (False, True, False)
    assert not store.retention_supported()
