"""The unit's score sheet: reading it, autosaving a score, errors beside their field, and a
submit that says what is missing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.test import Client
from django.urls import reverse

from cases.models import Case, Score
from tests.helpers import fill_self_scores, force_state
from tests.web.helpers import htmx
from tests.web.html import Page
from workflow.models import AuditEntry


def _score(case: Case, code: str) -> Score:
    return Score.objects.select_related("criterion").get(case=case, criterion__code=code)


def test_unit_staff_sees_every_area_the_deadline_and_what_is_left(
    world: Any, signed_in: Any
) -> None:
    page = signed_in(world.staff_a).get(reverse("web:case", args=[world.case_a.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Bảng tự chấm điểm" in html
    assert "Công tác chỉ đạo, điều hành CCHC" in html  # area 1
    assert world.cycle.self_assessment_due.strftime("%d/%m/%Y") in html
    assert "còn 7 ngày" in html
    doc = Page(page)
    assert doc.id("c-1-1-1-entry").tag == "select"  # yes/no leaf
    assert doc.id("c-1-5-entry").tag == "input"  # manual points
    assert doc.all("label", **{"for": "c-1-5-entry"})[0].text == "Điểm tự chấm"
    # Staff may not submit: no submit button, and no checklist of the submission.
    assert doc.first_or_none(data_step="submit") is None
    assert doc.id_or_none("checklist") is None


def test_autosave_stores_the_score_and_answers_with_the_saved_status(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.staff_a)
    url = reverse("web:self-score", args=[world.case_a.pk, "1.5"])
    response = htmx(client, url, {"entry": "1,5", "note": "QĐ số 12/QĐ-STP, trang 3", "version": 0})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Đã lưu lúc" in html
    assert 'id="c-1-5-version"' in html and 'value="1"' in html
    score = _score(world.case_a, "1.5")
    assert score.self_score == Decimal("1.5") and score.note == "QĐ số 12/QĐ-STP, trang 3"
    assert AuditEntry.objects.filter(case=world.case_a, action="cases.score.self_changed").exists()


def test_a_figure_is_turned_into_points_by_the_criterion_method(world: Any, signed_in: Any) -> None:
    client = signed_in(world.staff_a)
    url = reverse("web:self-score", args=[world.case_a.pk, "1.1.2"])  # rate thresholds
    response = htmx(client, url, {"entry": "85", "note": "", "version": 0})
    assert response.status_code == 200
    assert 'id="c-1-1-2-points"' in response.content.decode()
    assert _score(world.case_a, "1.1.2").self_score == Decimal("1.00")


def test_a_score_above_the_maximum_is_refused_beside_its_field(world: Any, signed_in: Any) -> None:
    client = signed_in(world.staff_a)
    url = reverse("web:self-score", args=[world.case_a.pk, "1.5"])
    response = htmx(client, url, {"entry": "9", "note": "", "version": 0})
    assert response.status_code == 400
    error = Page(response).id("c-1-5-entry-error")
    assert "tối đa" in error.text
    assert error["data-error-for"] == "c-1-5-entry"
    assert _score(world.case_a, "1.5").self_score is None


def test_not_applicable_without_a_reason_points_at_the_reason_field(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.staff_a)
    url = reverse("web:self-score", args=[world.case_a.pk, "1.3.1"])
    response = htmx(
        client, url, {"not_applicable": "on", "not_applicable_reason": "", "version": 0}
    )
    assert response.status_code == 400
    assert "lý do" in Page(response).id("c-1-3-1-na-reason-error").text.lower()
    assert _score(world.case_a, "1.3.1").not_applicable is False


def test_without_javascript_a_save_reloads_the_sheet_at_the_row(world: Any, signed_in: Any) -> None:
    client = signed_in(world.staff_a)
    url = reverse("web:self-score", args=[world.case_a.pk, "1.1.1"])
    response = client.post(url, {"entry": "1", "note": "", "version": 0})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/cases/{world.case_a.pk}/#c-1-1-1")
    assert _score(world.case_a, "1.1.1").self_score == Decimal("1.00")
    page = client.get(response["Location"])
    assert "Đã lưu tiêu chí 1.1.1." in page.content.decode()


def test_without_javascript_a_refused_save_shows_the_sheet_again_with_what_was_typed(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.staff_a)
    url = reverse("web:self-score", args=[world.case_a.pk, "1.5"])
    response = client.post(url, {"entry": "abc", "note": "ghi chú", "version": 0})
    assert response.status_code == 400
    doc = Page(response)
    assert doc.id("c-1-5-entry")["value"] == "abc"
    assert doc.id("c-1-5-note").text == "ghi chú"
    assert doc.id("c-1-5-entry-error").text


def test_a_stale_version_is_refused_and_keeps_the_other_persons_score(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.staff_a)
    url = reverse("web:self-score", args=[world.case_a.pk, "1.5"])
    assert htmx(client, url, {"entry": "1", "version": 0}).status_code == 200
    response = htmx(signed_in(world.head_a), url, {"entry": "0,5", "version": 0})
    assert response.status_code == 400
    assert "người khác" in Page(response).id("c-1-5-errors").text
    assert _score(world.case_a, "1.5").self_score == Decimal("1.00")


def test_another_unit_cannot_see_or_change_the_sheet(world: Any, signed_in: Any) -> None:
    client = signed_in(world.staff_b)
    assert client.get(reverse("web:case", args=[world.case_a.pk])).status_code == 404
    url = reverse("web:self-score", args=[world.case_a.pk, "1.5"])
    assert htmx(client, url, {"entry": "1", "version": 0}).status_code == 404
    assert _score(world.case_a, "1.5").self_score is None


def test_the_appraiser_reads_the_sheet_but_cannot_change_it(world: Any, signed_in: Any) -> None:
    client = signed_in(world.appraiser)
    page = client.get(reverse("web:case", args=[world.case_a.pk]))
    assert page.status_code == 200
    assert Page(page).first_or_none("form", **{"class": "score-form"}) is None
    url = reverse("web:self-score", args=[world.case_a.pk, "1.5"])
    assert htmx(client, url, {"entry": "1", "version": 0}).status_code == 403


def test_the_head_sees_what_is_missing_before_submitting(world: Any, signed_in: Any) -> None:
    page = signed_in(world.head_a).get(reverse("web:case", args=[world.case_a.pk]))
    doc = Page(page)
    assert doc.first_or_none("button", data_step="submit") is not None
    assert "Tiêu chí 1.1.1 chưa có điểm tự chấm." in doc.id("checklist").text


def test_a_refused_submission_lists_every_reason_and_changes_nothing(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.head_a)
    response = client.post(reverse("web:transition", args=[world.case_a.pk, "submit"]))
    assert response.status_code == 302
    assert "check=submit" in response["Location"]
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Chưa thể thực hiện bước này." in html
    assert "Tiêu chí 1.5 chưa có điểm tự chấm." in html
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.SELF_SCORING


def test_the_head_submits_a_complete_self_assessment(world: Any, signed_in: Any) -> None:
    fill_self_scores(world.case_a)
    client = signed_in(world.head_a)
    response = client.post(reverse("web:transition", args=[world.case_a.pk, "submit"]))
    assert response.status_code == 302
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.SUBMITTED
    page = client.get(response["Location"])
    assert "Đã gửi kết quả tự đánh giá." in page.content.decode()


def test_a_step_of_the_system_cannot_be_posted_from_a_page(world: Any, signed_in: Any) -> None:
    client = signed_in(world.secretariat)
    url = reverse("web:transition", args=[world.case_a.pk, "lock_at_cutoff"])
    assert client.post(url).status_code == 404
    assert Case.objects.get(pk=world.case_a.pk).state == Case.State.SELF_SCORING


def test_after_the_deadline_the_sheet_is_read_only(world: Any, signed_in: Any) -> None:
    force_state(world.case_a, Case.State.SELF_SCORING)
    world.cycle.__class__.objects.filter(pk=world.cycle.pk).update(
        self_assessment_due=world.cycle.self_assessment_due.replace(year=2000)
    )
    page = signed_in(world.staff_a).get(reverse("web:case", args=[world.case_a.pk]))
    html = page.content.decode()
    assert "Đã hết hạn tự đánh giá: không thể sửa điểm nữa." in html
    assert "quá hạn" in html
    assert Page(page).first_or_none("form", **{"class": "score-form"}) is None


def test_points_hints_and_choices_are_written_as_a_vietnamese_reader_writes_them(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.staff_a)
    page = Page(client.get(reverse("web:case", args=[world.case_a.pk])))
    assert page.id("c-1-2-entry-hint").text == "trừ 0,5/báo cáo thiếu hoặc trễ, tối thiểu 0"
    assert page.id("c-2-1-2-entry-hint").text == "trừ 0,25/vi phạm"
    yes, no = [o.text for o in page.all("option") if o.attrs.get("value") in ("1", "0")][:2]
    assert (yes, no) == ("Có (1 điểm)", "Không (0 điểm)")

    client.cookies["django_language"] = "en"
    english = Page(client.get(reverse("web:case", args=[world.case_a.pk])))
    options = [o.text for o in english.all("option") if o.attrs.get("value") in ("1", "0")]
    assert options[:2] == ["Yes (1 point)", "No (0 points)"]  # not "1 points"
    # English pages write numbers the English way, the framework's words included
    assert english.id("c-1-2-entry-hint").text == "trừ 0.5/báo cáo thiếu hoặc trễ, tối thiểu 0"


def test_the_not_applicable_choice_and_its_reason_sit_on_lines_of_their_own(
    world: Any, signed_in: Any
) -> None:
    page = Page(signed_in(world.staff_a).get(reverse("web:case", args=[world.case_a.pk])))
    choice = page.first("div", **{"class": "na-choice"})
    assert page.first_or_none("div", **{"class": "field na-reason"}) is not None
    assert "Tiêu chí này không áp dụng" in choice.text and "Lý do" not in choice.text
    box = page.first("textarea", name="not_applicable_reason")
    assert box["rows"] == "2"


def test_an_autosave_sent_with_a_stale_form_after_signing_in_again_says_to_reload(
    world: Any,
) -> None:
    """The page stayed open while its user signed in again in another tab (which changes the
    form's security code): the save is refused with what to do, in Vietnamese, on the
    product's page, and nothing is saved."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.staff_a)
    client.get(reverse("web:case", args=[world.case_a.pk]))
    stale = client.cookies["csrftoken"].value
    client.force_login(world.staff_a)  # signed in again in another tab: a new code
    client.cookies["csrftoken"] = "x" * 32  # the other tab's cookie, not this page's code
    before = _score(world.case_a, "1.5").self_score
    url = reverse("web:self-score", args=[world.case_a.pk, "1.5"])
    response = client.post(
        url,
        {"entry": "1,5", "note": "", "version": 0},
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=stale,
    )
    assert response.status_code == 403
    page = Page(response)
    assert page.first("h1").text == "Biểu mẫu đã hết hạn"
    assert "Hãy tải lại trang" in page.text and "chưa có gì được lưu" in page.text
    assert "CSRF" not in page.text
    assert _score(world.case_a, "1.5").self_score == before
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.post(url, {"entry": "1,5", "note": "", "version": 0}, HTTP_X_CSRFTOKEN=stale)
    assert english.status_code == 403
    assert Page(english).first("h1").text == "Form expired"
