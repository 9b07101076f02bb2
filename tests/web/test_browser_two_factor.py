"""In a real browser, where the installation requires two-factor sign-in: the secretariat
signs in with the password and the code of the authenticator app (computed here as the app
computes it), a wrong code is refused in Vietnamese, and an official without an
authenticator sets it up from the key the page shows.

Screenshots go to test-artifacts/screenshots/ as in test_browser.py.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, Page, expect

from tests.helpers import after_a_wrong_code
from workflow.models import AuditEntry

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("close_pages")]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WRONG_CODE = "Mã không đúng hoặc đã hết hạn"


@pytest.fixture
def required(settings: Any) -> None:
    settings.TWO_FACTOR_REQUIRED = True


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _app_code(key: bytes, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for this key now (or that many 30-second steps on)."""
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + steps_ahead * 30
    return f"{totp.token():06d}"


def _password_step(browser: Browser, base: str, username: str) -> Page:
    from tests.factories import PASSWORD

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    return page


def test_the_secretariat_signs_in_with_the_code_of_the_authenticator_app(
    world: Any, live_server: Any, browser: Browser, required: None
) -> None:
    device = TOTPDevice.objects.create(user=world.secretariat, name="authenticator", confirmed=True)
    page = _password_step(browser, live_server.url, "secretariat")
    page.wait_for_url(f"{live_server.url}/login/second-factor/")
    expect(page.locator("h1")).to_have_text("Bước thứ hai của đăng nhập")

    # A code the app does not show now is refused, in Vietnamese, and nobody is signed in.
    shown = {_app_code(device.bin_key, step) for step in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in shown)
    page.fill("#id_code", wrong)
    page.click("#second-factor-form button[type=submit]")
    expect(page.locator("#code-errors")).to_contain_text(WRONG_CODE)
    expect(page.locator("#id_code")).to_have_attribute("aria-invalid", "true")
    _shot(page, "2fa-01-wrong-code")
    page.goto(f"{live_server.url}/")
    page.wait_for_url(f"{live_server.url}/login/?next=/")

    after_a_wrong_code()
    page.goto(f"{live_server.url}/login/second-factor/")
    page.fill("#id_code", _app_code(device.bin_key))
    page.click("#second-factor-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("text=Xem tổng quan đợt đánh giá")
    expect(page.locator("table.overview tbody tr")).to_have_count(2)
    _shot(page, "2fa-02-signed-in-overview")


def test_an_official_sets_the_authenticator_up_from_the_key_the_page_shows(
    world: Any, live_server: Any, browser: Browser, required: None
) -> None:
    page = _password_step(browser, live_server.url, "leader")
    page.wait_for_url(f"{live_server.url}/login/second-factor/setup/")
    # The app is given the key as typed from the page (no scan in a test).
    typed = page.inner_text("#authenticator-key").replace(" ", "")
    key = base64.b32decode(typed + "=" * (-len(typed) % 8))
    _shot(page, "2fa-03-setup")

    page.fill("#id_code", _app_code(key))
    page.click("#setup-form button[type=submit]")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.click("text=Tôi đã lưu lại: tiếp tục")
    page.wait_for_url(f"{live_server.url}/")
    assert TOTPDevice.objects.filter(user=world.leader, confirmed=True).count() == 1
    assert AuditEntry.objects.filter(action="auth.two_factor.enabled", actor=world.leader).exists()
