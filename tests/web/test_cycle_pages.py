"""The secretariat's cycle overview, sending results, and the leader's publication."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.urls import reverse

from cases.models import Case, Cycle, Method, Score
from tests.helpers import appraise_all, appraised_but_one, fill_self_scores, force_state
from tests.web.html import Page
from workflow import services


def _finalise_all(world: Any) -> None:
    """Test set-up shortcut: both cases appraised, their survey scores imported, finalised."""
    for case in (world.case_a, world.case_b):
        fill_self_scores(case)
        appraise_all(case, world.appraiser)
        Score.objects.filter(case=case, criterion__method=Method.SURVEY).update(appraised_score=1)
        force_state(case, Case.State.FINALISED)


def test_the_overview_lists_every_case_with_its_progress(world: Any, signed_in: Any) -> None:
    fill_self_scores(world.case_b)
    page = Page(signed_in(world.secretariat).get(reverse("web:cycle", args=[world.cycle.pk])))
    rows = [r.text for r in page.all("tr")]
    stc = next(r for r in rows if "STC – Sở Tài chính" in r)
    stp = next(r for r in rows if "STP – Sở Tư pháp" in r)
    assert "48/48" in stc and "0/48" in stp


def test_the_overview_filters_by_state(world: Any, signed_in: Any) -> None:
    force_state(world.case_b, Case.State.SUBMITTED)
    url = reverse("web:cycle", args=[world.cycle.pk]) + "?state=submitted"
    page = Page(signed_in(world.secretariat).get(url))
    body = page.first("table", **{"class": "overview"}).text
    assert "STC" in body and "STP" not in body


def test_a_search_holding_a_nul_character_finds_nothing_instead_of_failing(
    world: Any, signed_in: Any
) -> None:
    url = reverse("web:cycle", args=[world.cycle.pk]) + "?q=S%00T"
    response = signed_in(world.secretariat).get(url)
    assert response.status_code == 200
    body = Page(response).first("table", **{"class": "overview"}).text
    assert "STC" not in body and "STP" not in body


def test_units_cannot_open_the_cycle_overview(world: Any, signed_in: Any) -> None:
    url = reverse("web:cycle", args=[world.cycle.pk])
    assert signed_in(world.head_a).get(url).status_code == 403


def test_sending_results_before_every_case_is_finalised_lists_who_is_not(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    response = client.post(reverse("web:submit-results", args=[world.cycle.pk]), follow=True)
    text = Page(response).text
    assert "Tất cả hồ sơ phải được chốt điểm trước." in text
    assert "STP – Sở Tư pháp" in text
    assert Cycle.objects.get(pk=world.cycle.pk).status == Cycle.Status.OPEN


def test_the_leader_publishes_with_the_decision_and_errors_stay_beside_their_fields(
    world: Any, signed_in: Any
) -> None:
    _finalise_all(world)
    secretariat = signed_in(world.secretariat)
    secretariat.post(reverse("web:submit-results", args=[world.cycle.pk]))
    assert Cycle.objects.get(pk=world.cycle.pk).status == Cycle.Status.RESULTS_SUBMITTED
    leader = signed_in(world.leader)
    url = reverse("web:publish", args=[world.cycle.pk])
    refused = leader.post(url, {"decision_number": "", "decision_date": "31/02/2026"})
    assert refused.status_code == 400
    page = Page(refused)
    assert "số" in page.id("id_decision_number-error").text.lower()
    assert "dd/mm/yyyy" in page.id("id_decision_date-error").text
    published = leader.post(url, {"decision_number": "123/QĐ-UBND", "decision_date": "15/04/2026"})
    assert published.status_code == 302
    assert Cycle.objects.get(pk=world.cycle.pk).status == Cycle.Status.PUBLISHED
    assert set(Case.objects.values_list("state", flat=True)) == {Case.State.PUBLISHED}


def test_only_the_leader_may_publish(world: Any, signed_in: Any) -> None:
    url = reverse("web:publish", args=[world.cycle.pk])
    assert signed_in(world.secretariat).get(url).status_code == 403


def test_the_overview_offers_sending_the_results_only_once_every_case_is_finalised(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.secretariat)
    url = reverse("web:cycle", args=[world.cycle.pk])
    submit_url = reverse("web:submit-results", args=[world.cycle.pk])
    assert submit_url not in client.get(url).content.decode()
    Case.objects.filter(cycle=world.cycle).update(state=Case.State.FINALISED)
    assert submit_url in client.get(url).content.decode()


def test_finalising_many_cases_from_the_overview_lists_the_refusals_by_unit(
    world: Any, signed_in: Any
) -> None:
    appraised_but_one(world)
    unready = Case.objects.filter(pk=world.case_b.pk).values().get()
    response = signed_in(world.secretariat).post(
        reverse("web:bulk-step", args=[world.cycle.pk]),
        {"step": "finalise", "case": [world.case_a.pk, world.case_b.pk, "x", "²"]},
        follow=True,
    )
    page = Page(response)
    assert page.first("p", **{"class": "message message-success"}).text == (
        "Chốt điểm: đã thực hiện cho 1 hồ sơ."
    )
    refusals = [p.text for p in page.all("p", **{"class": "message message-error"})]
    assert refusals == [
        "STC – Sở Tài chính: Chưa thể thực hiện bước này. Tiêu chí 2.2 chưa được thẩm định."
    ]
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.FINALISED
    assert Case.objects.filter(pk=world.case_b.pk).values().get() == unready


def test_starting_the_appraisal_and_sending_questions_ask_for_confirmation(
    world: Any, signed_in: Any
) -> None:
    def confirmation(user: User, url: str, step: str) -> str:
        """What the browser asks before the step's form is sent (`data-confirm`)."""
        forms = Page(signed_in(user).get(url)).all("form")
        form = next(f for f in forms if f.attrs.get("action", "").endswith(f"/{step}/"))
        return form.attrs.get("data-confirm", "")

    case = Case.objects.filter(pk=world.case_a.pk)
    case.update(state=Case.State.SUBMITTED)
    sheet = reverse("web:case", args=[world.case_a.pk])
    said = confirmation(world.secretariat, sheet, "start_appraisal")
    assert "Bắt đầu thẩm định hồ sơ này?" in said
    case.update(state=Case.State.APPRAISING)
    services.ask_clarification(
        world.case_a.pk, "1.5", "Đề nghị bổ sung quyết định.", actor=world.appraiser
    )
    appraisal = reverse("web:appraisal", args=[world.case_a.pk])
    said = confirmation(world.appraiser, appraisal, "request_explanation")
    assert "Gửi các câu hỏi cho đơn vị ngay bây giờ?" in said


def test_the_sign_in_page_links_to_the_published_results(world: Any, client: Any) -> None:
    assert "/results/" not in client.get(reverse("login")).content.decode()
    Cycle.objects.filter(pk=world.cycle.pk).update(status=Cycle.Status.PUBLISHED)
    page = client.get(reverse("login")).content.decode()
    assert f'href="/cycles/{world.cycle.pk}/results/"' in page
    assert "Kết quả đã công bố" in page
