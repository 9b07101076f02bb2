"""The self-assessment report the head sent is kept as it was sent: written by the worker's
next pass after the sending (or by its first reader, if that comes first), stored with the
case's evidence, and given back byte for byte afterwards, whatever changed since; a store
that is down at the sending costs the unit nothing."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import docx
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, Cycle, Unit
from deadlines.calendar import VN, local_date
from deadlines.runner import run_after_sweep
from deadlines.sweep import sweep
from evidence.models import Document
from evidence.storage import LocalStorage
from results import documents
from results.models import SubmittedReport
from results.services import keep_missing_reports
from tests.deadlines.helpers import request_explanation
from tests.evidence.helpers import upload
from tests.evidence.samples import PDF
from tests.helpers import api, fill_self_scores, force_state
from workflow.models import AuditEntry


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
    assert not SubmittedReport.objects.exists()  # the sending itself writes no Word file

    run_after_sweep()  # the worker's next pass

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


def test_the_first_reader_before_the_workers_pass_keeps_the_report_sent(
    world: SimpleNamespace, local_store: LocalStorage, django_capture_on_commit_callbacks: Any
) -> None:
    assert _send(world, django_capture_on_commit_callbacks).status_code == 200

    response = _report(world.head_a, world.case_a)

    assert response.status_code == 200
    kept = SubmittedReport.objects.select_related("document").get()
    assert hashlib.sha256(response.content).hexdigest() == kept.document.sha256
    assert "Bảng điểm trên là bảng điểm đã gửi" in _text(response.content)
    assert keep_missing_reports() == 0  # the worker finds it kept
    again = _report(world.secretariat, world.case_a)
    assert again.content == response.content
    assert SubmittedReport.objects.count() == 1


def test_a_draft_report_is_written_afresh_and_nothing_is_kept_before_sending(
    world: SimpleNamespace, local_store: LocalStorage
) -> None:
    response = _report(world.head_a, world.case_a)

    assert response.status_code == 200
    assert "Bản dự thảo" in _text(response.content)  # the draft says so
    assert not SubmittedReport.objects.exists() and not Document.objects.exists()


def test_a_store_down_when_the_report_is_read_does_not_undo_the_sending_and_it_is_written_afresh(
    world: SimpleNamespace, settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.MINIO_ENDPOINT = ""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the store's folder cannot be created: every write fails
    settings.EVIDENCE_LOCAL_DIR = blocked

    assert _send(world, django_capture_on_commit_callbacks).status_code == 200

    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.SUBMITTED
    response = _report(world.head_a, world.case_a)
    assert response.status_code == 200
    assert "Bảng điểm trên là bảng điểm đã gửi" in _text(response.content)
    assert not SubmittedReport.objects.exists() and not Document.objects.exists()


def _locked_at_the_cutoff(world: SimpleNamespace) -> None:
    fill_self_scores(world.case_a, 0)
    yesterday = local_date(timezone.now()) - timedelta(days=1)
    Cycle.objects.filter(pk=world.cycle.pk).update(self_assessment_due=yesterday)
    assert sweep().locked == 2


def test_a_case_locked_at_the_cutoff_has_its_report_kept_for_the_council(
    world: SimpleNamespace, local_store: LocalStorage
) -> None:
    _locked_at_the_cutoff(world)

    run_after_sweep()  # the worker's pass after the sweep

    kept = SubmittedReport.objects.select_related("document", "submission").get(case=world.case_a)
    assert kept.submission.action == "workflow.case.lock_at_cutoff"
    assert SubmittedReport.objects.filter(case=world.case_b).count() == 1
    response = _report(world.secretariat, world.case_a)
    assert hashlib.sha256(response.content).hexdigest() == kept.document.sha256
    assert "Đơn vị không gửi kết quả tự đánh giá" in _text(response.content)
    staff = Client()
    staff.force_login(world.secretariat)
    tab = staff.get(reverse("web:case-documents", args=[world.case_a.pk])).content.decode()
    assert kept.document.sha256 in tab
    assert "Đơn vị không gửi kết quả tự đánh giá" in tab  # locked, not sent
    # The appraisal report names the report the council reads for each unit.
    force_state(world.case_b, Case.State.FINALISED)
    appraisal = _text(documents.appraisal_report(world.cycle))
    assert (
        f"chưa gửi, bị khóa khi hết hạn ngày {kept.submission.at.astimezone(VN):%d/%m/%Y %H:%M}"
        in appraisal
    )
    assert f"SHA-256 {kept.document.sha256}" in appraisal
    # A second pass finds nothing left to keep.
    assert keep_missing_reports() == 0
    assert SubmittedReport.objects.count() == 2


def test_a_report_the_store_could_not_take_is_kept_on_the_pass_after_it_is_back(
    world: SimpleNamespace, settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.MINIO_ENDPOINT = ""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")  # the store is down after the sending
    settings.EVIDENCE_LOCAL_DIR = blocked
    assert _send(world, django_capture_on_commit_callbacks).status_code == 200
    assert not SubmittedReport.objects.exists()
    assert keep_missing_reports() == 0  # still down: nothing kept, nothing lost
    settings.EVIDENCE_LOCAL_DIR = tmp_path / "evidence"  # the store is back

    assert keep_missing_reports() == 1

    kept = SubmittedReport.objects.select_related("submission").get()
    assert kept.submission.action == "workflow.case.submit"
    assert kept.case_id == world.case_a.pk


def test_a_case_taken_back_to_self_scoring_gets_no_report_kept(
    world: SimpleNamespace, local_store: LocalStorage
) -> None:
    fill_self_scores(world.case_a, 0)
    assert (
        api(world.head_a).post(f"/api/v1/cases/{world.case_a.pk}/transitions/submit/").status_code
        == 200
    )
    assert (
        api(world.head_a).post(f"/api/v1/cases/{world.case_a.pk}/transitions/recall/").status_code
        == 200
    )

    assert keep_missing_reports() == 0
    assert not SubmittedReport.objects.exists() and not Document.objects.exists()


def test_a_report_kept_after_the_explanation_began_lists_only_the_evidence_sent(
    world: SimpleNamespace, local_store: LocalStorage
) -> None:
    assert (
        upload(world.staff_a, world.case_a, "1.1.1", PDF, "Kế hoạch gửi kèm.pdf").status_code == 201
    )
    fill_self_scores(world.case_a, 0)
    assert (
        api(world.head_a).post(f"/api/v1/cases/{world.case_a.pk}/transitions/submit/").status_code
        == 200
    )
    request_explanation(world, world.case_a, timezone.now())  # a question on 1.1.1
    later = upload(world.staff_a, world.case_a, "1.1.1", PDF, "Bổ sung sau.pdf")
    assert later.status_code == 201, later.json()

    assert keep_missing_reports() == 1

    kept = SubmittedReport.objects.select_related("document").get()
    content = b"".join(local_store.iter_chunks(kept.document.storage_key, kept.document.version_id))
    text = _cells(content)
    assert "Kế hoạch gửi kèm.pdf" in text
    assert "Bổ sung sau.pdf" not in text


def _cells(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    return "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
