"""Journeys in a real browser: Debian's Chromium driven by Playwright against a live server.

Most journeys use pytest-django's live server (WSGI, in this process). The live bell needs
WebSockets, so its test starts the ASGI server (daphne, through `manage.py runserver`) on a
free port against the same test database, with the Redis channel layer `make test` started.
Each page visited is saved as a screenshot in test-artifacts/screenshots/ for review.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone
from playwright.sync_api import Browser, Page, Request, Route, expect

from cases import frameworks, permissions
from cases.frameworks import excel as framework_excel
from cases.frameworks import tree as framework_tree
from cases.models import Case, Cycle, Method, Score, Unit
from config.settings import redis_channel_layers
from deadlines.calendar import local_date
from notifications import sockets
from notifications.models import Notification, SocketTicket
from tests.evidence.helpers import upload
from tests.evidence.samples import PDF
from tests.factories import PASSWORD
from tests.helpers import (
    appraise_all,
    fill_self_scores,
    force_state,
    people_workbook,
    self_scorable,
    wait_until,
)
from tests.web.helpers import asgi_server_on_test_database
from workflow import cycle_services, services

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("close_pages")]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(browser: Browser, base: str, username: str, **context: Any) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 900}, **context).new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#signin-form button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def with_session(
    browser: Browser, base: str, user: Any, before: Callable[[Page], None] | None = None
) -> Page:
    """A page already signed in through a session made here: the ASGI server runs in
    another process, whose password hashers do not read this test run's fast ones.
    `before` is given the page before it loads (to watch its first requests)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
    page = context.new_page()
    if before is not None:
        before(page)
    page.goto(f"{base}/")
    return page


def _ready_to_submit_but(case: Case, *, score_left: str, evidence_left: str) -> None:
    """Test set-up shortcut: every criterion self-scored and explained, except one score
    and one piece of evidence, which the browser will give."""
    fill_self_scores(case)
    self_scorable(case).update(evidence_explanation="Theo báo cáo năm")
    Score.objects.filter(case=case, criterion__code=score_left).update(self_score=None)
    Score.objects.filter(case=case, criterion__code=evidence_left).update(evidence_explanation="")


def test_the_unit_head_goes_from_sign_in_to_submit_with_an_evidence_upload(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser: Browser,
    s3_evidence: None,
    tmp_path: Path,
) -> None:
    _ready_to_submit_but(world.case_a, score_left="1.5", evidence_left="1.1.1")
    base = live_server.url
    page = sign_in(browser, base, "stp.head")
    shot(page, "01-unit-home")
    assert "Hồ sơ đánh giá của đơn vị" in page.inner_text("main")
    page.click("text=Mở bảng tự chấm điểm")
    page.wait_for_url(f"{base}/cases/{world.case_a.pk}/")
    assert "Trước khi gửi: còn thiếu 2 mục" in page.inner_text("#checklist summary")

    page.fill("#c-1-5-entry", "1")
    page.press("#c-1-5-entry", "Tab")  # leaving the field saves it, no reload
    page.wait_for_selector("#c-1-5-status .saved")
    page.fill("#c-1-5-entry", "1,5")  # a second thought: another autosave of the same row
    page.press("#c-1-5-entry", "Tab")
    expect(page.locator("#c-1-5-version")).to_have_value("2")
    assert "Đã lưu lúc" in page.inner_text("#c-1-5-status")

    document = tmp_path / "Kế hoạch CCHC năm 2026.pdf"
    document.write_bytes(PDF)
    page.set_input_files("#c-1-1-1-file", str(document))
    page.fill("#c-1-1-1-file-note", "Mục I, trang 2")
    page.click("#c-1-1-1-evidence button[type=submit]")
    page.wait_for_selector("#c-1-1-1-evidence >> text=phiên bản 1")
    assert "Đã tải lên “Kế hoạch CCHC năm 2026.pdf”" in page.inner_text("#c-1-1-1-evidence")
    shot(page, "02-score-sheet-before-submit")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-step=submit]")
    page.wait_for_selector(".message-success")
    assert "Đã gửi kết quả tự đánh giá." in page.inner_text(".messages")
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.SUBMITTED
    shot(page, "03-score-sheet-submitted")
    page.click("text=Lịch sử")
    # The steps of the process first; the two saves of 1.5 on one line; words, not codes.
    assert page.locator("main h2").first.inner_text() == "Các bước xử lý hồ sơ"
    assert "Đã gửi kết quả tự đánh giá" in page.inner_text("#steps")
    saves = page.locator("#changes li[data-kind=self]", has_text="tiêu chí 1.5")
    assert saves.count() == 1
    assert "2 lần lưu" in saves.inner_text()
    saves.locator("summary").click()
    assert saves.locator(".saves li").count() == 2
    text = page.inner_text("main")
    assert "Đã tải lên tài liệu kiểm chứng" in text
    assert "evidence.file.added" not in text and "cases.score" not in text
    shot(page, "04-case-history")
    page.select_option("#kind-filter", "evidence")
    page.click("main form.filters button")
    page.wait_for_url("**kind=evidence")
    assert page.locator("#steps").count() == 0
    kinds = page.locator("#changes li[data-kind]").evaluate_all(
        "els => els.map(e => e.dataset.kind)"
    )
    assert kinds and set(kinds) == {"evidence"}


