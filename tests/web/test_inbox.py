"""The bell and the inbox: the unread count on every page, opening a notification."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse

from notifications.models import Notification
from notifications.services import notify
from tests.web.html import Page


def _tell(user: Any, case: Any, vi: str, en: str) -> Notification:
    with transaction.atomic():
        (row,) = notify(
            "deadlines.reminder.self_assessment",
            [user],
            text_vi=vi,
            text_en=en,
            case=case,
            link=f"/cases/{case.pk}/",
        )
    return row


def test_the_bell_counts_unread_notifications_and_the_inbox_lists_them(
    world: Any, signed_in: Any
) -> None:
    _tell(world.staff_a, world.case_a, "Hạn tự đánh giá còn 3 ngày.", "3 days left.")
    _tell(world.staff_a, world.case_a, "Đã gửi kết quả tự đánh giá.", "Submitted.")
    client = signed_in(world.staff_a)
    page = Page(client.get(reverse("web:inbox")))
    assert page.first("span", data_bell_count="").text == "2"
    items = page.id("inbox-list").text
    assert items.index("Đã gửi kết quả tự đánh giá.") < items.index("Hạn tự đánh giá còn 3 ngày.")


def test_opening_a_notification_marks_it_read_and_follows_its_link(
    world: Any, signed_in: Any
) -> None:
    row = _tell(world.staff_a, world.case_a, "Có câu hỏi mới.", "A new question.")
    client = signed_in(world.staff_a)
    # the inbox's link: the browser says the request comes from this site's own page
    response = client.get(
        reverse("web:open-notification", args=[row.pk]), HTTP_SEC_FETCH_SITE="same-origin"
    )
    assert response.status_code == 302 and response["Location"] == f"/cases/{world.case_a.pk}/"
    assert Notification.objects.get(pk=row.pk).read_at is not None
    page = Page(client.get(reverse("web:home")))
    assert page.first("span", data_bell_count="").text == "0"


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site", "none", None])
def test_a_get_from_elsewhere_opens_nothing_until_the_user_presses_open(
    world: Any, signed_in: Any, fetch_site: str | None
) -> None:
    row = _tell(world.staff_a, world.case_a, "Có câu hỏi mới.", "A new question.")
    client = signed_in(world.staff_a)
    url = reverse("web:open-notification", args=[row.pk])
    headers = {"HTTP_SEC_FETCH_SITE": fetch_site} if fetch_site else {}
    page = Page(client.get(url, **headers))
    assert Notification.objects.get(pk=row.pk).read_at is None
    assert page.first_or_none("form", action=url) is not None
    assert "Có câu hỏi mới." in page.text
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == f"/cases/{world.case_a.pk}/"
    assert Notification.objects.get(pk=row.pk).read_at is not None


def test_nobody_opens_another_persons_notification(world: Any, signed_in: Any) -> None:
    row = _tell(world.staff_a, world.case_a, "Riêng tư.", "Private.")
    response = signed_in(world.staff_b).get(reverse("web:open-notification", args=[row.pk]))
    assert response.status_code == 404
    assert Notification.objects.get(pk=row.pk).read_at is None


def test_mark_all_read(world: Any, signed_in: Any) -> None:
    _tell(world.staff_a, world.case_a, "Một.", "One.")
    _tell(world.staff_a, world.case_a, "Hai.", "Two.")
    client = signed_in(world.staff_a)
    client.post(reverse("web:read-all"))
    assert not Notification.objects.filter(recipient=world.staff_a, read_at__isnull=True).exists()
