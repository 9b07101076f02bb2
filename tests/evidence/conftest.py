"""Evidence stores for the tests: the local folder, and the S3 server `make test` starts on
loopback (moto in server mode, spoken to through the same `minio` SDK code as production),
with a fresh bucket per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from minio import Minio

from evidence.storage import S3Storage, Storage, get_storage
from tests.evidence.helpers import S3_ACCESS, S3_SECRET, new_bucket, s3_endpoint, use_s3


@pytest.fixture
def s3_store(settings: Any) -> S3Storage:
    use_s3(settings, s3_endpoint(), new_bucket())
    store = get_storage()
    assert isinstance(store, S3Storage)
    store.ensure_bucket()
    return store


@pytest.fixture(params=["local", "s3"])
def store(request: Any) -> Storage:
    """Each test using it runs once per backend."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def s3_direct() -> Iterator[Minio]:
    """A plain client to the S3 server, to look behind the application's back."""
    yield Minio(s3_endpoint(), S3_ACCESS, S3_SECRET, secure=False, region="us-east-1")