def test_a_late_submission_is_refused_with_its_message(
    transactional_db: Any, world: Any, live_server: Any, browser: Browser
) -> None:
    _ready_to_submit_but(world.case_a, score_left="1.5", evidence_left="1.5")
    due = local_date(timezone.now()) - timedelta(days=3)
    Cycle.objects.filter(pk=world.cycle.pk).update(self_assessment_due=due)
    page = sign_in(browser, live_server.url, "stp.head")
    page.goto(f"{live_server.url}/cases/{world.case_a.pk}/")
    assert "quá hạn" in page.inner_text("#deadlines")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-step=submit]")
    page.wait_for_selector(".message-error")
    assert "Chưa thể thực hiện bước này." in page.inner_text(".messages")
    # Every reason once, in the checklist: 1.5 lacks a score and evidence, on one line.
    checklist = page.inner_text("#checklist")
    assert checklist.count(f"Đã quá hạn tự đánh giá ngày {due:%d/%m/%Y}.") == 1
    assert "Đã quá hạn" not in page.inner_text(".messages")
    item = page.locator("#checklist li[data-criterion='1.5']")
    assert item.count() == 1
    assert "1.5. Sáng kiến, giải pháp mới trong CCHC" in item.inner_text()
    assert page.locator("#checklist li", has_text="1.5").count() == 1
    item.locator("a").click()
    assert page.evaluate("location.hash") == "#c-1-5"
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.SELF_SCORING
    shot(page, "05-late-submission-refused")


def test_the_appraiser_asks_a_question_and_the_unit_answers(
    transactional_db: Any, world: Any, live_server: Any, browser: Browser
) -> None:
    fill_self_scores(world.case_a)
    force_state(world.case_a, Case.State.APPRAISING)
    base = live_server.url
    appraiser = sign_in(browser, base, "appraiser1")
    shot(appraiser, "06-appraiser-work-list")
    appraiser.click(f"a[href='/cases/{world.case_a.pk}/appraisal/?area=1']")
    appraiser.fill("#c-1-5-question", "Đề nghị cung cấp quyết định công nhận sáng kiến.")
    appraiser.click("#c-1-5 .ask-form button")
    appraiser.wait_for_selector(".message-success")
    appraiser.fill("#c-1-5-appraised", "1")
    appraiser.fill("#c-1-5-comment", "Chưa đủ tài liệu kiểm chứng")
    appraiser.click("#c-1-5 .appraise-form button")
    appraiser.wait_for_selector("#c-1-5-astatus .saved")
    shot(appraiser, "07-appraisal-side-by-side")
    appraiser.once("dialog", lambda dialog: dialog.accept())
    appraiser.click("[data-step=request_explanation]")
    appraiser.wait_for_selector(".message-success")
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.EXPLANATION

    unit = sign_in(browser, base, "stp.staff")
    assert "1 câu hỏi chưa trả lời" in unit.inner_text("main")
    unit.click("text=Thẩm định và giải trình")
    question = unit.locator(".question", has_text="Đề nghị cung cấp quyết định")
    question.locator("textarea").fill("Đã bổ sung Quyết định số 45/QĐ-UBND ngày 12/3.")
    question.locator("button").click()
    unit.wait_for_selector(".message-success")
    thread = unit.inner_text("#c-1-5 .thread")
    assert "Đề nghị cung cấp quyết định công nhận sáng kiến." in thread
    assert "Đã bổ sung Quyết định số 45/QĐ-UBND ngày 12/3." in thread
    shot(unit, "08-unit-answer-thread")


