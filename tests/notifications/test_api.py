"""The inbox API, the e-mail settings, and the proof of notice on a case."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import time_machine
from django.db import transaction
from django.test import Client
from django.utils import timezone

from notifications import sockets
from notifications.models import Notification, SocketTicket
from notifications.services import notify
from tests.helpers import api
from tests.notifications.helpers import (
    TICKETS,
    age_token,
    signed_in_browser,
    ticket,
    token_for,
    with_token,
)


def tell(
    user: Any, n: int = 1, *, case: Any = None, kind: str = "deadlines.extension_granted"
) -> list[int]:
    ids = []
    with transaction.atomic():
        for i in range(n):
            ids += [
                r.pk
                for r in notify(
                    kind, [user], text_vi=f"Thông báo {i}", text_en=f"Notice {i}", case=case
                )
            ]
    return ids


def test_the_inbox_lists_my_notifications_newest_first_with_the_unread_count(
    world: Any, django_assert_max_num_queries: Any
) -> None:
    mine = tell(world.head_a, 5, case=world.case_a)
    tell(world.head_b, 2, case=world.case_b)
    with django_assert_max_num_queries(6):
        body = api(world.head_a).get("/api/v1/notifications/?limit=3").json()
    assert body["count"] == 5
    assert body["unread"] == 5
    assert [r["id"] for r in body["results"]] == sorted(mine, reverse=True)[:3]
    assert body["next"] is not None
    first = body["results"][0]
    assert first["text"] == "Thông báo 4"  # Vietnamese by default
    assert first["read_at"] is None and first["case"] == world.case_a.pk


def test_the_inbox_speaks_english_when_asked(world: Any) -> None:
    tell(world.head_a, 1, case=world.case_a)
    body = api(world.head_a).get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["results"][0]["text"] == "Notice 0"


def test_marking_one_read_keeps_the_first_time_and_lowers_the_count(world: Any) -> None:
    first, second = tell(world.head_a, 2, case=world.case_a)
    client = api(world.head_a)
    read = client.post(f"/api/v1/notifications/{first}/read/")
    assert read.status_code == 200
    at = read.json()["read_at"]
    assert at is not None
    assert client.post(f"/api/v1/notifications/{first}/read/").json()["read_at"] == at
    body = client.get("/api/v1/notifications/?unread=true").json()
    assert body["unread"] == 1
    assert [r["id"] for r in body["results"]] == [second]


def test_marking_another_users_notification_read_is_not_found(world: Any) -> None:
    (theirs,) = tell(world.head_b, 1, case=world.case_b)
    response = api(world.head_a).post(f"/api/v1/notifications/{theirs}/read/")
    assert response.status_code == 404
    assert response.json()["errors"] == []
    assert Notification.objects.get(pk=theirs).read_at is None
    assert api(world.head_a).post("/api/v1/notifications/999999/read/").status_code == 404


def test_mark_all_read_touches_only_mine(world: Any) -> None:
    tell(world.head_a, 3, case=world.case_a)
    tell(world.head_b, 1, case=world.case_b)
    body = api(world.head_a).post("/api/v1/notifications/read_all/").json()
    assert body == {"marked": 3, "unread": 0}
    assert Notification.objects.filter(recipient=world.head_b, read_at__isnull=True).count() == 1


def test_the_inbox_needs_a_signed_in_user(world: Any) -> None:
    assert api(None).get("/api/v1/notifications/").status_code in (401, 403)


def test_a_user_turns_email_off_for_one_kind_and_chooses_english(world: Any) -> None:
    client = api(world.head_a)
    settings = client.get("/api/v1/notifications/settings/").json()
    assert settings["language"] == "vi"
    assert {"kind": "appraisal_started", "label": "Bắt đầu thẩm định", "enabled": True} in (
        settings["email"]
    )
    changed = client.put(
        "/api/v1/notifications/settings/",
        {"language": "en", "email": {"appraisal_started": False}},
        format="json",
    ).json()
    assert changed["language"] == "en"
    assert {"kind": "appraisal_started", "label": "Appraisal started", "enabled": False} in (
        changed["email"]
    )
    again = client.patch(
        "/api/v1/notifications/settings/", {"email": {"appraisal_started": True}}, format="json"
    ).json()
    assert again["language"] == "en"
    assert {"kind": "appraisal_started", "label": "Appraisal started", "enabled": True} in (
        again["email"]
    )


def test_bad_settings_are_refused_with_the_reasons_and_change_nothing(world: Any) -> None:
    client = api(world.head_a)
    response = client.put(
        "/api/v1/notifications/settings/",
        {"language": "fr", "email": {"no_such_kind": False, "submitted": "maybe"}},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "The notification settings were not changed."
    assert len(body["errors"]) == 3
    assert any("no_such_kind" in e for e in body["errors"])
    assert client.get("/api/v1/notifications/settings/").json()["language"] == "vi"


def test_a_user_sending_odd_shapes_for_the_settings_gets_each_field_named_and_nothing_changes(
    world: Any,
) -> None:
    client = api(world.head_a)
    url = "/api/v1/notifications/settings/"
    for body, field in (
        ({"email": ["submitted"]}, "email"),
        ({"email": "off"}, "email"),
        ({"language": ["en"]}, "language"),
        ({"language": {"code": "en"}, "email": {"submitted": False}}, "language"),
        ({"email": {"submitted": "false"}}, "email"),
    ):
        response = client.put(url, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400, body
        answer = response.json()
        assert answer["detail"] == "The notification settings were not changed.", body
        assert [e.split(":")[0] for e in answer["errors"]] == [field], answer
    settings = client.get(url).json()
    assert settings["language"] == "vi"
    assert all(row["enabled"] for row in settings["email"])


def test_a_whole_body_that_is_not_an_object_is_refused_without_a_change(world: Any) -> None:
    response = api(world.head_a).put(
        "/api/v1/notifications/settings/", ["en"], format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "The notification settings were not changed."
    assert api(world.head_a).get("/api/v1/notifications/settings/").json()["language"] == "vi"


def test_a_unit_head_turns_off_e_mail_for_the_sweeps_reminders(world: Any) -> None:
    kind = "deadlines.reminder.self_assessment"
    tell(world.head_a, 1, case=world.case_a, kind=kind)
    response = api(world.head_a).put(
        "/api/v1/notifications/settings/", {"email": {kind: False}}, format="json"
    )
    assert response.status_code == 200
    assert {"kind": kind, "label": "Nhắc hạn tự đánh giá", "enabled": False} in (
        response.json()["email"]
    )


def test_the_secretariat_sees_who_was_told_what_about_a_case_and_when(
    world: Any, django_capture_on_commit_callbacks: Any, django_assert_max_num_queries: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        (told,) = tell(world.head_a, 1, case=world.case_a)
    api(world.head_a).post(f"/api/v1/notifications/{told}/read/")
    tell(world.head_b, 1, case=world.case_b)
    for reader in (world.secretariat, world.leader, world.auditor):
        with django_assert_max_num_queries(8):
            response = api(reader).get(f"/api/v1/cases/{world.case_a.pk}/notifications/")
        assert response.status_code == 200, reader
        (notice,) = response.json()
        assert notice["recipient"] == "stp.head"
        assert notice["read_at"] is not None
        channels = {d["channel"]: d for d in notice["deliveries"]}
        assert channels["push"]["status"] == "delivered"
        assert channels["push"]["delivered_at"] is not None
        assert channels["email"]["status"] == "delivered"


def test_units_may_not_read_the_proof_of_notice(world: Any) -> None:
    tell(world.head_a, 1, case=world.case_a)
    url = f"/api/v1/cases/{world.case_a.pk}/notifications/"
    assert api(world.head_a).get(url).status_code == 403
    assert api(world.staff_a).get(url).status_code == 403
    assert api(world.head_b).get(url).status_code == 404
    assert api(world.outsider).get(url).status_code == 404


# --- the ticket that opens the live push (its use: test_socket_credentials.py) -------------


def test_a_ticket_is_given_only_to_someone_signed_in(world: Any) -> None:
    response = Client().post(TICKETS)
    assert response.status_code == 401
    assert not SocketTicket.objects.exists()


def test_a_ticket_is_good_for_a_few_seconds(world: Any, settings: Any) -> None:
    settings.WEBSOCKET_TICKET_SECONDS = 30
    response = with_token(token_for(world.head_a)).post(TICKETS)
    assert response.status_code == 201
    stored = SocketTicket.objects.get()
    assert stored.user == world.head_a
    assert 25 < (stored.expires_at - timezone.now()).total_seconds() <= 30
    assert datetime.fromisoformat(response.json()["expires_at"]) == stored.expires_at


def test_an_expired_token_gets_no_ticket(world: Any, settings: Any) -> None:
    key = token_for(world.head_a)
    age_token(key, settings.API_TOKEN_TTL_DAYS + 1)
    response = with_token(key).post(TICKETS)
    assert response.status_code == 401
    assert not SocketTicket.objects.exists()


def test_a_page_needs_its_csrf_token_for_a_ticket(world: Any) -> None:
    """Another site cannot make the user's browser fetch a ticket with its session."""
    response = signed_in_browser(world.head_a).post(TICKETS)
    assert response.status_code == 403
    assert not SocketTicket.objects.exists()


