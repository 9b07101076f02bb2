"""Every page of every role passes axe-core, in Vietnamese and in English, and the score sheet
can be filled with the keyboard alone.

axe-core comes from the npm registry, pinned in package-lock.json (`make test` installs it
into node_modules/). Each role's pages are found as a user finds them: from the home page,
following the links, one visit per kind of page (and per state of its case or cycle); a
page of web/urls.py that no role reached fails the run, so a new page joins it. A page
shaped like one already checked (SHAPE) is not checked again; the pages checked in
Vietnamese are checked again in English. One browser, one page per role and language.
An appraisal row refused with its errors is checked too (no link leads to it).
Any violation fails, whatever its impact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import Resolver404, resolve
from playwright.sync_api import Browser, Page

from cases import frameworks
from cases.models import Case, Cycle, Method, Score
from tests.evidence.helpers import upload
from tests.evidence.samples import PDF
from tests.factories import PASSWORD
from tests.helpers import appraise_all, fill_self_scores, force_state, self_scorable
from web.urls import urlpatterns as page_urls
from workflow import cycle_services, services
from workflow.people import invitation_link

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("close_pages")]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Pages of web/urls.py that answer a form's POST only (no page of their own to check).
POST_ONLY = {
    "self-score",
    "transition",
    "extend",
    "upload",
    "appraise",
    "agree-area",
    "ask",
    "answer",
    "submit-results",
    "bulk-step",
    "unassign",
    "calendar-remove",
    "exclusion",
    "read-all",
    "cycle-set",
    "cycle-open",
    "framework-edit",
    "framework-copy",
    "person-invite",
    "person-deactivate",
    "person-reactivate",
    "signed-report",
}
# One visit per page kind, and per state of the case or cycle for these pages.
CASE_PAGES = {"case", "history", "appraisal", "case-documents"}
CYCLE_PAGES = {"cycle", "results", "result-unit"}
# Pages of the configuration's own URLs (sign-in and its watch).
OUTSIDE_WEB = {"login", "sign-in-watch"}
NOT_PAGES = ("/logout/", "/api/", "/admin/", "/i18n/", "/static/", "/ws/")
DOWNLOADS = (".xlsx", ".docx", ".csv", ".json", ".pdf")
# The unit's staff and head (self-scoring), the head of a unit answering questions, an
# appraiser, the secretariat, the leader, the auditor, and someone not signed in.
ROLES = (
    "stp.staff",
    "stp.head",
    "stc.head",
    "appraiser1",
    "secretariat",
    "leader",
    "auditor",
    None,
)


@dataclass
class Visited:
    """What the run saw: every page checked, every violation by role, language and page."""

    names: set[str] = field(default_factory=set)
    shapes: set[tuple[str, str]] = field(default_factory=set)
    pages: int = 0
    checked: int = 0
    rules_passed: int = 0
    violations: list[str] = field(default_factory=list)


def _finished_cycle(world: Any, years_ago: int, *, publish: bool) -> Cycle:
    """An earlier cycle, finished and sent to the leader, published if asked, so that results,
    history and approval pages show a ranking (test set-up shortcuts; the workflow's own tests
    run every step)."""
    this = world.cycle
    cycle = Cycle.objects.create(
        year=this.year - years_ago,
        title=f"Chỉ số CCHC {this.year - years_ago}",
        authority=this.authority,
        self_assessment_due=this.self_assessment_due - timedelta(days=365 * years_ago),
        appraisal_due=this.appraisal_due - timedelta(days=365 * years_ago),
    )
    frameworks.load_builtin("khoi_so", cycle=cycle, unit_group=world.group)
    cycle_services.open_cycle(cycle.pk, actor=world.secretariat)
    for points, case in enumerate(Case.objects.filter(cycle=cycle).order_by("unit__code")):
        fill_self_scores(case, points)
        appraise_all(case, world.appraiser)
        Score.objects.filter(case=case, criterion__method=Method.SURVEY).update(appraised_score=1)
        force_state(case, Case.State.FINALISED)
    cycle_services.submit_results(cycle.pk, actor=world.secretariat)
    if publish:
        cycle_services.publish_cycle(
            cycle.pk,
            actor=world.leader,
            decision_number="125/QĐ-UBND",
            decision_date=date(cycle.year, 12, 20),
        )
    return cycle


def _this_year_under_way(world: Any) -> None:
    """Unit A is self-scoring with a file it may withdraw or link elsewhere; unit B answers
    the council's question, and its claim that a criterion of the appraiser's areas does not
    apply waits for the appraiser to confirm or reject it."""
    for case, user in ((world.case_a, world.staff_a), (world.case_b, world.staff_b)):
        fill_self_scores(case)
        self_scorable(case).update(evidence_explanation="Theo báo cáo năm")
        assert upload(user, case, "1.1.1", PDF).status_code == 201
    services.set_self_score(
        world.case_b.pk,
        "1.3.1",
        actor=world.staff_b,
        change=services.SelfScoreChange(
            not_applicable=True, not_applicable_reason="Sở không có đơn vị trực thuộc"
        ),
    )
    services.run_transition(world.case_b.pk, "submit", actor=world.head_b)
    services.run_transition(world.case_b.pk, "start_appraisal", actor=world.secretariat)
    services.ask_clarification(
        world.case_b.pk, "1.5", "Đề nghị bổ sung quyết định.", actor=world.appraiser
    )
    services.run_transition(world.case_b.pk, "request_explanation", actor=world.appraiser)


def _open_as(
    browser: Browser, base: str, username: str | None, language: str, *, axe: bool = False
) -> Page:
    """A page signed in as the user (a session made here, no form), in the language asked;
    the product's CSP forbids the injected script, so this context bypasses it. With `axe`,
    axe-core is in every document the page opens (sent to the browser once, not once per
    check), and the page sees a browser without WebSocket: the live server has none, so the
    bell would ask for a ticket and fail to open a socket on every page, two requests that
    change nothing the check sees but the bell's look once the tickets of the minute run out
    (a 429, by chance). The bell stays as the page drew it, its link working."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    if axe:
        context.add_init_script(path=AXE)
        context.add_init_script(script="delete window.WebSocket;")
    cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}]
    if username is not None:
        client = Client()
        client.force_login(User.objects.get(username=username))
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base})
    context.add_cookies(cookies)  # type: ignore[arg-type]
    return context.new_page()