def test_the_leader_publishes_the_results(
    transactional_db: Any, world: Any, live_server: Any, browser: Browser
) -> None:
    for case in (world.case_a, world.case_b):
        fill_self_scores(case, 0)
        appraise_all(case, world.appraiser)
        Score.objects.filter(case=case, criterion__method=Method.SURVEY).update(appraised_score=1)
        force_state(case, Case.State.FINALISED)
    cycle_services.submit_results(world.cycle.pk, actor=world.secretariat)
    page = sign_in(browser, live_server.url, "leader")
    assert "Chờ bạn phê duyệt" in page.inner_text("main")
    shot(page, "09-leader-home")
    page.click("text=Xem và công bố")
    page.fill("#id_decision_number", "125/QĐ-UBND")
    page.fill("#id_decision_date", "15/04/2026")
    shot(page, "10-publish-form")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".message-success")
    assert "Đã công bố kết quả của 2 đơn vị." in page.inner_text(".messages")
    assert Cycle.objects.get(pk=world.cycle.pk).status == Cycle.Status.PUBLISHED
    # The new page may still be loading: wait for its rows rather than count at once.
    expect(page.locator("table.results tbody tr")).to_have_count(2)
    shot(page, "11-results-published")
    page.click("table.results >> text=Sở Tư pháp")
    assert "Chỉ số thành phần theo lĩnh vực" in page.inner_text("main")
    shot(page, "12-results-unit-areas")


def test_the_secretariat_sees_the_cycle_and_a_page_works_without_javascript(
    transactional_db: Any, world: Any, live_server: Any, browser: Browser
) -> None:
    secretariat = sign_in(browser, live_server.url, "secretariat")
    shot(secretariat, "13-secretariat-home")
    secretariat.click("text=Xem tổng quan đợt đánh giá")
    # The new page may still be loading: wait for its rows rather than count at once.
    expect(secretariat.locator("table.overview tbody tr")).to_have_count(2)
    shot(secretariat, "14-cycle-overview")

    plain = sign_in(browser, live_server.url, "stp.staff", java_script_enabled=False)
    plain.goto(f"{live_server.url}/cases/{world.case_a.pk}/")
    plain.fill("#c-1-5-entry", "9")
    plain.click("#c-1-5 .save-line button")  # a full post and a page drawn again
    assert "tối đa" in plain.inner_text("#c-1-5-entry-error")
    assert plain.get_attribute("#c-1-5-entry", "value") == "9"
    assert plain.evaluate("location.hash") == "#c-1-5"  # back at the row, not the top
    assert plain.locator("#c-1-5-entry-error").evaluate(
        "e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"
    )
    shot(plain, "15-no-javascript-error-beside-field")
    plain.fill("#c-1-5-entry", "1")
    plain.click("#c-1-5 .save-line button")
    assert "Đã lưu tiêu chí 1.5." in plain.inner_text(".messages")
    assert Score.objects.get(case=world.case_a, criterion__code="1.5").self_score == 1


def test_the_secretariat_imports_the_survey_scores_after_a_refused_file(
    transactional_db: Any,
    world: Any,
    live_server: Any,
    browser: Browser,
    s3_evidence: None,
    tmp_path: Path,
) -> None:
    base = live_server.url
    page = sign_in(browser, base, "secretariat")
    page.goto(f"{base}/cycles/{world.cycle.pk}/")
    page.click("text=Nhập điểm điều tra xã hội học")
    page.wait_for_url(f"{base}/cycles/{world.cycle.pk}/survey/")
    shot(page, "18-survey-import")

    wrong = tmp_path / "Điều tra XHH (sai).csv"
    wrong.write_text("Mã đơn vị;Mã tiêu chí;Điểm\nSTP;1.6;1,5\nSTC;1.6;7\nXYZ;2.5;1\n", "utf-8")
    page.set_input_files("#survey-file", str(wrong))
    page.once("dialog", lambda dialog: dialog.accept())  # "replaces the previous import?"
    page.click("#survey-form button[type=submit]")
    page.wait_for_selector("#problems")
    problems = page.inner_text("#problems")
    assert "Tệp chưa được nhập" in problems and "2 lỗi" in problems
    assert page.locator("#problems tr[data-row='3'][data-column='C']").count() == 1
    assert page.locator("#problems tr[data-row='4'][data-column='A']").count() == 1
    assert not Score.objects.filter(
        case__cycle=world.cycle, criterion__method=Method.SURVEY, appraised_score__isnull=False
    ).exists()
    shot(page, "19-survey-import-refused")

    right = tmp_path / "Điều tra XHH.csv"
    right.write_text("Mã đơn vị;Mã tiêu chí;Điểm\nSTP;1.6;1,5\nSTC;1.6;2\n", "utf-8")
    page.set_input_files("#survey-file", str(right))
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#survey-form button[type=submit]")
    page.wait_for_selector(".message-success")
    assert "Đã nhập “Điều tra XHH.csv”: 2 điểm, 2 đơn vị, 1 tiêu chí." in page.inner_text(
        ".messages"
    )
    assert page.locator("#problems").count() == 0
    assert "2/" in page.inner_text("#survey-filled")
    shot(page, "20-survey-imported")

    # The secretariat's other tools, for the screenshots.
    page.goto(f"{base}/cycles/{world.cycle.pk}/appraisers/")
    assert page.locator("table.assignments tbody tr").count() == 2
    shot(page, "21-appraisers")
    page.goto(f"{base}/cycles/{world.cycle.pk}/")
    page.click("text=Ngày nghỉ, ngày làm bù")
    page.fill("#add-day-date", "30/12/2026")
    page.fill("#add-day-reason", "Nghỉ bù theo quyết định của UBND tỉnh")
    page.click("#add-day button[type=submit]")
    page.wait_for_selector(".message-success")
    shot(page, "22-working-day-calendar")

    # The unit's new pages and everyone's settings, for the screenshots.
    link_id = upload(world.staff_a, world.case_a, "1.1.1", PDF, note="Mục I").json()["link"]["id"]
    unit = sign_in(browser, base, "stp.staff")
    unit.goto(f"{base}/cases/{world.case_a.pk}/#c-1-1-1")
    unit.click(f"a[href='/evidence/{link_id}/withdraw/']")
    assert "Rút phiên bản 1" in unit.inner_text("main")
    shot(unit, "23-evidence-withdraw-confirmation")
    unit.goto(f"{base}/evidence/{link_id}/link/")
    shot(unit, "24-evidence-link-to-another-criterion")
    unit.goto(f"{base}/notifications/")
    unit.click("text=Cài đặt thông báo")
    shot(unit, "25-notification-settings")