def test_a_user_who_asks_for_too_many_tickets_is_told_to_wait(world: Any, settings: Any) -> None:
    settings.WEBSOCKET_TICKETS_PER_MINUTE = 3
    client = with_token(token_for(world.head_a))
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _n in range(3):
            assert client.post(TICKETS).status_code == 201
            clock.shift(timedelta(seconds=10))
        refused = client.post(TICKETS, HTTP_ACCEPT_LANGUAGE="vi")
        assert refused.status_code == 429
        assert refused["Retry-After"] == "30"  # the first of the three leaves the minute then
        assert refused.json() == {
            "detail": "Quá nhiều yêu cầu mở kênh thông báo trực tiếp: thử lại sau 30 giây.",
            "errors": [],
        }
        assert SocketTicket.objects.count() == 3
        # Someone else is not held back by it.
        assert with_token(token_for(world.head_b)).post(TICKETS).status_code == 201
        clock.shift(timedelta(seconds=31))
        assert client.post(TICKETS).status_code == 201


def test_a_used_ticket_still_counts_towards_the_limit(world: Any, settings: Any) -> None:
    """Opening the socket at once does not give the ticket back: each ask counts."""
    settings.WEBSOCKET_TICKETS_PER_MINUTE = 2
    client = with_token(token_for(world.head_a))
    for _n in range(2):
        assert sockets.redeem_ticket(ticket(client)) is not None
    assert client.post(TICKETS).status_code == 429


