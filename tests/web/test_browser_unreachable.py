"""In a real browser: a score save or an upload of the score sheet that cannot reach the
server says so beside its form, in the words the sheet writes once for all its rows, and the
form keeps what was typed; an upload says it is on its way while it is.

Screenshots go to test-artifacts/screenshots/ as in test_browser.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Route, expect

from cases.models import Score
from evidence.models import Document
from tests.evidence.samples import PDF
from tests.web.test_browser import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("close_pages")]


def test_a_save_that_cannot_reach_the_server_says_so_and_keeps_the_figure(
    world: Any, live_server: Any, browser: Browser
) -> None:
    page = sign_in(browser, live_server.url, "stp.head")
    page.goto(f"{live_server.url}/cases/{world.case_a.pk}/")
    page.route(lambda url: "/scores/1.5/" in url, lambda route: route.abort())

    page.fill("#c-1-5-entry", "1,5")
    page.press("#c-1-5-entry", "Tab")

    expect(page.locator("#c-1-5-status .not-saved")).to_have_text(
        "Chưa lưu được: không kết nối được máy chủ. Hãy thử lại."
    )
    assert page.input_value("#c-1-5-entry") == "1,5"
    assert Score.objects.get(case=world.case_a, criterion__code="1.5").self_score is None
    shot(page, "unreachable-01-save")


def test_an_upload_says_it_is_sending_then_that_it_could_not_reach_the_server(
    world: Any, live_server: Any, browser: Browser, tmp_path: Path
) -> None:
    page = sign_in(browser, live_server.url, "stp.head")
    page.goto(f"{live_server.url}/cases/{world.case_a.pk}/")
    held: list[Route] = []  # answered (here, failed) once the page has said it is sending

    def hold(route: Route) -> None:
        held.append(route)

    page.route(lambda url: "/evidence/" in url, hold)
    document = tmp_path / "Kế hoạch CCHC năm 2026.pdf"
    document.write_bytes(PDF)

    page.set_input_files("#c-1-1-1-file", str(document))
    page.fill("#c-1-1-1-file-note", "Mục I, trang 2")
    page.click("#c-1-1-1-evidence button[type=submit]")

    status = page.locator("#c-1-1-1-upload-status")
    expect(status).to_have_text("Đang tải lên…")
    expect(page.locator("#c-1-1-1-evidence button[type=submit]")).to_be_disabled()
    # The page says it is sending just before the request leaves; Playwright hands the
    # request to `hold` a moment later, while this test waits on the page.
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1
    held[0].abort()
    expect(status.locator(".not-saved")).to_have_text(
        "Chưa tải lên được: không kết nối được máy chủ. Hãy thử lại."
    )
    expect(page.locator("#c-1-1-1-evidence button[type=submit]")).to_be_enabled()
    assert page.input_value("#c-1-1-1-file-note") == "Mục I, trang 2"
    assert not Document.objects.exists()
    shot(page, "unreachable-02-upload")
