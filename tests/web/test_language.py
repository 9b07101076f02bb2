"""Vietnamese first: pages speak Vietnamese whatever the browser announces, English only from
the switch; dates dd/mm/yyyy and the decimal comma; the API keeps Accept-Language."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from cases.models import Score
from tests.helpers import api
from tests.web.html import Page


def test_pages_are_in_vietnamese_even_for_an_english_browser(world: Any, signed_in: Any) -> None:
    client = signed_in(world.staff_a)
    page = Page(client.get(reverse("web:home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9"))
    assert "Hồ sơ đánh giá của đơn vị" in page.text
    assert page.first("html")["lang"] == "vi"


def test_the_switch_turns_the_pages_into_english_and_back(world: Any, signed_in: Any) -> None:
    client = signed_in(world.staff_a)
    home = reverse("web:home")
    switched = client.post(reverse("set_language"), {"language": "en", "next": home})
    assert switched.status_code == 302
    page = Page(client.get(home))
    assert "Your unit's assessment" in page.text
    assert world.cycle.self_assessment_due.strftime("%d/%m/%Y") in page.text  # still day first
    client.post(reverse("set_language"), {"language": "vi", "next": home})
    assert "Hồ sơ đánh giá của đơn vị" in Page(client.get(home)).text


def test_points_are_written_with_a_decimal_comma(world: Any, signed_in: Any) -> None:
    Score.objects.filter(case=world.case_a, criterion__code="1.5").update(self_score="1.25")
    page = Page(signed_in(world.staff_a).get(reverse("web:case", args=[world.case_a.pk])))
    assert page.id("c-1-5-entry")["value"] == "1,25"
    assert page.id("self-total").text == "1,25"


def test_the_api_still_answers_in_english_when_asked(world: Any) -> None:
    response = api(world.staff_b).get(
        f"/api/v1/cases/{world.case_a.pk}/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 404
    assert response.json()["detail"] == (
        "This assessment case does not exist or you may not see it."
    )


def test_the_score_sheets_rows_follow_the_switch_both_ways(world: Any, signed_in: Any) -> None:
    """The rows' words are translated once per language, not once for every language: each
    sheet still speaks its reader's."""
    client = signed_in(world.staff_a)
    sheet = reverse("web:case", args=[world.case_a.pk])

    def note_label() -> str:
        return Page(client.get(sheet)).first("label", **{"for": "c-1-5-note"}).text

    assert note_label() == "Ghi chú (văn bản, mục và trang)"
    client.post(reverse("set_language"), {"language": "en", "next": sheet})
    assert note_label() == "Note (documents, section and page)"
    client.post(reverse("set_language"), {"language": "vi", "next": sheet})
    assert note_label() == "Ghi chú (văn bản, mục và trang)"
