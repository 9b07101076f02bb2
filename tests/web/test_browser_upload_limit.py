"""In a real browser: a file over the evidence limit is refused beside its field, in
Vietnamese with the decimal comma, before it is sent, and the form keeps what was typed (on
the score sheet and on the appraisal page); a page that sends it all the same (its limit
changed since it was drawn) says the server's 413 the same way.

Screenshots go to test-artifacts/screenshots/ as in test_browser.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from cases.models import Case
from evidence.models import Document
from tests.helpers import fill_self_scores, force_state
from tests.web.helpers import asgi_server_on_test_database
from tests.web.test_browser import sign_in, with_session
from workflow import services

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("close_pages")]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
MB = 1024 * 1024


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _file(tmp_path: Path, megabytes: float) -> Path:
    path = tmp_path / "Báo cáo CCHC quý I.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"0" * int(megabytes * MB))
    return path


def _sends_a_form(request: Any) -> bool:
    """A POST of the page's forms: not the bell's, which asks for a socket ticket again
    (the test server has no WebSocket) whenever its retry comes round."""
    return request.method == "POST" and "/socket-ticket/" not in request.url


def test_a_file_over_the_limit_is_refused_beside_its_field_before_it_is_sent(
    world: Any, live_server: Any, browser: Browser, settings: Any, tmp_path: Path
) -> None:
    settings.EVIDENCE_MAX_UPLOAD_MB = 1
    page = sign_in(browser, live_server.url, "stp.head")
    page.goto(f"{live_server.url}/cases/{world.case_a.pk}/")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if _sends_a_form(r) else None)

    page.set_input_files("#c-1-1-1-file", str(_file(tmp_path, 1.5)))
    page.fill("#c-1-1-1-file-note", "Mục II, trang 4")
    page.click("#c-1-1-1-evidence button[type=submit]")

    error = page.locator("#c-1-1-1-file-error")
    expect(error).to_have_text("Tệp quá lớn (1,5 MB): giới hạn là 1 MB.")
    expect(page.locator("#c-1-1-1-file")).to_have_attribute("aria-invalid", "true")
    assert page.input_value("#c-1-1-1-file-note") == "Mục II, trang 4"  # the form is kept
    assert page.locator("#c-1-1-1-file").evaluate("e => e.files.length") == 1
    assert sent == [] and not Document.objects.exists()
    _shot(page, "upload-limit-01-refused-before-sending")


def test_during_the_explanation_the_appraisal_page_refuses_the_file_the_same_way(
    world: Any, live_server: Any, browser: Browser, settings: Any, tmp_path: Path
) -> None:
    settings.EVIDENCE_MAX_UPLOAD_MB = 1
    case = world.case_a
    fill_self_scores(case)
    force_state(case, Case.State.APPRAISING)
    services.ask_clarification(case.pk, "1.5", "Đề nghị bổ sung quyết định.", actor=world.appraiser)
    services.run_transition(case.pk, "request_explanation", actor=world.appraiser)
    page = sign_in(browser, live_server.url, "stp.staff")
    page.goto(f"{live_server.url}/cases/{case.pk}/appraisal/")
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if _sends_a_form(r) else None)

    page.set_input_files("#c-1-5-file", str(_file(tmp_path, 1.5)))
    page.click("#c-1-5-evidence button[type=submit]")

    expect(page.locator("#c-1-5-file-error")).to_have_text(
        "Tệp quá lớn (1,5 MB): giới hạn là 1 MB."
    )
    expect(page.locator("#c-1-5-file")).to_have_attribute("aria-invalid", "true")
    assert sent == [] and not Document.objects.exists()
    _shot(page, "upload-limit-03-refused-on-the-appraisal-page")


@pytest.fixture
def asgi_server_with_1_mb(transactional_db: Any, tmp_path: Path) -> Iterator[str]:
    """The ASGI server (with the layer that refuses a body before reading it), on the test
    database, with an evidence limit of 1 MB."""
    with asgi_server_on_test_database(tmp_path, EVIDENCE_MAX_UPLOAD_MB="1") as base:
        yield base


def test_the_servers_413_is_said_beside_the_field_too(
    world: Any, asgi_server_with_1_mb: str, browser: Browser, tmp_path: Path
) -> None:
    base = asgi_server_with_1_mb
    page = with_session(browser, base, world.head_a)
    page.goto(f"{base}/cases/{world.case_a.pk}/")
    # A page drawn before the limit was lowered: it does not know the new one (the sheet
    # says the limit once, on the element around its rows).
    page.eval_on_selector(
        "#c-1-1-1-evidence form",
        "f => f.closest('[data-max-bytes]').removeAttribute('data-max-bytes')",
    )
    page.set_input_files("#c-1-1-1-file", str(_file(tmp_path, 2.5)))
    page.fill("#c-1-1-1-file-note", "Mục II, trang 4")
    with page.expect_response(lambda r: "/evidence/" in r.url) as answered:
        page.click("#c-1-1-1-evidence button[type=submit]")
    assert answered.value.status == 413
    expect(page.locator("#c-1-1-1-file-error")).to_have_text(
        "Tệp quá lớn (2,5 MB): giới hạn là 1 MB."
    )
    assert page.input_value("#c-1-1-1-file-note") == "Mục II, trang 4"
    assert not Document.objects.exists()
    _shot(page, "upload-limit-02-refused-by-the-server")
