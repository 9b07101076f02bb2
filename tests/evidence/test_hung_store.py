"""A store that accepts connections but answers nothing (hung, or a network dropping packets):
the upload fails after one read timeout, not after one per retry and again for a clean-up
that cannot be answered either, and a store that finishes the request later holds one stray
object (for evidence_check --repair), not one per attempt."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest

from evidence.storage import S3Storage, StorageError
from tests.drills.services import MotoServer
from tests.evidence import samples
from tests.evidence.helpers import S3_ACCESS, S3_SECRET, new_bucket
from tests.helpers import wait_until

READ_TIMEOUT = 2
RETRIES = 2


@pytest.fixture
def hung_store() -> Iterator[MotoServer]:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


def store_on(server: MotoServer, bucket: str) -> S3Storage:
    return S3Storage(
        endpoint=server.endpoint,
        access_key=S3_ACCESS,
        secret_key=S3_SECRET,
        bucket=bucket,
        secure=False,
        region="us-east-1",
        connect_timeout=2,
        read_timeout=READ_TIMEOUT,
        retries=RETRIES,
    )


def test_an_upload_to_a_hung_store_fails_after_one_timeout_and_leaves_one_stray_at_most(
    hung_store: MotoServer,
) -> None:
    bucket = new_bucket()
    store = store_on(hung_store, bucket)
    store.ensure_bucket()
    content = samples.pdf(64 * 1024)

    hung_store.freeze()
    started = time.monotonic()
    try:
        with pytest.raises(StorageError):
            store.put("case-1/hung", io.BytesIO(content), len(content), "application/pdf")
        waited = time.monotonic() - started
    finally:
        hung_store.thaw()

    # (RETRIES + 1) × READ_TIMEOUT, twice (the put and the clean-up), was the wait before.
    assert waited < (RETRIES + 1) * READ_TIMEOUT
    # The thawed store finishes what it received: the one PUT, not one per retry.
    wait_until(hung_store.idle, seconds=10, what="the thawed store to answer what it received")
    objects = list(store_on(hung_store, bucket).list_objects())
    assert [(o.key, o.size) for o in objects] in ([], [("case-1/hung", len(content))])