def _page_key(path: str) -> tuple[str, str] | None:
    """Which kind of page a link leads to, with the state of its case or cycle (None: not a
    page to check)."""
    if path.startswith(NOT_PAGES) or path.endswith(DOWNLOADS):
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if match.namespace != "web" and match.url_name not in OUTSIDE_WEB:
        return None
    name, pk = match.url_name or "", match.kwargs.get("pk")
    if pk is None:
        return name, ""
    if name in CASE_PAGES:
        return name, Case.objects.filter(pk=pk).values_list("state", flat=True).first() or ""
    if name in CYCLE_PAGES:
        return name, Cycle.objects.filter(pk=pk).values_list("status", flat=True).first() or ""
    return name, ""


# The structure of a page's main content without its words: tags, classes, roles, ARIA and
# form attributes, and whether each leaf holds text. Two pages alike in it get the same
# answer from axe's rules, so a role's page shaped like one already checked in the same
# language is not checked again (each role's first page, with its header, always is).
SHAPE = """() => {
    let h = 2166136261;
    const add = s => { for (let i = 0; i < s.length; i++) {
        h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); } };
    for (const el of document.querySelectorAll('main, main *')) {
        add('<' + el.tagName);
        for (const a of el.getAttributeNames()) {
            if (a === 'class' || a === 'type' || a === 'role' || a === 'hidden' ||
                a === 'for' || a === 'alt' || a === 'title' || a === 'tabindex' ||
                a.startsWith('aria-')) add(a + '=' + (a === 'class' || a === 'type' ||
                a === 'role' ? el.getAttribute(a) : ''));
        }
        if (!el.childElementCount) add(el.textContent.trim() ? 't' : 'e');
    }
    return String(h >>> 0);
}"""


def _axe(page: Page) -> dict[str, Any]:
    """axe's answer for the page as it is (axe-core is there from `_open_as(axe=True)`)."""
    result: dict[str, Any] = page.evaluate(
        """async () => {
            if (typeof axe === "undefined") throw new Error("axe-core is not in the page");
            const r = await axe.run(document, {resultTypes: ['violations']});
            return {
                passes: r.passes.length,
                violations: r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
                })),
            };
        }"""
    )
    return result


def _check(page: Page, who: str, seen: Visited) -> None:
    result = _axe(page)
    seen.checked += 1
    seen.rules_passed += result["passes"]
    seen.violations += [
        f"{who}: {v['id']} ({v['impact']}) {v['help']} at {v['targets']}"
        for v in result["violations"]
    ]


def _open(page: Page, base: str, path: str, who: str, language: str) -> None:
    response = page.goto(f"{base}{path}")
    assert response is not None and response.status == 200, f"{who}: {response}"
    assert page.evaluate("document.documentElement.lang") == language, who


