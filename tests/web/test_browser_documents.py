"""In a real browser: the secretariat confirms how many cases a past deadline locks, the
refusal said beside the confirmation; and downloads every document a case's Documents tab
lists, each of which opens as what it claims to be.

Screenshots go to test-artifacts/screenshots/ as in test_browser.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from cases.models import Cycle
from deadlines.calendar import local_date
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(autouse=True)
def _close_pages(transactional_db: Any, browser: Browser) -> Any:
    yield
    for context in list(browser.contexts):
        context.close()


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
