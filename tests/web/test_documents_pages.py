"""The documents on the pages: a case's Documents tab (its report, the head's signed scan
attached and listed there), and the cycle's downloads offered exactly when they answer with
the file."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import Cycle
from evidence.models import Document
from evidence.storage import LocalStorage
from results.models import SignedReport
from tests.evidence import samples
from tests.helpers import fill_self_scores
from tests.web.html import Page
from tests.web.test_results_pages import _finalised, _published


def _tab(client: Client, world: Any) -> Page:
    response = client.get(reverse("web:case-documents", args=[world.case_a.pk]))
    assert response.status_code == 200
    return Page(response)


def _attach(client: Client, world: Any, content: bytes, name: str = "bao-cao-ky.pdf") -> Any:
    return client.post(
        reverse("web:signed-report", args=[world.case_a.pk]),
        {"file": SimpleUploadedFile(name, content)},
    )


def _downloads(page: Page) -> list[str]:
    return [a["href"] for a in page.all("a") if "download" in a.attrs]


def test_head_attaches_the_signed_scan_on_the_documents_tab_and_sees_it_count(
    world: Any, signed_in: Any, local_store: LocalStorage
) -> None:
    Cycle.objects.filter(pk=world.cycle.pk).update(signed_report_required=True)
    fill_self_scores(world.case_a, 0)
    head = signed_in(world.head_a)
    sheet = Page(head.get(reverse("web:case", args=[world.case_a.pk])))
    link = sheet.id("signed-report-link")  # the sheet's checklist leads to the tab
    assert link["href"] == reverse("web:case-documents", args=[world.case_a.pk])
    before = _tab(head, world)
    assert "Hãy đính kèm bản quét báo cáo tự đánh giá đã ký" in before.text  # what is missing
    assert before.id_or_none("signed-file") is not None
    assert _downloads(before) == [reverse("case-report", args=[world.case_a.pk])]

    response = _attach(head, world, samples.pdf())

    assert response.status_code == 302
    after = _tab(head, world)
    report = SignedReport.objects.select_related("document").get()
    row = next(r.text for r in after.all("tr") if "bao-cao-ky.pdf" in r.text)
    assert report.document.sha256[:8] in row
    assert (
        after.first_or_none("a", href=reverse("evidence-download", args=[report.document_id]))
        is not None
    )
    assert "khớp với bảng điểm" in after.text  # the latest scan counts for the sending


def test_a_scan_that_is_not_a_pdf_is_refused_under_the_field_and_nothing_is_kept(
    world: Any, signed_in: Any, local_store: LocalStorage
) -> None:
    response = _attach(signed_in(world.head_a), world, samples.PNG, "scan.pdf")

    assert response.status_code == 400
    error = Page(response).id("signed-file-error")
    assert "phải là tệp PDF" in error.text
    assert not SignedReport.objects.exists() and not Document.objects.exists()
    assert list(local_store.list_objects()) == []


def test_staff_see_the_scans_but_only_the_head_attaches_one(
    world: Any, signed_in: Any, local_store: LocalStorage
) -> None:
    staff = signed_in(world.staff_a)
    assert _tab(staff, world).id_or_none("signed-file") is None

    assert _attach(staff, world, samples.pdf()).status_code == 403
    assert _attach(signed_in(world.head_b), world, samples.pdf()).status_code == 404
    assert not SignedReport.objects.exists() and not Document.objects.exists()


def test_the_head_is_not_offered_the_upload_once_the_deadline_passed(
    world: Any, signed_in: Any, local_store: LocalStorage
) -> None:
    Cycle.objects.filter(pk=world.cycle.pk).update(
        signed_report_required=True,
        self_assessment_due=timezone.localdate() - timedelta(days=1),
    )
    head = signed_in(world.head_a)

    assert _tab(head, world).id_or_none("signed-file") is None
    refused = _attach(head, world, samples.pdf())
    assert refused.status_code == 400
    assert "hạn" in Page(refused).text
    assert not SignedReport.objects.exists() and not Document.objects.exists()


def test_every_download_offered_on_the_cycle_pages_answers_with_its_file(
    world: Any, signed_in: Any
) -> None:
    _finalised(world)
    secretariat = signed_in(world.secretariat)
    overview = Page(secretariat.get(reverse("web:cycle", args=[world.cycle.pk])))
    assert _downloads(overview) == [reverse("appraisal-report", args=[world.cycle.pk])]
    results = Page(secretariat.get(reverse("web:results", args=[world.cycle.pk])))
    offered = _downloads(results)
    base = f"/api/v1/cycles/{world.cycle.pk}"
    for ending in ("appraisal-report.docx", "results-annex.docx", "rewards.docx"):
        assert f"{base}/{ending}" in offered
    for url in offered:
        response = secretariat.get(url)
        assert response.status_code == 200, url
        assert response.content.startswith(b"PK") or url.endswith(".csv"), url


def test_the_public_is_offered_the_published_annex_and_nothing_internal(world: Any) -> None:
    _published(world)
    page = Page(Client().get(reverse("web:results", args=[world.cycle.pk])))
    offered = _downloads(page)
    base = f"/api/v1/cycles/{world.cycle.pk}"
    assert f"{base}/results-annex.docx" in offered and f"{base}/results-annex.xlsx" in offered
    assert not [u for u in offered if "rewards" in u or "appraisal-report" in u]
    for url in offered:
        assert Client().get(url).status_code == 200, url


def test_before_any_case_is_finalised_no_appraisal_report_is_offered(
    world: Any, signed_in: Any
) -> None:
    overview = Page(signed_in(world.secretariat).get(reverse("web:cycle", args=[world.cycle.pk])))
    assert _downloads(overview) == []
