"""POST /api/v1/cases/{id}/evidence/: the unit uploads evidence for a criterion.

Every refusal is checked to store nothing: no row, no object.
"""

from __future__ import annotations

import base64
import hashlib
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from evidence.models import Document, EvidenceLink
from evidence.storage import S3Storage, Storage
from tests.evidence import samples
from tests.evidence.helpers import S3_ACCESS, S3_SECRET, client_for, stored_keys, upload
from tests.helpers import force_state
from workflow import services as workflow_services
from workflow.models import AuditEntry


def nothing_stored(store: Storage) -> bool:
    return not Document.objects.exists() and stored_keys(store) == []


def test_unit_staff_uploads_a_pdf_and_gets_its_checksum(
    world: SimpleNamespace, store: Storage
) -> None:
    content = samples.pdf(300_000)
    response = upload(world.staff_a, world.case_a, "1.1.1", content, note="Mục II, trang 3")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["size"] == len(content)
    assert body["content_type"] == "application/pdf"
    assert body["filename"] == "Kế hoạch CCHC.pdf"
    assert body["link"]["criterion"] == "1.1.1"
    assert body["link"]["version"] == 1
    assert body["link"]["note"] == "Mục II, trang 3"
    document = Document.objects.get(pk=body["id"])
    assert document.uploaded_by == world.staff_a
    assert b"".join(store.iter_chunks(document.storage_key, document.version_id)) == content
    entry = AuditEntry.objects.get(action="evidence.file.added")
    assert entry.actor == world.staff_a and entry.case == world.case_a
    assert entry.data["sha256"] == body["sha256"] and entry.data["criterion"] == "1.1.1"


def test_the_upload_answer_is_what_its_documented_serializer_writes(
    world: SimpleNamespace, store: Storage
) -> None:
    from rest_framework.renderers import JSONRenderer

    from evidence.api import UploadedSerializer

    response = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(), note="Mục II")

    assert response.status_code == 201, response.json()
    link = EvidenceLink.objects.select_related("document", "criterion").get()
    documented = UploadedSerializer(link.document, context={"link": link}).data
    assert response.content == JSONRenderer().render(documented)


def test_the_vietnamese_file_name_is_kept_composed_apart_from_the_storage_key(
    world: SimpleNamespace, local_store: Storage
) -> None:
    decomposed = (
        "Ba\u0301o ca\u0301o ke\u0302\u0301t qua\u0309 tu\u031b\u0323 đa\u0301nh gia\u0301.docx"
    )
    response = upload(world.head_a, world.case_a, "1.2", samples.docx(), decomposed)

    assert response.status_code == 201, response.json()
    document = Document.objects.get()
    assert document.filename == "Báo cáo kết quả tự đánh giá.docx"
    assert document.kind == "docx"
    assert document.storage_key.startswith(f"case-{world.case_a.pk}/")
    assert "Báo" not in document.storage_key and "docx" not in document.storage_key


def test_each_kind_of_allowed_document_is_accepted(
    world: SimpleNamespace, local_store: Storage
) -> None:
    files = {
        "a.pdf": samples.pdf(),
        "b.doc": samples.ole("WordDocument"),
        "c.docx": samples.docx(),
        "d.xls": samples.ole("Workbook"),
        "e.xlsx": samples.xlsx(),
        "f.odt": samples.odf(),
        "g.ods": samples.odf("application/vnd.oasis.opendocument.spreadsheet"),
        "h.jpg": samples.JPEG,
        "i.png": samples.PNG,
    }
    for name, content in files.items():
        response = upload(world.staff_a, world.case_a, "1.5", content, name, declared="x/y")
        assert response.status_code == 201, (name, response.json())
    assert sorted(Document.objects.values_list("kind", flat=True)) == [
        "doc", "docx", "jpeg", "ods", "odt", "pdf", "png", "xls", "xlsx",
    ]  # fmt: skip


def test_uploading_again_for_a_criterion_adds_a_version(
    world: SimpleNamespace, local_store: Storage
) -> None:
    first = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(), "v1.pdf").json()
    second = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(2000), "v2.pdf").json()

    assert (first["link"]["version"], second["link"]["version"]) == (1, 2)
    assert first["id"] != second["id"]
    assert len(stored_keys(local_store)) == 2  # nothing overwritten
    assert EvidenceLink.objects.filter(withdrawn_at__isnull=True).count() == 2


