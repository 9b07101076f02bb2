"""Where the cycle requires it, the head attaches the scan of the signed self-assessment
report (a PDF) before the submission counts; a file that is not a PDF, or too big, is refused
as evidence uploads are, and nothing is stored."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases.models import Case, Cycle, Score
from evidence.models import Document
from evidence.storage import LocalStorage
from results.models import SignedReport
from tests.evidence import samples
from tests.helpers import api, fill_self_scores, force_state


@pytest.fixture
def required(world: SimpleNamespace, local_store: LocalStorage) -> SimpleNamespace:
    Cycle.objects.filter(pk=world.cycle.pk).update(signed_report_required=True)
    fill_self_scores(world.case_a, 0)
    return world


def _attach(user: Any, case: Case, content: bytes, name: str = "bao-cao-da-ky.pdf") -> Any:
    return api(user).post(
        f"/api/v1/cases/{case.pk}/signed-report/",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )


def _submit(world: SimpleNamespace) -> Any:
    return api(world.head_a).post(
        f"/api/v1/cases/{world.case_a.pk}/transitions/submit/", HTTP_ACCEPT_LANGUAGE="en"
    )


def _state(case: Case) -> str:
    return Case.objects.get(pk=case.pk).state


def test_head_cannot_submit_without_the_signed_report_when_the_cycle_requires_it(
    required: SimpleNamespace,
) -> None:
    response = _submit(required)

    assert response.status_code == 400
    assert "signed self-assessment report" in str(response.json())
    assert _state(required.case_a) == Case.State.SELF_SCORING


def test_head_attaches_the_signed_report_and_the_submission_counts(
    required: SimpleNamespace,
) -> None:
    attached = _attach(required.head_a, required.case_a, samples.pdf())

    assert attached.status_code == 201
    report = SignedReport.objects.get(case=required.case_a)
    assert report.document.sha256 == attached.json()["sha256"]
    assert report.document.kind == "pdf"
    assert _submit(required).status_code == 200
    assert _state(required.case_a) == Case.State.SUBMITTED


def test_a_scan_attached_before_the_scores_changed_does_not_count(
    required: SimpleNamespace,
) -> None:
    assert _attach(required.head_a, required.case_a, samples.pdf()).status_code == 201
    score = Score.objects.filter(case=required.case_a, self_score__isnull=False).first()
    assert score is not None
    score.self_score = 0
    score.save()  # a later change of the table: the signed paper no longer matches it

    response = _submit(required)

    assert response.status_code == 400
    assert "print the report again" in str(response.json())
    assert _state(required.case_a) == Case.State.SELF_SCORING


def test_a_signed_report_that_is_not_a_pdf_is_refused_and_nothing_is_stored(
    required: SimpleNamespace, local_store: LocalStorage
) -> None:
    response = _attach(required.head_a, required.case_a, samples.PNG, "scan.pdf")

    assert response.status_code == 400
    assert "must be a PDF" in response.json()["detail"]
    assert not SignedReport.objects.exists() and not Document.objects.exists()
    assert list(local_store.list_objects()) == []


def test_a_signed_report_over_the_size_limit_is_refused(
    required: SimpleNamespace, settings: Any
) -> None:
    settings.EVIDENCE_MAX_UPLOAD_MB = 1
    response = _attach(required.head_a, required.case_a, samples.pdf(2 * 1024 * 1024))

    assert response.status_code == 413
    assert not SignedReport.objects.exists()


def test_only_the_units_head_attaches_the_signed_report(required: SimpleNamespace) -> None:
    assert _attach(required.staff_a, required.case_a, samples.pdf()).status_code == 403
    assert _attach(required.head_b, required.case_a, samples.pdf()).status_code == 404
    assert not SignedReport.objects.exists()


def test_head_cannot_attach_the_signed_report_once_the_deadline_passed(
    required: SimpleNamespace, local_store: LocalStorage
) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    Cycle.objects.filter(pk=required.cycle.pk).update(self_assessment_due=yesterday)

    response = _attach(required.head_a, required.case_a, samples.pdf())

    assert response.status_code == 400
    assert yesterday.strftime("%d/%m/%Y") in response.json()["detail"]
    assert not SignedReport.objects.exists() and not Document.objects.exists()
    assert list(local_store.list_objects()) == []


def test_head_cannot_attach_the_signed_report_to_a_sent_case(
    required: SimpleNamespace, local_store: LocalStorage
) -> None:
    force_state(required.case_a, Case.State.SUBMITTED)

    response = _attach(required.head_a, required.case_a, samples.pdf())

    assert response.status_code == 409
    assert "before the self-assessment is sent" in response.json()["detail"]
    assert not SignedReport.objects.exists() and not Document.objects.exists()
