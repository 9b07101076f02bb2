"""The object store unreachable, or going down in the middle of an upload: the user gets 503
and a message to try again; no row, no object; the case and its other evidence untouched."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import DatabaseError
from minio import Minio

from cases.models import Case
from evidence.models import Document, EvidenceLink
from evidence.storage import S3Storage
from tests.evidence import samples
from tests.evidence.helpers import s3_endpoint, upload, use_s3
from tests.evidence.netcut import CuttableLink

UNAVAILABLE = (
    "The evidence store cannot be reached right now. Nothing was saved; try again in a few minutes."
)


def objects_in(client: Minio, bucket: str) -> list[str]:
    return sorted(
        o.object_name for o in client.list_objects(bucket, recursive=True, include_version=True)
    )


@pytest.fixture
def link_to_s3(s3_store: S3Storage, settings: Any) -> Iterator[CuttableLink]:
    """The application reaches the S3 server through a cable the test can cut."""
    host, port = s3_endpoint().rsplit(":", 1)
    cable = CuttableLink(host, int(port), cut_after=6 * 1024 * 1024)
    use_s3(settings, cable.endpoint, s3_store.bucket)
    settings.MINIO_RETRIES = 1
    yield cable
    cable.close()


@pytest.mark.parametrize(
    "content",
    [
        samples.pdf(),  # a small file, checked whole first
        samples.pdf(3 * 1024 * 1024),  # a scan of one part, stored as soon as it is in
    ],
)
def test_an_unreachable_store_answers_503_and_saves_nothing(
    world: SimpleNamespace, s3_store: S3Storage, s3_direct: Minio, settings: Any, content: bytes
) -> None:
    kept = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(), "đã nộp.pdf").json()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    use_s3(settings, f"127.0.0.1:{closed_port}", s3_store.bucket)

    response = upload(world.staff_a, world.case_a, "1.2", content, "mới.pdf")

    assert response.status_code == 503
    assert response.json()["detail"] == UNAVAILABLE
    assert list(Document.objects.values_list("pk", flat=True)) == [kept["id"]]
    assert objects_in(s3_direct, s3_store.bucket) == [Document.objects.get().storage_key]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        # a scan, sent on to the store while it arrives
        ("lớn.pdf", samples.pdf(16 * 1024 * 1024)),
        # an Office file, checked whole first, then sent
        ("lớn.docx", samples.docx(filler=16 * 1024 * 1024)),
    ],
)
def test_the_store_going_down_mid_upload_leaves_no_row_and_no_object(
    world: SimpleNamespace,
    s3_store: S3Storage,
    s3_direct: Minio,
    link_to_s3: CuttableLink,
    name: str,
    content: bytes,
) -> None:
    kept = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(), "đã nộp.pdf")
    assert kept.status_code == 201
    kept_key = Document.objects.get().storage_key
    state_before = Case.objects.values_list("state", "updated_at").get(pk=world.case_a.pk)

    response = upload(world.staff_a, world.case_a, "1.2", content, name)

    assert link_to_s3.cut.is_set()  # the cable was really cut during this upload
    assert response.status_code == 503
    assert response.json()["detail"] == UNAVAILABLE
    assert Document.objects.count() == 1 and EvidenceLink.objects.count() == 1
    assert objects_in(s3_direct, s3_store.bucket) == [kept_key]
    assert Case.objects.values_list("state", "updated_at").get(pk=world.case_a.pk) == state_before
    still = Document.objects.get()
    assert s3_direct.stat_object(s3_store.bucket, still.storage_key).size == still.size


def test_a_row_that_cannot_be_written_takes_its_object_with_it(
    world: SimpleNamespace, s3_store: S3Storage, s3_direct: Minio
) -> None:
    from django.db import connection

    with connection.cursor() as cursor:  # the database refuses the insert, for real
        cursor.execute(
            "CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$;"
            "CREATE TRIGGER refuse BEFORE INSERT ON evidence_document "
            "FOR EACH ROW EXECUTE FUNCTION refuse_insert();"
        )

    with pytest.raises(DatabaseError):
        upload(world.staff_a, world.case_a, "1.1.1", samples.pdf())

    assert not Document.objects.exists()
    assert objects_in(s3_direct, s3_store.bucket) == []