def test_a_limit_of_zero_turns_the_limit_off(world: Any, settings: Any) -> None:
    settings.WEBSOCKET_TICKETS_PER_MINUTE = 0
    client = with_token(token_for(world.head_a))
    assert [client.post(TICKETS).status_code for _n in range(3)] == [201, 201, 201]


def test_only_a_digest_of_the_ticket_is_stored(world: Any) -> None:
    fresh = ticket(with_token(token_for(world.head_a)))
    stored = SocketTicket.objects.get()
    assert fresh not in stored.digest and len(stored.digest) == 64


def test_opening_a_socket_and_each_later_check_cost_a_few_queries(
    world: Any, django_assert_max_num_queries: Any
) -> None:
    """Redeeming: the ticket, marking it used, then the credential as the API or a page reads
    it; the periodic check is that last part alone."""
    by_token = ticket(with_token(token_for(world.head_a)))
    by_session = ticket(signed_in_browser(world.staff_a))
    with django_assert_max_num_queries(3):
        token_credential = sockets.redeem_ticket(by_token)
    with django_assert_max_num_queries(4):
        session_credential = sockets.redeem_ticket(by_session)
    assert token_credential is not None and session_credential is not None
    with django_assert_max_num_queries(1):
        assert token_credential.holds()
    with django_assert_max_num_queries(2):
        assert session_credential.holds()
