"""GET /api/v1/evidence/{id}/download/ and the case's evidence list: who may read what.

Everyone who may see the case may read its evidence (the unit, the appraisers of the cycle,
the secretariat, the leader, the auditor); every read is audited. Others get 404.
"""

from __future__ import annotations

import urllib.request
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from evidence.models import Document
from evidence.storage import Storage
from tests.evidence import samples
from tests.evidence.helpers import client_for, upload
from workflow.models import AuditEntry

READERS = ["staff_a", "head_a", "appraiser", "appraiser2", "secretariat", "leader", "auditor"]
STRANGERS = ["staff_b", "head_b", "outsider"]


@pytest.fixture
def document(world: SimpleNamespace, store: Storage) -> dict[str, Any]:
    response = upload(
        world.staff_a, world.case_a, "1.1.1", samples.pdf(5000), "Quyết định số 12.pdf"
    )
    assert response.status_code == 201
    return {**response.json(), "content": samples_content(response.json()["id"], store)}


def samples_content(document_id: int, store: Storage) -> bytes:
    doc = Document.objects.get(pk=document_id)
    return b"".join(store.iter_chunks(doc.storage_key, doc.version_id))


def download(user: Any, document_id: int) -> Any:
    return client_for(user).get(reverse("evidence-download", args=[document_id]))


@pytest.mark.parametrize("who", READERS)
def test_everyone_who_may_see_the_case_may_download_its_evidence(
    world: SimpleNamespace, store: Storage, document: dict[str, Any], who: str
) -> None:
    user = getattr(world, who)
    response = download(user, document["id"])

    if store.name == "s3":
        assert response.status_code == 302
        url = response["Location"]
        query = parse_qs(urlsplit(url).query)
        assert query["X-Amz-Expires"] == ["60"]
        assert "attachment" in query["response-content-disposition"][0]
        with urllib.request.urlopen(url, timeout=10) as fetched:  # the S3 server serves it
            assert fetched.read() == document["content"]
    else:
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == document["content"]
        assert response["Content-Type"] == "application/pdf"
        assert response["Content-Disposition"] == (
            "attachment; filename*=utf-8''Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh%20s%E1%BB%91%2012.pdf"
        )
    assert response["Cache-Control"] == "private, no-store"
    entry = AuditEntry.objects.get(action="evidence.file.downloaded")
    assert (entry.actor, entry.case_id, entry.object_id) == (
        user,
        world.case_a.pk,
        str(document["id"]),
    )


@pytest.mark.parametrize("who", STRANGERS)
def test_others_cannot_download_nor_learn_the_evidence_exists(
    world: SimpleNamespace, local_store: Storage, who: str
) -> None:
    doc_id = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf()).json()["id"]

    response = download(getattr(world, who), doc_id)

    assert response.status_code == 404
    assert response.json()["detail"] == "This evidence does not exist or you may not see it."
    assert download(getattr(world, who), doc_id + 1000).json() == response.json()
    assert not AuditEntry.objects.filter(action="evidence.file.downloaded").exists()


def test_anonymous_users_cannot_download(world: SimpleNamespace, local_store: Storage) -> None:
    from rest_framework.test import APIClient

    doc_id = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf()).json()["id"]
    assert APIClient().get(reverse("evidence-download", args=[doc_id])).status_code in (401, 403)


def test_a_file_found_missing_is_not_served(world: SimpleNamespace, local_store: Storage) -> None:
    doc_id = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(), "mất.pdf").json()["id"]
    Document.objects.filter(pk=doc_id).update(integrity=Document.Integrity.MISSING)

    response = download(world.appraiser, doc_id)

    assert response.status_code == 410
    assert response.json()["detail"] == "The file “mất.pdf” is missing or altered in the store."


def test_a_local_file_that_vanished_answers_503(
    world: SimpleNamespace, local_store: Storage
) -> None:
    doc_id = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf()).json()["id"]
    document = Document.objects.get(pk=doc_id)
    local_store.delete(document.storage_key)

    assert download(world.appraiser, doc_id).status_code == 503


def test_a_public_endpoint_signs_links_for_the_host_users_reach(
    world: SimpleNamespace, s3_store: Storage, settings: Any
) -> None:
    doc_id = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf()).json()["id"]
    settings.MINIO_PUBLIC_ENDPOINT = "files.cchc.example.gov.vn"
    settings.MINIO_PUBLIC_SECURE = True

    location = download(world.appraiser, doc_id)["Location"]

    assert location.startswith("https://files.cchc.example.gov.vn/")


def test_the_appraiser_sees_the_evidence_of_each_criterion_in_constant_queries(
    world: SimpleNamespace, local_store: Storage, django_assert_max_num_queries: Any
) -> None:
    url = reverse("case-evidence", args=[world.case_a.pk])
    upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(), "một.pdf", note="trang 2")
    with CaptureQueriesContext(connection) as one:
        assert len(client_for(world.appraiser).get(url).json()) == 1
    queries_for_one = len(one.captured_queries)  # read now: each request resets the log
    for i, code in enumerate(["1.1.1", "1.1.2", "1.2", "1.5", "2.2", "3.1.1"] * 2):
        upload(world.staff_a, world.case_a, code, samples.pdf(100 + i), f"tệp {i}.pdf")

    with django_assert_max_num_queries(queries_for_one):
        rows = client_for(world.appraiser).get(url).json()

    assert len(rows) == 13
    assert [(r["criterion"], r["version"]) for r in rows[:3]] == [
        ("1.1.1", 3),
        ("1.1.1", 2),
        ("1.1.1", 1),
    ]
    first = rows[2]
    assert first["note"] == "trang 2" and first["current"] is True
    assert first["document"]["filename"] == "một.pdf"
    assert first["document"]["download_url"] == reverse(
        "evidence-download", args=[first["document"]["id"]]
    )


def test_another_unit_cannot_list_the_evidence(
    world: SimpleNamespace, local_store: Storage
) -> None:
    url = reverse("case-evidence", args=[world.case_a.pk])
    assert client_for(world.staff_b).get(url).status_code == 404
