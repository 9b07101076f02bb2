"""Every user chooses, from the inbox, which notifications also come by e-mail and in which
language; the page saves through the notifications service, all or nothing."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from notifications import rules
from notifications.models import EmailOptOut, NotificationSettings
from tests.web.html import Page

URL = reverse("web:notification-settings")


def _boxes(page: Page) -> dict[str, bool]:
    return {
        box["value"]: "checked" in box.attrs
        for box in page.all("input", type="checkbox", name="email")
    }


def test_the_inbox_leads_to_the_settings_with_every_kind_on_by_default(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.staff_a)
    inbox = Page(client.get(reverse("web:inbox")))
    assert inbox.first("a", href=URL).text == "Cài đặt thông báo"

    page = Page(client.get(URL))

    boxes = _boxes(page)
    assert set(rules.KINDS) <= set(boxes) and all(boxes.values())
    assert "checked" in page.id("language-vi").attrs
    assert rules.KINDS["submitted"].label_in("vi") in page.text


def test_a_user_turns_e_mail_off_for_one_kind_and_chooses_english(
    world: Any, signed_in: Any
) -> None:
    client = signed_in(world.staff_a)
    others = [kind for kind in rules.KINDS if kind != "submitted"]

    response = client.post(URL, {"language": "en", "email": others})

    assert response.status_code == 302 and response["Location"] == URL
    assert list(EmailOptOut.objects.filter(user=world.staff_a).values_list("kind", flat=True)) == [
        "submitted"
    ]
    assert NotificationSettings.objects.get(user=world.staff_a).language == "en"
    page = Page(client.get(URL))
    assert "Đã lưu cài đặt thông báo." in page.text
    boxes = _boxes(page)
    assert boxes["submitted"] is False and all(boxes[k] for k in others)
    assert "checked" in page.id("language-en").attrs

    client.post(URL, {"language": "en", "email": list(rules.KINDS)})
    assert not EmailOptOut.objects.filter(user=world.staff_a).exists()


def test_a_refused_language_changes_nothing_and_says_why(world: Any, signed_in: Any) -> None:
    response = signed_in(world.staff_a).post(URL, {"language": "fr", "email": []})

    assert response.status_code == 400
    page = Page(response)
    error = page.id("settings-error").text
    assert "Cài đặt thông báo chưa được thay đổi." in error and "“fr”" in error
    assert not any(_boxes(page).values())  # what was chosen is still shown
    assert not EmailOptOut.objects.exists()
    assert not NotificationSettings.objects.exists()


def test_each_user_sees_only_their_own_settings(world: Any, signed_in: Any) -> None:
    EmailOptOut.objects.create(user=world.head_a, kind="submitted")
    assert _boxes(Page(signed_in(world.staff_a).get(URL)))["submitted"] is True
    assert _boxes(Page(signed_in(world.head_a).get(URL)))["submitted"] is False
    assert signed_in(world.outsider).get(URL).status_code == 200
    anonymous = signed_in(world.staff_a).__class__().get(URL)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_the_settings_page_costs_a_fixed_number_of_queries(
    world: Any, signed_in: Any, django_assert_max_num_queries: Any
) -> None:
    client = signed_in(world.staff_a)
    for kind in list(rules.KINDS)[:5]:
        EmailOptOut.objects.create(user=world.staff_a, kind=kind)
    with django_assert_max_num_queries(SETTINGS_PAGE_QUERIES):
        assert client.get(URL).status_code == 200


SETTINGS_PAGE_QUERIES = 7
