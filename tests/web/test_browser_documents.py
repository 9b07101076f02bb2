"""In a real browser: the secretariat confirms how many cases a past deadline locks, the
refusal said beside the confirmation; and downloads every document a case's Documents tab
lists, each of which opens as what it claims to be.

Screenshots go to test-artifacts/screenshots/ as in test_browser.py.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from cases.models import Cycle
from deadlines.calendar import local_date
from deadlines.runner import run_after_sweep
from deadlines.sweep import sweep
from results import services as results_services
from results.models import SubmittedReport
from tests.evidence.samples import PDF
from tests.factories import PASSWORD
from tests.helpers import fill_self_scores
from tests.results.test_documents_print import _convert

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("close_pages")]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _sign_in(browser: Browser, base: str, username: str) -> Page:
    page = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True
    ).new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def test_the_secretariat_is_told_beside_the_confirmation_how_many_cases_a_past_deadline_locks(
    transactional_db: Any, world: Any, live_server: Any, browser: Browser
) -> None:
    yesterday = local_date(timezone.now()) - timedelta(days=1)
    page = _sign_in(browser, live_server.url, "secretariat")
    page.goto(f"{live_server.url}/cycles/{world.cycle.pk}/settings/")
    page.fill("#c-self_assessment_due", yesterday.strftime("%d/%m/%Y"))
    page.fill("#c-reason", "Theo Kế hoạch sửa đổi")
    page.click("main form.card button[type=submit]")

    error = page.locator("#c-confirm-error")
    expect(error).to_contain_text("2 hồ sơ")
    confirm = page.locator("#c-confirm")
    expect(confirm).to_be_focused()
    expect(confirm).to_have_attribute("aria-invalid", "true")
    # The field's accessible description is the refusal itself.
    described = page.evaluate(
        "document.getElementById(document.getElementById('c-confirm')"
        ".getAttribute('aria-describedby')).textContent"
    )
    assert "2 hồ sơ" in described
    assert "2 hồ sơ" not in page.inner_text("main form.card .row-errors")
    _shot(page, "rules-01-lock-confirmation-refused")
    assert Cycle.objects.get(pk=world.cycle.pk).self_assessment_due != yesterday

    page.fill("#c-confirm", "2")
    page.fill("#c-reason", "Theo Kế hoạch sửa đổi")
    page.click("main form.card button[type=submit]")
    page.wait_for_selector(".message-success")
    assert Cycle.objects.get(pk=world.cycle.pk).self_assessment_due == yesterday


def _pdf_text(name: str, content: bytes, folder: Path) -> str:
    """The one LibreOffice conversion of this file: the document as it prints."""
    pdf = _convert({name: content}, folder)[name]
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_secretariat_downloads_every_document_a_locked_cases_documents_tab_lists(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser: Browser,
    s3_evidence: None,
    tmp_path: Path,
) -> None:
    Cycle.objects.filter(pk=world.cycle.pk).update(signed_report_required=True)
    fill_self_scores(world.case_a)
    results_services.attach_signed_report(
        world.case_a.pk, SimpleUploadedFile("bao-cao-da-ky.pdf", PDF), actor=world.head_a
    )
    yesterday = local_date(timezone.now()) - timedelta(days=1)
    Cycle.objects.filter(pk=world.cycle.pk).update(self_assessment_due=yesterday)
    assert sweep().locked == 2  # the head never sent it: locked at the cutoff
    run_after_sweep()
    kept = SubmittedReport.objects.select_related("document").get(case=world.case_a)

    page = _sign_in(browser, live_server.url, "secretariat")
    page.goto(f"{live_server.url}/cases/{world.case_a.pk}/documents/")
    expect(page.locator("#report-title")).to_be_visible()
    said = page.inner_text("main")
    assert kept.document.sha256 in said and "Đơn vị không gửi kết quả tự đánh giá" in said
    _shot(page, "rules-02-documents-tab-locked-case")
    links = page.locator("main section a[download], main section table a")
    got: dict[str, bytes] = {}
    for n in range(links.count()):
        link = links.nth(n)
        if link.get_attribute("download") is not None:
            with page.expect_download() as started:
                link.click()
            download = started.value
            got[download.suggested_filename] = Path(download.path()).read_bytes()
        else:  # the scan: the store's short-lived address, in the page's own session
            answer = page.context.request.get(f"{live_server.url}{link.get_attribute('href')}")
            assert answer.ok, answer.status
            got[link.inner_text().strip()] = answer.body()

    assert sorted(got) == sorted(["bao-cao-da-ky.pdf", kept.document.filename])
    for name, content in got.items():
        _opens(name, content)
    assert got["bao-cao-da-ky.pdf"] == PDF
    report = got[kept.document.filename]
    assert hashlib.sha256(report).hexdigest() == kept.document.sha256  # the kept file itself
    printed = " ".join(_pdf_text("bao-cao.docx", report, tmp_path).split())
    assert "Sở Tư pháp" in printed
    assert "Đơn vị không gửi kết quả tự đánh giá" in printed


def _opens(name: str, content: bytes) -> None:
    """The file is what its name says: a Word or Excel package that opens, or a PDF."""
    if name.endswith(".docx"):
        assert docx.Document(io.BytesIO(content)).paragraphs, name
    elif name.endswith(".xlsx"):
        assert load_workbook(io.BytesIO(content)).worksheets, name
    else:
        assert name.endswith(".pdf") and content.startswith(b"%PDF"), name