@pytest.fixture
def asgi_server(transactional_db: Any, tmp_path: Path) -> Iterator[str]:
    """The ASGI server (HTTP and WebSocket) on the test database, with the Redis layer."""
    redis_url = os.environ.get("TEST_REDIS_URL", "")
    if not redis_url:
        pytest.fail("TEST_REDIS_URL is not set: run the tests with `make test`.")
    with asgi_server_on_test_database(tmp_path, REDIS_URL=redis_url) as base:
        yield base


def test_the_bell_counts_a_new_notification_without_a_reload(
    world: Any, asgi_server: str, browser: Browser
) -> None:
    fill_self_scores(world.case_a)
    force_state(world.case_a, Case.State.APPRAISING)
    services.ask_clarification(world.case_a.pk, "1.5", "Vì sao tự chấm 0?", actor=world.appraiser)
    unit = with_session(browser, asgi_server, world.staff_a)
    unit.wait_for_selector(".bell.is-live")  # the WebSocket is open
    assert unit.inner_text("[data-bell-count]") == "0"

    appraiser = with_session(browser, asgi_server, world.appraiser)
    appraiser.goto(f"{asgi_server}/cases/{world.case_a.pk}/appraisal/")
    appraiser.once("dialog", lambda dialog: dialog.accept())
    appraiser.click("[data-step=request_explanation]")
    appraiser.wait_for_selector(".message-success")

    unit.wait_for_function(
        "document.querySelector('[data-bell-count]').textContent.trim() === '1'", timeout=15000
    )
    assert unit.is_visible("#live-notice")
    assert "Sở Tư pháp" in unit.inner_text("#live-notice")
    shot(unit, "16-bell-live")
    _a_push_sent_again_is_not_announced_again(unit, world.staff_a)
    unit.click(".bell")
    assert "Sở Tư pháp" in unit.inner_text("#inbox-list")
    shot(unit, "17-inbox")
    _signing_out_in_another_tab_stops_the_bell(unit)


def test_the_bell_of_a_reader_with_a_long_backlog_says_99_plus(
    world: Any, asgi_server: str, browser: Browser
) -> None:
    """The page was drawn with nothing unread; a backlog of 150 arrives while it opens its
    live channel: the count the server then sends stops at a hundred, and the bell says
    "99+", to the eye and to a screen reader."""

    def backlog_arrives(route: Route) -> None:
        Notification.objects.bulk_create(
            Notification(recipient=world.staff_a, kind="submitted", text_vi=f"{i}", text_en="")
            for i in range(150)
        )
        route.continue_()

    def watch(page: Page) -> None:
        page.route("**/socket-ticket/", backlog_arrives)

    page = with_session(browser, asgi_server, world.staff_a, before=watch)
    bell = page.locator("[data-bell-count]")
    expect(bell).to_have_text("99+", timeout=15000)
    expect(bell).to_have_attribute("aria-label", "99+ chưa đọc")


