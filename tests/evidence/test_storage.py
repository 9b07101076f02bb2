"""The storage interface, on both backends: streamed round trip, no overwrite, one error."""

from __future__ import annotations

import hashlib
import io
import os
import unicodedata
from typing import Any

import pytest

from evidence.services import clean_filename
from evidence.storage import (
    LocalStorage,
    ObjectMissing,
    S3Storage,
    Storage,
    StorageError,
    get_storage,
    new_key,
)
from tests.evidence import samples
from tests.evidence.helpers import S3_ACCESS, S3_SECRET


def test_a_file_round_trips_with_its_checksum(store: Storage) -> None:
    content = samples.pdf(12 * 1024 * 1024)  # several multipart parts on S3
    key = new_key(7)
    stored = store.put(key, io.BytesIO(content), len(content), "application/pdf")
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert stored.size == len(content)
    assert store.stat(key, stored.version_id).size == len(content)
    assert store.sha256(key, stored.version_id) == stored.sha256
    assert b"".join(store.iter_chunks(key, stored.version_id)) == content
    assert [(r.key, r.size) for r in store.list_objects()] == [(key, len(content))]
    store.delete(key, stored.version_id)
    with pytest.raises(ObjectMissing):
        store.stat(key, stored.version_id)


def test_a_stream_of_unknown_length_is_stored_in_parts(store: Storage) -> None:
    content = os.urandom(6 * 1024 * 1024)
    stored = store.put(new_key(1), io.BytesIO(content), -1, "application/octet-stream")
    assert (stored.size, stored.sha256) == (len(content), hashlib.sha256(content).hexdigest())


def test_keys_come_from_ids_and_randomness_only() -> None:
    keys = {new_key(5) for _ in range(100)}
    assert len(keys) == 100
    assert all(k.startswith("case-5/") and len(k) == len("case-5/") + 32 for k in keys)


def test_the_local_store_never_overwrites_a_key(local_store: LocalStorage) -> None:
    key = new_key(1)
    local_store.put(key, io.BytesIO(b"first"), 5, "text/plain")
    with pytest.raises(StorageError):
        local_store.put(key, io.BytesIO(b"second"), 6, "text/plain")
    assert b"".join(local_store.iter_chunks(key)) == b"first"
    assert [r.key for r in local_store.list_objects()] == [key]  # no partial file left


@pytest.mark.parametrize("key", ["../escape", "case-1/../../etc/passwd", "/abs", "a//b", ""])
def test_the_local_store_refuses_keys_that_leave_its_folder(
    local_store: LocalStorage, key: str
) -> None:
    with pytest.raises(StorageError):
        local_store.put(key, io.BytesIO(b"x"), 1, "text/plain")


def test_a_short_stream_stores_nothing(store: Storage) -> None:
    with pytest.raises(StorageError):
        store.put(new_key(1), io.BytesIO(b"only ten b"), 20, "text/plain")
    assert list(store.list_objects()) == []


def test_the_bucket_is_versioned_with_object_lock(s3_store: S3Storage) -> None:
    status = s3_store.ensure_bucket()
    assert (status.created, status.versioning, status.object_lock) == (False, True, True)
    assert s3_store.retention_supported()


def test_a_missing_bucket_is_created_by_the_first_write(settings: Any) -> None:
    from tests.evidence.helpers import new_bucket, s3_endpoint, use_s3

    use_s3(settings, s3_endpoint(), new_bucket())
    store = get_storage()
    store.put(new_key(1), io.BytesIO(b"%PDF-1.4"), 8, "application/pdf")
    assert store.ensure_bucket().created is False
    assert store.retention_supported()


def test_the_store_is_built_once_per_configuration(settings: Any, tmp_path: Any) -> None:
    settings.MINIO_ENDPOINT = ""
    settings.EVIDENCE_LOCAL_DIR = tmp_path / "a"
    first = get_storage()
    assert get_storage() is first
    settings.EVIDENCE_LOCAL_DIR = tmp_path / "b"
    assert get_storage() is not first


def test_an_unreachable_store_fails_with_one_error(settings: Any) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = S3Storage(
        endpoint=f"127.0.0.1:{port}",
        access_key=S3_ACCESS,
        secret_key=S3_SECRET,
        bucket="evidence",
        secure=False,
        region="us-east-1",
        connect_timeout=1,
        retries=1,
    )
    with pytest.raises(StorageError):
        store.put(new_key(1), io.BytesIO(b"%PDF-1.4"), 8, "application/pdf")
    with pytest.raises(StorageError):
        store.stat("case-1/x")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Ke\u0302\u0301 hoa\u0323ch CCHC.pdf", "Kế hoạch CCHC.pdf"),
        ("C:\\Users\\Lan\\Báo cáo quý 1.docx", "Báo cáo quý 1.docx"),
        ("../../etc/Quyết định.pdf", "Quyết định.pdf"),
        ("hoá đơn\u202egpj.exe", "hoá đơngpj.exe"),  # no right-to-left override trick
        ("  Tờ   trình\t.pdf ", "Tờ trình .pdf"),
        ("..", "evidence"),
        ("", "evidence"),
        ("Đ" * 300 + ".pdf", "Đ" * 251 + ".pdf"),
    ],
)
def test_the_original_file_name_is_kept_readable_and_harmless(given: str, kept: str) -> None:
    cleaned = clean_filename(given)
    assert cleaned == kept
    assert unicodedata.is_normalized("NFC", cleaned)