@pytest.mark.parametrize(
    ("name", "content", "what"),
    [
        ("Quyết định.pdf", samples.EXE, "a Windows program (.exe/.dll)"),
        ("bảng.xlsx", samples.plain_zip(), "a ZIP archive"),
        ("bảng.xlsx", samples.docm(), "a Word document with macros (.docm)"),
        ("cài đặt.doc", samples.ole("x", clsid=samples.MSI_CLSID), "a Windows installer (.msi)"),
        ("trang.pdf", samples.HTML, "a web page (HTML)"),
        ("ghi chú.txt", samples.TEXT, "plain text"),
    ],
)
def test_a_disguised_or_not_allowed_file_is_refused_naming_what_it_is(
    world: SimpleNamespace, store: Storage, name: str, content: bytes, what: str
) -> None:
    response = upload(world.staff_a, world.case_a, "1.1.1", content, name)

    assert response.status_code == 400
    assert response.json()["detail"] == f"“{name}” cannot be accepted: it is {what}."
    assert "a PDF document" in response.json()["errors"][0]
    assert nothing_stored(store)


def test_an_empty_file_is_refused(world: SimpleNamespace, store: Storage) -> None:
    response = upload(world.staff_a, world.case_a, "1.1.1", b"", "Tờ trình.pdf")

    assert response.status_code == 400
    assert response.json()["detail"] == "“Tờ trình.pdf” is empty."
    assert nothing_stored(store)


def test_an_oversized_file_is_refused_with_the_limit_while_it_arrives(
    world: SimpleNamespace, store: Storage, settings: Any
) -> None:
    settings.EVIDENCE_MAX_UPLOAD_MB = 1
    response = upload(
        world.staff_a, world.case_a, "1.1.1", samples.pdf(1024 * 1024 + 1), "Hồ sơ.pdf"
    )

    assert response.status_code == 413
    assert response.json()["detail"] == "“Hồ sơ.pdf” is larger than the limit of 1 MB."
    assert nothing_stored(store)


def test_an_oversized_request_is_refused_before_it_is_read(
    world: SimpleNamespace, store: Storage, settings: Any
) -> None:
    settings.EVIDENCE_MAX_UPLOAD_MB = 1
    response = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf(3 * 1024 * 1024))

    assert response.status_code == 413
    assert response.json()["detail"] == "The file is larger than the limit of 1 MB."
    assert nothing_stored(store)


@pytest.mark.parametrize(
    ("criterion", "message"),
    [
        ("99.9", "Criterion 99.9 is not a scored criterion of this case's framework."),
        ("1.1", "Criterion 1.1 is not a scored criterion of this case's framework."),
        ("1.6", "Criterion 1.6 is scored by the survey import and takes no evidence."),
        ("", "Say which criterion the evidence is for."),
    ],
)
def test_a_criterion_outside_the_cases_framework_is_refused(
    world: SimpleNamespace, store: Storage, criterion: str, message: str
) -> None:
    response = upload(world.staff_a, world.case_a, criterion, samples.pdf())

    assert response.status_code == 400
    assert response.json()["detail"] == message
    assert nothing_stored(store)


def test_a_request_without_a_file_is_refused(world: SimpleNamespace, local_store: Storage) -> None:
    response = client_for(world.staff_a).post(
        reverse("case-evidence", args=[world.case_a.pk]), {"criterion": "1.1.1"}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Attach the file."


@pytest.mark.parametrize("state", ["submitted", "appraising", "finalised", "published"])
def test_evidence_cannot_be_added_once_the_case_is_submitted(
    world: SimpleNamespace, store: Storage, state: str
) -> None:
    case = force_state(world.case_a, state)
    response = upload(world.head_a, case, "1.1.1", samples.pdf())

    assert response.status_code == 409
    assert "frozen" in response.json()["detail"]
    assert nothing_stored(store)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("staff_b", 404),  # another unit's staff does not learn the case exists
        ("head_b", 404),
        ("outsider", 404),
        ("appraiser", 403),
        ("secretariat", 403),
        ("leader", 403),
        ("auditor", 403),
    ],
)
def test_only_the_units_own_staff_may_upload(
    world: SimpleNamespace, store: Storage, who: str, status: int
) -> None:
    response = upload(getattr(world, who), world.case_a, "1.1.1", samples.pdf())

    assert response.status_code == status
    assert nothing_stored(store)


def test_anonymous_upload_is_refused(world: SimpleNamespace, local_store: Storage) -> None:
    from rest_framework.test import APIClient

    response = APIClient().post(
        reverse("case-evidence", args=[world.case_a.pk]), {"criterion": "1.1.1"}, format="multipart"
    )
    assert response.status_code in (401, 403)