def test_the_bell_asked_too_often_says_so_and_waits_as_long_as_the_server_says(
    world: Any, asgi_server: str, browser: Browser
) -> None:
    """Other pages of the same person took the minute's tickets 57 s ago: the server's rate
    limit answers 429 with the wait; the bell shows it, asks nothing more until the wait is
    over (not after its usual second), then goes live. No error is shown."""
    base = asgi_server
    asked: list[Request] = []

    def the_other_pages_asked_first(route: Route) -> None:
        if not asked:  # at the page's first ask, whatever time the page took to load
            for _ in range(settings.WEBSOCKET_TICKETS_PER_MINUTE):  # the server's limit too
                sockets.issue_ticket(world.staff_a, sockets.SESSION, "another page's session")
            SocketTicket.objects.update(issued_at=timezone.now() - timedelta(seconds=57))
        asked.append(route.request)
        route.continue_()

    def watch(page: Page) -> None:
        page.route("**/socket-ticket/", the_other_pages_asked_first)

    page = with_session(browser, base, world.staff_a, before=watch)

    expect(page.locator(".bell.is-waiting")).to_have_attribute(
        "title",
        re.compile(r"^Quá nhiều yêu cầu mở kênh thông báo trực tiếp: thử lại sau \d giây\.$"),
    )
    shot(page, "16b-bell-waiting")
    page.wait_for_selector(".bell.is-live", timeout=15000)
    refused, granted = (request.response() for request in asked)
    assert refused is not None and granted is not None
    assert (refused.status, granted.status) == (429, 201)
    wait_ms = int(refused.headers["retry-after"]) * 1000
    # When the page had the refusal, and when it asked again, by the page's own clock.
    refused_at, asked_again_at = page.evaluate(
        """() => {
          const asks = performance.getEntriesByType("resource")
            .filter((entry) => entry.name.includes("/socket-ticket/"));
          return [asks[0].responseEnd, asks[1].startTime];
        }"""
    )
    assert asked_again_at - refused_at >= wait_ms - 50
    assert page.get_attribute(".bell", "title") is None
    assert not page.is_visible(".bell.is-waiting") and not page.is_visible("#live-notice")
    page.wait_for_timeout(1000)
    assert len(asked) == 2


def _signing_out_in_another_tab_stops_the_bell(page: Page) -> None:
    """The server closes the page's socket when its session ends; the page asks for a new
    ticket once, is refused, and stops instead of reconnecting."""
    page.wait_for_selector(".bell.is-live")
    asked: list[int] = []
    page.on("response", lambda r: asked.append(r.status) if "socket-ticket" in r.url else None)
    other = page.context.new_page()
    other.goto(page.url)
    other.click("text=Đăng xuất")
    page.wait_for_selector(".bell:not(.is-live)", timeout=10000)
    page.wait_for_timeout(4000)  # the page's first retry comes after 1 s
    assert asked in ([401], [403]), asked
    assert not page.is_visible(".bell.is-live")


def _a_push_sent_again_is_not_announced_again(page: Page, user: Any) -> None:
    """Pushes come at least once: the notifier sends again one whose confirmation it did not
    see, and the open page acknowledges it again without a second announcement."""
    from notifications import delivery
    from notifications.models import Delivery

    push = Delivery.objects.filter(notification__recipient=user, channel="push").latest("pk")
    wait_until(
        lambda: Delivery.objects.get(pk=push.pk).confirmed_at is not None, what="the confirmation"
    )
    page.evaluate(
        """() => {
          const box = document.getElementById("live-notice");
          window.noticesSeen = [];
          new MutationObserver(() => window.noticesSeen.push(box.textContent)).observe(
            box, {childList: true, characterData: true, subtree: true});
        }"""
    )
    Delivery.objects.filter(pk=push.pk).update(
        confirmed_at=None, delivered_at=timezone.now() - timedelta(seconds=40)
    )

    def notifier_round() -> None:  # Playwright's loop owns this thread: send from another
        try:
            delivery.deliver_due(channels=(delivery.PUSH,))
        finally:
            connection.close()

    with override_settings(CHANNEL_LAYERS=redis_channel_layers(os.environ["TEST_REDIS_URL"])):
        sender = threading.Thread(target=notifier_round)
        sender.start()
        sender.join(30)
    assert Delivery.objects.get(pk=push.pk).attempts == 2  # it was sent again
    wait_until(
        lambda: Delivery.objects.get(pk=push.pk).confirmed_at is not None, what="the confirmation"
    )
    assert page.evaluate("window.noticesSeen") == []