def _crawl_and_check(browser: Browser, base: str, username: str | None, seen: Visited) -> list[str]:
    """Follow the role's links in Vietnamese, checking each page unlike those checked
    already; returns the pages checked."""
    page = _open_as(browser, base, username, "vi", axe=True)
    queue = ["/"]
    if username is None:  # the sign-in page, and the invitation a new account receives
        invited = User.objects.get(username="stp.staff")
        queue = ["/login/", urlsplit(invitation_link(invited)).path]
    keys: set[tuple[str, str]] = set()
    checked: list[str] = []
    while queue:
        path = queue.pop(0)
        key = _page_key(path)
        if key is None or key in keys:
            continue
        keys.add(key)
        who = f"{username or 'anonymous'} (vi) {path}"
        _open(page, base, path, who, "vi")
        seen.names.add(key[0])
        seen.pages += 1
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            link = urlsplit(href)
            if f"{link.scheme}://{link.netloc}" == base and link.path not in queue:
                queue.append(link.path)
        shape = (key[0], page.evaluate(SHAPE))
        if shape in seen.shapes and checked:
            continue
        seen.shapes.add(shape)
        checked.append(path)
        _check(page, who, seen)
    return checked


def _check_a_refused_row(browser: Browser, base: str, case: Case, seen: Visited) -> None:
    """The appraiser rejects the unit's "not applicable" without the score and the reason a
    rejection needs: the row shows its errors, as a save the server refused leaves it."""
    row = "#c-1-3-1"
    for language in ("vi", "en"):
        page = _open_as(browser, base, "appraiser1", language, axe=True)
        path = f"/cases/{case.pk}/appraisal/"
        who = f"appraiser1 ({language}) {path}, a refused row"
        _open(page, base, path, who, language)
        page.check(f"{row}-na-reject")
        page.click(f"{row} .save-line button")
        page.wait_for_selector(f"{row}-astatus .not-saved")
        assert page.inner_text(f"{row}-comment-error").strip(), who
        assert page.get_attribute(f"{row}-appraised", "aria-invalid") == "true", who
        _check(page, who, seen)


def test_every_page_of_every_role_passes_axe_in_vietnamese_and_english(
    transactional_db: Any, world: Any, live_server: Any, browser: Browser, s3_evidence: None
) -> None:
    assert AXE.exists(), "axe-core is missing: make test installs it (npm ci)"
    _finished_cycle(world, 2, publish=True)
    _finished_cycle(world, 1, publish=False)  # awaiting the leader's approval
    _this_year_under_way(world)
    base, seen = live_server.url, Visited()
    for username in ROLES:
        checked = _crawl_and_check(browser, base, username, seen)
        page = _open_as(browser, base, username, "en", axe=True)  # the same pages in English
        for path in checked:
            who = f"{username or 'anonymous'} (en) {path}"
            _open(page, base, path, who, "en")
            _check(page, who, seen)
    _check_a_refused_row(browser, base, world.case_b, seen)

    assert seen.rules_passed > 0  # axe ran: an empty list of violations means something
    pages = ({p.name for p in page_urls if p.name} | OUTSIDE_WEB) - POST_ONLY
    assert pages - seen.names == set(), "pages no role reached from its home page"
    assert seen.violations == [], f"{len(seen.violations)} violations on {seen.checked} checks"


def test_the_unit_fills_and_submits_the_score_sheet_with_the_keyboard_alone(
    transactional_db: Any, world: Any, live_server: Any, browser: Browser
) -> None:
    """Tab reaches every field in reading order, typing saves on leaving the field, Space
    ticks a box, Enter sends: no mouse."""
    case = world.case_a
    fill_self_scores(case)
    self_scorable(case).update(evidence_explanation="Theo báo cáo năm")
    Score.objects.filter(case=case, criterion__code__in=["1.5", "1.1.1"]).update(self_score=None)
    base = live_server.url
    page = _open_as(browser, base, None, "vi")

    def tab_to(selector: str, limit: int = 400) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("s => document.activeElement.matches(s)", selector):
                return
        raise AssertionError(f"Tab never reached {selector}")

    page.goto(f"{base}/login/")
    tab_to("#id_username", limit=20)
    page.keyboard.type("stp.head")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
    tab_to(f"main a[href='/cases/{case.pk}/']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/cases/{case.pk}/")

    tab_to("#c-1-5-entry")
    page.keyboard.type("1")
    page.keyboard.press("Tab")
    page.wait_for_selector("#c-1-5-status .saved")
    page.reload()  # back at the top: Tab goes through the sheet from the start again
    tab_to("#c-1-1-1-entry")
    page.keyboard.press("ArrowDown")  # "Có": a choice made on the list, saved at once
    page.wait_for_selector("#c-1-1-1-status .saved")
    assert Score.objects.get(case=case, criterion__code="1.5").self_score == 1
    assert Score.objects.get(case=case, criterion__code="1.1.1").self_score == 1

    page.reload()
    page.once("dialog", lambda dialog: dialog.accept())
    tab_to("[data-step=submit]")
    page.keyboard.press("Enter")  # the confirmation is the browser's own dialog
    page.wait_for_selector(".message-success")
    assert Case.objects.get(pk=case.pk).state == Case.State.SUBMITTED