def test_evidence_cannot_be_added_after_the_self_assessment_deadline(
    world: SimpleNamespace, local_store: Storage
) -> None:
    from datetime import timedelta

    import time_machine

    from deadlines.calendar import end_of_day

    with time_machine.travel(end_of_day(world.cycle.self_assessment_due) + timedelta(minutes=1)):
        response = upload(world.staff_a, world.case_a, "1.1.1", samples.pdf())

    assert response.status_code == 400
    assert "deadline passed" in response.json()["detail"]
    assert nothing_stored(local_store)


def test_during_the_explanation_evidence_answers_the_questioned_criteria_only(
    world: SimpleNamespace, store: Storage
) -> None:
    force_state(world.case_a, "appraising")
    workflow_services.ask_clarification(
        world.case_a.pk,
        "1.1.1",
        "Đề nghị bổ sung quyết định ban hành kế hoạch.",
        actor=world.appraiser,
    )
    case = force_state(world.case_a, "explanation")

    answered = upload(world.staff_a, case, "1.1.1", samples.pdf(), "Quyết định 123.pdf")
    unasked = upload(world.staff_a, case, "1.2", samples.pdf())

    assert answered.status_code == 201, answered.json()
    assert unasked.status_code == 400
    assert "clarification question" in unasked.json()["detail"]
    assert Document.objects.count() == 1 and len(stored_keys(store)) == 1


def test_a_large_scan_is_stored_while_it_arrives_with_its_checksum(
    world: SimpleNamespace, store: Storage
) -> None:
    content = samples.pdf(12 * 1024 * 1024)  # decided by its first bytes: streamed
    response = upload(world.staff_a, world.case_a, "1.1.1", content, "Bản scan.pdf")

    assert response.status_code == 201, response.json()
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    document = Document.objects.get()
    assert store.sha256(document.storage_key, document.version_id) == document.sha256
    assert stored_keys(store) == [document.storage_key]