def test_the_appraiser_decides_on_not_applicable_and_round_two_keeps_the_councils_score(
    transactional_db: Any, world: Any, live_server: Any, browser: Browser
) -> None:
    """No silent change to an official score: the unit's "not applicable" is confirmed or
    rejected as such, and in round 2 the box holds the council's round-1 score, so saving an
    untouched row changes nothing."""
    case = world.case_a
    fill_self_scores(case, 0)
    na = {"not_applicable": True, "not_applicable_reason": "Sở không có thủ tục hành chính"}
    Score.objects.filter(case=case, criterion__code__in=["3.1.2", "3.2.1"]).update(
        self_score=None, **na
    )
    force_state(case, Case.State.APPRAISING)
    base = live_server.url
    page = sign_in(browser, base, "appraiser1")
    page.goto(f"{base}/cases/{case.pk}/appraisal/?area=3")
    assert "Đơn vị đề nghị không áp dụng tiêu chí này" in page.inner_text("#c-3-1-2")
    page.check("#c-3-1-2-na-confirm")
    page.click("#c-3-1-2 .appraise-form button")
    page.wait_for_selector("#c-3-1-2-astatus .saved")
    page.check("#c-3-2-1-na-reject")
    page.click("#c-3-2-1 .appraise-form button")  # no reason, no score: refused
    page.wait_for_selector("#c-3-2-1-astatus .not-saved")
    assert "lý do" in page.inner_text("#c-3-2-1-comment-error")
    page.fill("#c-3-2-1-appraised", "0")
    page.fill("#c-3-2-1-comment", "Sở có kế hoạch rà soát TTHC nội bộ")
    page.click("#c-3-2-1 .appraise-form button")
    page.wait_for_selector("#c-3-2-1-astatus .saved")
    shot(page, "26-appraisal-not-applicable-decided")
    confirmed = Score.objects.get(case=case, criterion__code="3.1.2")
    assert (confirmed.not_applicable, confirmed.not_applicable_decision) == (True, "confirmed")
    assert confirmed.appraised_round == 1 and confirmed.appraised_score is None
    rejected = Score.objects.get(case=case, criterion__code="3.2.1")
    assert (rejected.not_applicable, rejected.not_applicable_decision) == (False, "rejected")
    assert rejected.appraised_score == 0

    # Round 2: 1.5 was appraised 1 against a self score of 0 in round 1.
    services.set_appraised_score(
        case.pk,
        "1.5",
        actor=world.appraiser,
        change=services.AppraisedScoreChange(appraised_score="1", comment="Đủ"),
    )
    Case.objects.filter(pk=case.pk).update(appraisal_round=2)
    before = Score.objects.get(case=case, criterion__code="1.5")
    page.goto(f"{base}/cases/{case.pk}/appraisal/?area=1")
    assert page.input_value("#c-1-5-appraised") == "1"
    page.click("#c-1-5 .appraise-form button")  # "Lưu" on the untouched row
    page.wait_for_selector("#c-1-5-astatus .saved")
    after = Score.objects.get(case=case, criterion__code="1.5")
    assert (after.appraised_score, after.appraised_round, after.version) == (
        before.appraised_score,
        1,
        before.version,
    )
    assert after.appraisals.count() == 1


def test_the_unit_sees_no_error_before_typing_and_keeps_what_a_refused_autosave_held(
    transactional_db: Any, world: Any, live_server: Any, browser: Browser
) -> None:
    """An empty answer box shows no error; an autosave the server refuses says the server's
    words and the typed figure stays, also across a reload, until it is saved."""
    case_b = world.case_b
    fill_self_scores(case_b)
    force_state(case_b, Case.State.APPRAISING)
    services.ask_clarification(case_b.pk, "1.5", "Vì sao tự chấm 0?", actor=world.appraiser)
    services.run_transition(case_b.pk, "request_explanation", actor=world.appraiser)
    base = live_server.url
    other = sign_in(browser, base, "stc.staff")
    other.goto(f"{base}/cases/{case_b.pk}/appraisal/")
    question = other.locator(".question", has_text="Vì sao tự chấm 0?")
    assert question.locator(".field-error").inner_text().strip() == ""
    assert question.locator("textarea").get_attribute("aria-invalid") is None
    shot(other, "27-unanswered-question-before-typing")

    page = sign_in(browser, base, "stp.staff")
    page.goto(f"{base}/cases/{world.case_a.pk}/")
    membership = world.staff_a.memberships.get()
    role = membership.role
    cycle_services.remove_membership(membership, actor=world.secretariat)  # meanwhile
    page.fill("#c-1-5-entry", "1,5")
    page.press("#c-1-5-entry", "Tab")
    page.wait_for_selector("#c-1-5-status .not-saved")
    said = page.inner_text("#c-1-5-status")
    assert "máy chủ từ chối" in said and "Không tìm thấy" in said, said
    assert "kết nối" not in said
    assert page.input_value("#c-1-5-entry") == "1,5"

    cycle_services.add_membership(world.staff_a, world.unit_a, role, actor=world.secretariat)
    page.reload()
    assert page.input_value("#c-1-5-entry") == "1,5"
    assert "Chưa lưu" in page.inner_text("#c-1-5-status")
    page.click("#c-1-5 .save-line button")
    page.wait_for_selector("#c-1-5-status .saved")
    assert Score.objects.get(case=world.case_a, criterion__code="1.5").self_score == Decimal("1.5")
    page.reload()
    assert page.inner_text("#c-1-5-status").strip() == ""


