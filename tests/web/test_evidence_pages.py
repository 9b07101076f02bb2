"""Evidence on the pages: uploading to a criterion (with and without JavaScript), the
versions listed with their download links, refusals under the file field."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.models import Case
from evidence.models import EvidenceLink
from tests.evidence.samples import PDF
from tests.helpers import fill_self_scores, force_state
from tests.web.html import Page
from workflow import services


def _upload_url(case: Case, code: str, back: str = "sheet") -> str:
    return reverse("web:upload", args=[case.pk]) + f"?criterion={code}&back={back}"


def _file(name: str = "Kế hoạch CCHC năm.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_the_unit_uploads_a_document_and_sees_it_listed_with_its_download_link(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    client = signed_in(world.staff_a)
    response = client.post(
        _upload_url(world.case_a, "1.1.1"), {"file": _file(), "note": "Mục II, trang 3"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"/cases/{world.case_a.pk}/#c-1-1-1")
    link = EvidenceLink.objects.select_related("document").get(case=world.case_a)
    assert (link.version, link.document.filename, link.note) == (
        1,
        "Kế hoạch CCHC năm.pdf",
        "Mục II, trang 3",
    )
    page = Page(client.get(response["Location"]))
    assert "Đã tải lên “Kế hoạch CCHC năm.pdf”, phiên bản 1." in page.text
    block = page.id("c-1-1-1-evidence")
    assert "phiên bản 1" in block.text and "Mục II, trang 3" in block.text
    download = reverse("evidence-download", args=[link.document_id])
    assert page.first_or_none("a", href=download) is not None
    assert client.get(download).status_code == 302  # a short-lived link to the store


def test_with_javascript_the_upload_answers_with_the_criterions_evidence_block(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    client = signed_in(world.staff_a)
    client.post(_upload_url(world.case_a, "1.5"), {"file": _file("v1.pdf")})
    response = client.post(
        _upload_url(world.case_a, "1.5"), {"file": _file("v2.pdf")}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    block = Page(response).id("c-1-5-evidence")
    assert "Đã tải lên “v2.pdf”, phiên bản 2." in block.text
    assert block.text.index("v2.pdf") < block.text.index("v1.pdf")  # newest first


def test_a_program_renamed_pdf_is_refused_under_the_file_field(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    client = signed_in(world.staff_a)
    fake = _file("Báo cáo.pdf", b"MZ\x90\x00" + b"\x00" * 4000)
    response = client.post(_upload_url(world.case_a, "1.5"), {"file": fake})
    assert response.status_code == 400
    error = Page(response).id("c-1-5-file-error")
    assert "Báo cáo.pdf" in error.text
    assert not EvidenceLink.objects.exists()


def test_choosing_no_file_is_said_under_the_file_field(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    response = signed_in(world.staff_a).post(
        _upload_url(world.case_a, "1.5"), {"note": "x"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert Page(response).id("c-1-5-file-error").text == "Hãy chọn tệp để tải lên."


def test_an_appraiser_cannot_upload_to_a_unit(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    response = signed_in(world.appraiser).post(_upload_url(world.case_a, "1.5"), {"file": _file()})
    assert response.status_code == 403
    assert not EvidenceLink.objects.exists()


def test_a_submitted_case_shows_its_evidence_without_an_upload_form(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    client = signed_in(world.staff_a)
    client.post(_upload_url(world.case_a, "1.5"), {"file": _file()})
    force_state(world.case_a, Case.State.SUBMITTED)
    page = Page(client.get(reverse("web:case", args=[world.case_a.pk])))
    assert "Kế hoạch CCHC năm.pdf" in page.id("c-1-5-evidence").text
    assert page.id_or_none("c-1-5-file") is None


def test_during_the_explanation_the_unit_adds_evidence_to_a_questioned_criterion(
    world: Any, signed_in: Any, s3_evidence: None
) -> None:
    fill_self_scores(world.case_a)
    force_state(world.case_a, Case.State.APPRAISING)
    services.ask_clarification(world.case_a.pk, "1.5", "Bổ sung quyết định?", actor=world.appraiser)
    services.run_transition(world.case_a.pk, "request_explanation", actor=world.appraiser)
    client = signed_in(world.staff_a)
    page = Page(client.get(reverse("web:appraisal", args=[world.case_a.pk])))
    assert page.id_or_none("c-1-5-file") is not None
    assert page.id_or_none("c-1-4-file") is None  # no question there
    response = client.post(
        _upload_url(world.case_a, "1.5", back="appraisal"), {"file": _file("Bổ sung.pdf")}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"/cases/{world.case_a.pk}/appraisal/#c-1-5")
    appraiser_view = Page(
        signed_in(world.appraiser).get(reverse("web:appraisal", args=[world.case_a.pk]))
    )
    assert "Bổ sung.pdf" in appraiser_view.id("c-1-5-evidence").text