def test_a_scan_of_one_part_goes_to_the_store_in_one_put_signed_with_the_digest_recorded(
    world: SimpleNamespace, s3_store: S3Storage, monkeypatch: Any
) -> None:
    import minio.api
    import urllib3

    sent: list[tuple[str, str, Any]] = []
    urlopen = urllib3.PoolManager.urlopen

    def spy(pool: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        sent.append((method, url, kwargs.get("headers")))
        return urlopen(pool, method, url, *args, **kwargs)

    hashed: list[int] = []
    sha256_hash = minio.api.sha256_hash

    def counted(data: Any) -> str:
        hashed.append(len(data or b""))
        return sha256_hash(data)

    monkeypatch.setattr(urllib3.PoolManager, "urlopen", spy)
    monkeypatch.setattr(minio.api, "sha256_hash", counted)
    content = samples.pdf(3 * 1024 * 1024)  # decided by its first bytes, under one part

    response = upload(world.staff_a, world.case_a, "1.1.1", content, "Bản scan.pdf")

    assert response.status_code == 201, response.json()
    digest = hashlib.sha256(content).hexdigest()
    assert response.json()["sha256"] == digest
    # One request: no multipart upload (POST ?uploads, PUT ?partNumber=), no HEAD or stat.
    assert [(method, urlsplit(url).query) for method, url, _headers in sent] == [("PUT", "")]
    # The server checks the body against the digest the row records...
    assert sent[0][2]["x-amz-content-sha256"] == digest
    # ...which was computed once: the SDK hashed no body of its own.
    assert max(hashed, default=0) < len(content)
    document = Document.objects.get()
    assert s3_store.sha256(document.storage_key, document.version_id) == digest


def test_over_https_the_store_keeps_its_unsigned_payload_and_body_checksum() -> None:
    from minio.credentials import Credentials

    store = S3Storage(
        endpoint="store.invalid:9000",
        access_key=S3_ACCESS,
        secret_key=S3_SECRET,
        bucket="evidence",
        secure=True,
        region="us-east-1",
    )
    body = samples.pdf(64 * 1024)
    headers, _date = store.client._build_headers(
        "store.invalid:9000",
        {"x-amz-content-sha256": hashlib.sha256(body).hexdigest()},
        body,
        Credentials(S3_ACCESS, S3_SECRET),
    )

    assert headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"  # TLS guards the body
    assert headers["Content-MD5"] == base64.b64encode(hashlib.md5(body).digest()).decode()
    assert headers["Content-Length"] == str(len(body))


# Before the body is read, the case with the user's permissions on it and its dates; in the
# transaction the locked case with its audit chain's head, the criterion, the document, the
# version, the link and the audit entry (BEGIN and COMMIT included). It was 20 when each
# check read the case, the permissions and the extensions again.
UPLOAD_QUERIES = 9


def test_a_scan_stored_while_it_arrives_costs_a_fixed_number_of_queries(
    world: SimpleNamespace, store: Storage, django_assert_max_num_queries: Any
) -> None:
    staff = type(world.staff_a).objects.get(pk=world.staff_a.pk)  # as a request loads them
    content = samples.pdf(2 * 1024 * 1024)

    with django_assert_max_num_queries(UPLOAD_QUERIES):
        response = upload(staff, world.case_a, "1.1.1", content, "Bản scan.pdf")

    assert response.status_code == 201, response.json()
    assert AuditEntry.objects.filter(case=world.case_a, action="evidence.file.added").count() == 1


@pytest.mark.parametrize("criterion", ["99.9", "1.6"])
def test_a_file_stored_while_arriving_is_removed_when_the_criterion_is_refused(
    world: SimpleNamespace, store: Storage, criterion: str
) -> None:
    response = upload(world.staff_a, world.case_a, criterion, samples.pdf(3 * 1024 * 1024))

    assert response.status_code == 400
    assert nothing_stored(store)


@pytest.mark.parametrize("field", ["note", "criterion"])
def test_a_unit_sending_a_text_as_a_list_beside_its_scan_gets_the_field_named_and_nothing_kept(
    world: SimpleNamespace, store: Storage, field: str
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    body: dict[str, Any] = {
        "criterion": "1.1.1",
        "note": "Mục II",
        # Decided by its first bytes: already in the store when the texts are read.
        "file": SimpleUploadedFile("Bản scan.pdf", samples.pdf(3 * 1024 * 1024)),
    }
    body[field] = ["1.1.1", "1.1.2"] if field == "criterion" else ["Mục II", "trang 3"]
    response = client_for(world.staff_a).post(
        reverse("case-evidence", args=[world.case_a.pk]), body, format="multipart"
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The data sent is not valid.",
        "errors": [f"{field}: Not a valid string."],
    }
    assert nothing_stored(store)
    assert not EvidenceLink.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="evidence.").exists()


def test_a_note_too_long_beside_a_scan_already_stored_is_refused_and_removed(
    world: SimpleNamespace, store: Storage
) -> None:
    content = samples.pdf(3 * 1024 * 1024)
    response = upload(world.staff_a, world.case_a, "1.1.1", content, note="x" * 501)

    assert response.status_code == 400
    assert "too long (at most 500 characters)" in response.json()["detail"]
    assert nothing_stored(store)


def test_a_second_file_in_the_request_is_refused_and_nothing_kept(
    world: SimpleNamespace, store: Storage
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(world.staff_a).post(
        reverse("case-evidence", args=[world.case_a.pk]),
        {
            "criterion": "1.1.1",
            "file": [
                SimpleUploadedFile("a.pdf", samples.pdf(3 * 1024 * 1024)),
                SimpleUploadedFile("b.pdf", samples.pdf(10_000)),
            ],
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "Send one file per request, in the field “file”."
    assert nothing_stored(store)


def session_client(user: Any) -> Any:
    """A browser-like client: session login and CSRF enforced (the body is parsed by the
    CSRF check, before the view runs)."""
    from django.middleware.csrf import _get_new_csrf_string
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    client.defaults["HTTP_X_CSRFTOKEN"] = token
    return client


@pytest.mark.parametrize(
    ("who", "status"), [("staff_a", 201), ("staff_b", 404), ("appraiser", 403)]
)
def test_a_browser_session_upload_is_checked_before_anything_is_stored(
    world: SimpleNamespace, store: Storage, who: str, status: int
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = session_client(getattr(world, who)).post(
        reverse("case-evidence", args=[world.case_a.pk]),
        {
            "criterion": "1.1.1",
            "file": SimpleUploadedFile("scan.pdf", samples.pdf(3 * 1024 * 1024)),
        },
        format="multipart",
    )

    assert response.status_code == status, response.content
    assert len(stored_keys(store)) == (1 if status == 201 else 0)


def test_an_upload_cut_short_by_the_client_leaves_nothing(
    world: SimpleNamespace, store: Storage
) -> None:
    boundary = "b0undary"
    content = samples.pdf(8 * 1024 * 1024)  # decided by its first bytes: streamed
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="criterion"\r\n\r\n1.1.1\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + content[: len(content) // 2]  # the connection dropped half-way

    response = client_for(world.staff_a).generic(
        "POST",
        reverse("case-evidence", args=[world.case_a.pk]),
        body,  # type: ignore[arg-type]  # bytes, which DRF sends as they are; the stubs say str
        content_type=f"multipart/form-data; boundary={boundary}",
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "Attach the file."
    assert nothing_stored(store)