def test_the_secretariat_starts_many_appraisals_and_the_appraiser_agrees_with_an_area(
    transactional_db: Any, world: Any, live_server: Any, browser: Browser
) -> None:
    """Bulk work: two cases selected on the overview, one started and one refused by unit;
    the appraiser is told, and agrees with a whole area's self scores in one action."""
    fill_self_scores(world.case_a, 0)
    force_state(world.case_a, Case.State.SUBMITTED)
    base = live_server.url
    page = sign_in(browser, base, "secretariat")
    page.goto(f"{base}/cycles/{world.cycle.pk}/")
    page.check(f"#pick-{world.case_a.pk}")
    page.check(f"#pick-{world.case_b.pk}")
    page.select_option("#bulk-step", "start_appraisal")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#bulk button[type=submit]")
    page.wait_for_selector(".message-success")
    said = page.inner_text(".messages")
    assert "Bắt đầu thẩm định: đã thực hiện cho 1 hồ sơ." in said
    assert "STC – Sở Tài chính: " in said and "Đang tự chấm" in said
    shot(page, "28-overview-bulk-start")
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.APPRAISING
    assert Case.objects.get(pk=world.case_b.pk).state == Case.State.SELF_SCORING

    appraiser = sign_in(browser, base, "appraiser1")
    appraiser.goto(f"{base}/notifications/")
    assert "mời bạn thẩm định lĩnh vực 1, 2, 3, 4" in appraiser.inner_text("main")
    appraiser.goto(f"{base}/cases/{world.case_a.pk}/appraisal/?area=1")
    appraiser.once("dialog", lambda dialog: dialog.accept())
    appraiser.click("#a-1 .agree-area button")
    appraiser.wait_for_selector(".message-success")
    assert "Lĩnh vực 1: đã thẩm định" in appraiser.inner_text(".messages")
    unappraised = Score.objects.filter(
        case=world.case_a, criterion__area__code="1", appraised_round__isnull=True
    ).exclude(criterion__method=Method.SURVEY)
    assert not unappraised.exists()


