"""The self-assessment report the head sent is kept as it was sent: written when the sending
commits, stored with the case's evidence, and given back byte for byte afterwards, whatever
changed since; a store that is down at the sending costs the unit nothing."""

from __future__ import annotations

import hashlib
import io
from types import SimpleNamespace
from typing import Any

import docx
import pytest
from django.test import Client
from django.urls import reverse

from cases.models import Case, Unit
from evidence.models import Document
from evidence.storage import LocalStorage, get_storage
from results.models import SubmittedReport
from tests.helpers import api, fill_self_scores
from workflow.models import AuditEntry


@pytest.fixture
def local_store(settings: Any, tmp_path: Any) -> LocalStorage:
    settings.MINIO_ENDPOINT = ""
    settings.EVIDENCE_LOCAL_DIR = tmp_path / "evidence"
    store = get_storage()
    assert isinstance(store, LocalStorage)
    return store


def _send(world: SimpleNamespace, capture: Any) -> Any:
    fill_self_scores(world.case_a, 0)
    with capture(execute=True):
        return api(world.head_a).post(f"/api/v1/cases/{world.case_a.pk}/transitions/submit/")


def _report(user: Any, case: Case) -> Any:
    return api(user).get(f"/api/v1/cases/{case.pk}/report.docx")


def _text(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    return "\n".join(p.text for p in document.paragraphs)


def test_the_report_sent_is_kept_and_given_back_unchanged_after_the_unit_is_renamed(
    world: SimpleNamespace, local_store: LocalStorage, django_capture_on_commit_callbacks: Any
) -> None:
    assert _send(world, django_capture_on_commit_callbacks).status_code == 200

    kept = SubmittedReport.objects.select_related("document", "submission").get()
    assert kept.submission.action == "workflow.case.submit"
    assert kept.document.case_id == world.case_a.pk and kept.document.kind == "docx"
    entry = AuditEntry.objects.get(action="results.submitted_report.kept")
    assert entry.data["sha256"] == kept.document.sha256
    sent_name = world.case_a.unit.name
    Unit.objects.filter(pk=world.case_a.unit_id).update(name="Tên mới sau khi gửi")

    for reader in (world.staff_a, world.secretariat):
        response = _report(reader, world.case_a)
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == kept.document.sha256
        text = _text(response.content)
        assert sent_name in text and "Tên mới" not in text
    staff = Client()
    staff.force_login(world.staff_a)
    history = staff.get(reverse("web:history", args=[world.case_a.pk]))
    assert "Đã lưu báo cáo tự đánh giá như bản đã gửi" in history.content.decode()


def test_a_draft_report_is_written_afresh_and_nothing_is_kept_before_sending(
    world: SimpleNamespace, local_store: LocalStorage
) -> None:
    response = _report(world.head_a, world.case_a)

    assert response.status_code == 200
    assert "Bản dự thảo" in _text(response.content)  # the draft says so
    assert not SubmittedReport.objects.exists() and not Document.objects.exists()


def test_a_store_down_at_the_sending_does_not_undo_it_and_the_report_is_written_afresh(
    world: SimpleNamespace,
    settings: Any,
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
    caplog: Any,
) -> None:
    settings.MINIO_ENDPOINT = ""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the store's folder cannot be created: every write fails
    settings.EVIDENCE_LOCAL_DIR = blocked

    assert _send(world, django_capture_on_commit_callbacks).status_code == 200

    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.SUBMITTED
    assert not SubmittedReport.objects.exists() and not Document.objects.exists()
    assert "Could not keep the submitted report" in caplog.text
    response = _report(world.head_a, world.case_a)
    assert response.status_code == 200
    assert "Bảng điểm trên là bảng điểm đã gửi" in _text(response.content)