def _password_sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#signin-form button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_a_province_starts_from_an_empty_installation_and_its_staff_follows_the_invitation(
    transactional_db: Any,
    live_server: Any,
    browser: Browser,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The secretariat, from the one command that makes its account, sets up the year in the
    pages only: units and accounts from Excel, each unit group's criteria set from its Excel
    file, the cycle with its deadlines and sets, the appraisal council with an area for a
    member department and its member, and opens it; the
    commune's staff member follows the e-mailed invitation, chooses a password and sees the
    score sheet with the imported criteria."""
    base = live_server.url
    settings.SITE_URL = base
    assert not Unit.objects.exists() and not Cycle.objects.exists()
    monkeypatch.setenv("SECRETARIAT_PASSWORD", "Thu-ky-So-Noi-vu-2026")
    call_command("create_secretariat", "thu.ky", "--full-name", "Nguyễn Thư Ký", stdout=StringIO())

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _password_sign_in(page, base, "thu.ky", "Thu-ky-So-Noi-vu-2026")

    # 1. Units and accounts from the province's workbook.
    page.click("nav >> text=Đơn vị và tài khoản")
    page.wait_for_url(f"{base}/people/")
    workbook = tmp_path / "Đơn vị và tài khoản.xlsx"
    workbook.write_bytes(
        people_workbook(
            [
                ("XANLAC", "Xã An Lạc", "khoi_xa", "Khối xã, phường, đặc khu", None),
                ("XDONGTIEN", "Xã Đồng Tiến", "khoi_xa", None, None),
                ("SNV", "Sở Nội vụ", "khoi_so", "Khối sở, ban, ngành", None),
            ],
            [
                ("Nguyễn Văn An", "an.nv@anlac.gov.vn", "XANLAC", "Cán bộ"),
                ("Trần Thị Bình", "binh.tt@anlac.gov.vn", "XANLAC", "Thủ trưởng"),
                ("Lê Văn Thẩm", "tham.lv@snv.gov.vn", "SNV", "Cán bộ"),
            ],
        )
    )
    page.set_input_files("#people-file", str(workbook))
    page.click("#people-form button[type=submit]")
    page.wait_for_selector(".message-success")
    assert "3 đơn vị mới" in page.inner_text(".messages")
    assert page.locator("#people tr[data-status='invited']").count() == 3
    shot(page, "40-setup-units-and-accounts")

    # 2. Each unit group's criteria set, from its Excel file.
    samples = ROOT.parent / "shared" / "frameworks"
    sample = frameworks.read(samples / "khoi-xa-sample.yaml")
    for group, data in (
        ("khoi_xa", sample),
        ("khoi_so", frameworks.read(samples / "khoi-so-sample.yaml")),
    ):
        criteria = tmp_path / f"Bộ tiêu chí {group}.xlsx"
        criteria.write_bytes(framework_excel.workbook(framework_tree.from_yaml(data)))
        page.goto(f"{base}/frameworks/import/")
        page.select_option("#set-group", group)
        page.fill("#set-number", "125/QĐ-UBND")
        page.fill("#set-date", "15/01/2026")
        page.fill("#set-signer", "Chủ tịch UBND tỉnh")
        page.set_input_files("#set-file", str(criteria))
        page.click("#preview-set")
        page.wait_for_selector("#preview")
        shot(page, f"41-setup-criteria-preview-{group}")
        page.click("#save-set")
        page.wait_for_selector(".message-success")

    # 3. The cycle: its years, deadlines and set.
    today = local_date(timezone.now())
    page.goto(f"{base}/cycles/new/")
    page.fill("#c-year", str(today.year))
    page.fill("#c-authority", "UBND tỉnh Thử Nghiệm")
    page.fill("#c-self_assessment_due", (today + timedelta(days=30)).strftime("%d/%m/%Y"))
    page.fill("#c-appraisal_due", (today + timedelta(days=90)).strftime("%d/%m/%Y"))
    page.select_option("#set-khoi_xa", index=1)
    page.select_option("#set-khoi_so", index=1)
    page.click("form.card button[type=submit]")
    page.wait_for_selector(".message-success")
    cycle = Cycle.objects.get()
    assert cycle.status == Cycle.Status.DRAFT
    shot(page, "42-setup-cycle-draft")

    # 4. The appraisal council: its decision, a member for Sở Nội vụ, area 1 for that
    # department, and through it the member (never for Sở Nội vụ's own case).
    page.goto(f"{base}/cycles/{cycle.pk}/council/")
    page.fill("#d-number", "45/QĐ-UBND")
    page.fill("#d-date", "20/01/2026")
    page.fill("#d-signer", "Chủ tịch UBND tỉnh")
    page.click("form:has(input[name=action][value=decision]) button[type=submit]")
    page.wait_for_selector(".message-success")
    page.fill("#m-user", "tham.lv@snv.gov.vn")
    page.select_option("#m-role", "member")
    page.select_option("#m-department", "SNV")
    page.click("#add-member button[type=submit]")
    page.wait_for_selector(".message-success")
    page.select_option("#a-area", "1")
    page.select_option("#a-department", "SNV")
    page.click("#add-area button[type=submit]")
    page.wait_for_selector(".message-success")
    shot(page, "43-setup-council")
    page.goto(f"{base}/cycles/{cycle.pk}/appraisers/")
    page.fill("#add-user", "tham.lv@snv.gov.vn")
    page.select_option("#add-area", "1")
    page.click("#add-appraiser button[type=submit]")
    page.wait_for_selector(".message-success")

    # 5. Open it: a case for each commune, a score row for each leaf of the set.
    page.goto(f"{base}/cycles/{cycle.pk}/settings/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"form[action='/cycles/{cycle.pk}/open/'] button")
    page.wait_for_selector(".message-success")
    cycle.refresh_from_db()
    assert cycle.status == Cycle.Status.OPEN
    assert cycle.cases.count() == 3
    case = Case.objects.get(cycle=cycle, unit__code="XANLAC")
    leaves = sum(1 for area in sample["areas"] for _criterion in area["criteria"])
    assert case.scores.count() == leaves
    appraiser = User.objects.get(username="tham.lv@snv.gov.vn")
    own = Case.objects.get(cycle=cycle, unit__code="SNV")
    assert permissions.has_case_perm(appraiser, "appraise_case", case)
    assert not permissions.has_case_perm(appraiser, "appraise_case", own)
    shot(page, "44-setup-cycle-open")

    # 6. The staff member follows the invitation and sees the imported criteria.
    (message,) = [m for m in mail.outbox if m.to == ["an.nv@anlac.gov.vn"]]
    link = next(line for line in message.body.splitlines() if "/invitation/" in line)
    assert link.startswith(f"{base}/invitation/")
    staff = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    staff.goto(link)
    staff.wait_for_selector("#invitation-form")
    shot(staff, "45-invitation-set-password")
    staff.fill("#id_new_password1", "An-Lac-cai-cach-2026")
    staff.fill("#id_new_password2", "An-Lac-cai-cach-2026")
    staff.click("#invitation-form button[type=submit]")
    staff.wait_for_url(f"{base}/login/")
    _password_sign_in(staff, base, "an.nv@anlac.gov.vn", "An-Lac-cai-cach-2026")
    staff.click(f"a[href='/cases/{case.pk}/'] >> nth=0")
    staff.wait_for_url(f"{base}/cases/{case.pk}/")
    sheet = staff.inner_text("main")
    assert "Xã An Lạc" in sheet
    for area in sample["areas"][:2]:
        for criterion in area["criteria"]:
            assert criterion["title"] in sheet
    shot(staff, "46-invited-staff-score-sheet")
