"""E-mail through a real SMTP server on loopback, retries, and claims between workers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import transaction
from django.db.models import Q
from django.test import override_settings
from django.utils import timezone

from notifications import delivery
from notifications import services as notification_services
from notifications.models import Delivery, EmailOptOut, Notification, NotificationSettings
from notifications.services import notify
from tests.notifications.helpers import as_on_sqlite, start_appraisal, submit
from workflow import services as wf


def email_of(notification: Notification) -> Delivery:
    return Delivery.objects.get(notification=notification, channel="email")


def test_the_unit_gets_a_vietnamese_email_through_smtp(
    world: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        start_appraisal(world)
    (message,) = smtp.mailbox.to("stp.head@example.test")
    assert message["Subject"].strip() == "[Chỉ số CCHC] Bắt đầu thẩm định"
    body = message.get_content()
    assert "Sở Tư pháp" in body and "đã được đưa vào thẩm định" in body
    assert f"/cases/{world.case_a.pk}/" in body
    row = Notification.objects.get(recipient=world.head_a, kind="appraisal_started")
    assert message["Message-ID"] == f"<notification-{row.pk}@127.0.0.1>"
    sent = email_of(row)
    assert (sent.status, sent.attempts) == ("delivered", 1)
    assert sent.delivered_at is not None


@override_settings(SITE_URL="http://127.0.0.1:8123")
def test_the_email_links_to_the_case_page_at_the_site_url(
    world: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        start_appraisal(world)
    (message,) = smtp.mailbox.to("stp.head@example.test")
    assert f": http://127.0.0.1:8123/cases/{world.case_a.pk}/\r\n" in message.get_content()


def test_without_site_url_links_name_the_port_the_pages_are_served_on() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.pop("SITE_URL", None)
    env["PORT"] = "8123"
    show = "from django.conf import settings; print(settings.SITE_URL)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", show],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "http://127.0.0.1:8123", result.stderr


def test_a_user_who_prefers_english_gets_english(
    world: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    NotificationSettings.objects.create(user=world.staff_a, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        start_appraisal(world)
    (message,) = smtp.mailbox.to("stp.staff@example.test")
    assert message["Subject"].strip() == "[PAR Index] Appraisal started"
    assert "Appraisal of Sở Tư pháp's" in message.get_content()


def test_a_page_is_pushed_the_text_in_its_users_language_with_their_unread_count(
    world: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """What the push says is read by the statement that writes the rows, which writes them
    handed over too: after the commit, pushing costs no statement at all. (The embedded
    in-memory layer: a page of this process; tests/notifications/test_websocket.py runs
    pushes through Redis too.)"""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.NOTIFY_EMAIL_INLINE_MAX = 0  # as in production: the notifier sends e-mail
    NotificationSettings.objects.create(user=world.staff_a, language="en")
    submit(world)
    for text in ("một", "hai"):  # two notices the staff member has not read yet
        Notification.objects.create(
            recipient=world.staff_a, kind="submitted", text_vi=text, text_en=text
        )
    Notification.objects.create(
        recipient=world.staff_a,
        kind="submitted",
        text_vi="ba",
        text_en="ba",
        read_at=timezone.now(),
    )
    pages = get_channel_layer()
    page = async_to_sync(pages.new_channel)()
    async_to_sync(pages.group_add)(delivery.user_group(world.staff_a.pk), page)

    with django_capture_on_commit_callbacks() as after_commit:
        wf.run_transition(world.case_a.pk, "start_appraisal", actor=world.secretariat)
    with CaptureQueriesContext(connection) as asked:
        for callback in after_commit:
            callback()

    pushed = async_to_sync(pages.receive)(page)["payload"]
    assert pushed["kind"] == "appraisal_started"
    assert pushed["text"].startswith("Appraisal of Sở Tư pháp")
    assert pushed["unread"] == 3
    assert list(asked) == []
    handed = Delivery.objects.filter(channel="push", notification__kind="appraisal_started")
    assert {d.status for d in handed} == {"delivered"}


@pytest.mark.parametrize("written", ["in one statement", "the embedded default's way"])
def test_a_reader_with_a_long_backlog_is_counted_to_a_hundred_and_the_bell_says_99_plus(
    world: Any, settings: Any, django_capture_on_commit_callbacks: Any, written: str
) -> None:
    """A secretariat on deadline day is told of every submission and reads few of them: the
    count its pages and its pushes carry stops at a hundred, so that counting costs the
    transaction that writes a notice to it no more with a backlog of thousands. The exact
    number is the inbox's, on asking for the unread ones."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from django.test import Client

    from tests.helpers import api

    settings.NOTIFY_EMAIL_INLINE_MAX = 0
    Notification.objects.bulk_create(
        Notification(recipient=world.staff_a, kind="submitted", text_vi=f"{i}", text_en=f"{i}")
        for i in range(150)
    )
    pages = get_channel_layer()
    page = async_to_sync(pages.new_channel)()
    async_to_sync(pages.group_add)(delivery.user_group(world.staff_a.pk), page)
    submit(world)
    way = as_on_sqlite() if written == "the embedded default's way" else contextlib.nullcontext()
    with way, django_capture_on_commit_callbacks(execute=True):
        wf.run_transition(world.case_a.pk, "start_appraisal", actor=world.secretariat)
    assert async_to_sync(pages.receive)(page)["payload"]["unread"] == 100

    inbox = api(world.staff_a).get("/api/v1/notifications/?unread=true&limit=1").json()
    assert (inbox["unread"], inbox["count"]) == (100, 151)
    browser = Client()
    browser.force_login(world.staff_a)
    bell = browser.get("/").content.decode()
    assert 'aria-label="99+ chưa đọc">99+</span>' in bell


def test_email_turned_off_for_a_kind_is_not_sent_but_the_inbox_has_it(
    world: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    EmailOptOut.objects.create(user=world.staff_a, kind="appraisal_started")
    with django_capture_on_commit_callbacks(execute=True):
        start_appraisal(world)
    assert smtp.mailbox.to("stp.staff@example.test") == []
    row = Notification.objects.get(recipient=world.staff_a, kind="appraisal_started")
    assert (email_of(row).status, email_of(row).last_error) == (
        "skipped",
        "e-mail turned off by the recipient for this kind",
    )
    assert len(smtp.mailbox.to("stp.head@example.test")) == 1


def test_with_smtp_down_the_transition_succeeds_and_the_worker_sends_after_it_returns(
    world: Any, smtp: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.NOTIFY_RETRY_BASE_SECONDS = 0  # due again at once, so the worker takes it now
    submit(world)
    smtp.stop()
    with django_capture_on_commit_callbacks(execute=True):
        case = wf.run_transition(world.case_a.pk, "start_appraisal", actor=world.secretariat)
    assert case.state == "appraising"
    row = Notification.objects.get(recipient=world.head_a, kind="appraisal_started")
    failed = email_of(row)
    assert (failed.status, failed.attempts, failed.delivered_at) == ("pending", 1, None)
    assert "e-mail server" in failed.last_error

    call_command("deliver_notifications")  # still down: tried again, kept
    assert (email_of(row).status, email_of(row).attempts) == ("pending", 2)

    smtp.start()
    call_command("deliver_notifications")
    sent = email_of(row)
    assert (sent.status, sent.attempts, sent.last_error) == ("delivered", 3, "")
    assert len(smtp.mailbox.to("stp.head@example.test")) == 1


def test_in_production_the_request_sends_no_email_and_the_notifier_sends_it(
    world: Any, smtp: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """NOTIFY_EMAIL_INLINE_MAX=0 (docker-compose): a deadline-day submit never waits for the
    mail server; the push still goes at once."""
    settings.NOTIFY_EMAIL_INLINE_MAX = 0
    with django_capture_on_commit_callbacks(execute=True):
        start_appraisal(world)
    row = Notification.objects.get(recipient=world.head_a, kind="appraisal_started")
    assert smtp.mailbox.to("stp.head@example.test") == []
    assert (email_of(row).status, email_of(row).attempts) == ("pending", 0)
    assert Delivery.objects.get(notification=row, channel="push").status == "delivered"

    call_command("deliver_notifications")
    assert len(smtp.mailbox.to("stp.head@example.test")) == 1
    assert (email_of(row).status, email_of(row).attempts) == ("delivered", 1)


def test_a_mailbox_the_server_refuses_is_recorded_and_not_retried(
    world: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world.staff_a.email = "bounce@example.test"
    world.staff_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        start_appraisal(world)
    refused = email_of(Notification.objects.get(recipient=world.staff_a, kind="appraisal_started"))
    assert refused.status == "failed"
    assert "550" in refused.last_error
    assert refused.next_attempt_at is None


def test_no_email_address_means_nothing_to_send(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    world.staff_a.email = ""
    world.staff_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        start_appraisal(world)
    row = Notification.objects.get(recipient=world.staff_a, kind="appraisal_started")
    assert email_of(row).status == "skipped"


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (30, 3600)]
)
def test_retries_back_off_exponentially_up_to_an_hour(attempts: int, seconds: int) -> None:
    assert delivery.backoff(attempts) == timedelta(seconds=seconds)


def test_a_delivery_whose_sender_died_is_taken_over_when_its_lease_ends(world: Any) -> None:
    with transaction.atomic():
        (row,) = notify(
            "deadlines.reminder.self_assessment",
            [world.head_a],
            text_vi="x",
            text_en="x",
            case=world.case_a,
        )
    now = timezone.now()
    first = delivery.claim(now=now, channels=("email",))
    assert [d.notification_id for d in first] == [row.pk]
    # The first sender vanishes without recording anything.
    assert delivery.claim(now=now + timedelta(minutes=5), channels=("email",)) == []
    second = delivery.claim(now=now + timedelta(minutes=11), channels=("email",))
    assert [(d.pk, d.attempts) for d in second] == [(first[0].pk, 2)]
    assert second[0].claim != first[0].claim


def test_a_sender_whose_push_was_taken_over_records_nothing_on_it(world: Any) -> None:
    """The worker writes an outcome only on rows it still holds (its claim, still sending):
    a push another sender took over when the lease ended is theirs."""
    with transaction.atomic():  # its batch never pushes (no commit in a test): left to retry
        mine, theirs = notify(
            "deadlines.reminder.self_assessment",
            [world.head_a, world.staff_a],
            text_vi="x",
            text_en="x",
            case=world.case_a,
        )
    Delivery.objects.filter(channel="push").update(
        status="pending", next_attempt_at=timezone.now(), delivered_at=None, claim=None
    )
    held = delivery.claim(channels=(delivery.PUSH,))
    assert {d.notification_id for d in held} == {mine.pk, theirs.pk}
    taken = Delivery.objects.get(notification=theirs, channel="push")
    Delivery.objects.filter(pk=taken.pk).update(claim=uuid.uuid4())
    assert delivery.deliver(held) == {"delivered": 2}
    pushed = Delivery.objects.get(notification=mine, channel="push")
    assert (pushed.status, pushed.claim, pushed.last_error) == ("delivered", None, "")
    assert pushed.delivered_at is not None and pushed.next_attempt_at is None
    taken.refresh_from_db()
    assert (taken.status, taken.delivered_at) == ("sending", None)


def tell(world: Any, *people: Any) -> list[Notification]:
    """A reminder to `people`, in a transaction of its own."""
    with transaction.atomic():
        return notify(
            "deadlines.reminder.self_assessment",
            list(people),
            text_vi="Còn 3 ngày.",
            text_en="3 days left.",
            case=world.case_a,
        )


def test_a_push_that_goes_through_costs_no_statement_after_commit(
    world: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_num_queries: Any,
) -> None:
    """The transaction writes its pushes already handed over, at its own time, by its batch:
    once it commits the pages get them and the database hears nothing more (on deadline
    day, one round trip less per transition)."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    settings.NOTIFY_EMAIL_INLINE_MAX = 0  # as in production: the notifier sends e-mail
    pages = get_channel_layer()
    page = async_to_sync(pages.new_channel)()
    async_to_sync(pages.group_add)(delivery.user_group(world.head_a.pk), page)
    now = timezone.now()
    with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks() as hooks:
        (row,) = tell(world, world.head_a)
    (batch,) = hooks
    with django_assert_num_queries(0):
        batch()
    assert async_to_sync(pages.receive)(page)["payload"]["id"] == row.pk
    push = Delivery.objects.get(notification=row, channel="push")
    assert (push.status, push.attempts, push.delivered_at, push.claim) == (
        "delivered",
        1,
        now,
        batch.token,
    )
    assert (push.next_attempt_at, push.confirmed_at, push.last_error) == (None, None, "")


def test_a_failed_push_puts_back_its_own_batchs_rows_and_no_one_elses(
    world: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The channel layer does not answer after a commit: that transaction's pushes go back to
    pending, never handed over, with the reason and the first backoff, as a failed push of
    the worker does. The pushes of another transaction written at the same moment, and one of
    its own the worker has already sent again, stay as they are."""
    settings.NOTIFY_EMAIL_INLINE_MAX = 0
    with django_capture_on_commit_callbacks() as first:
        head, staff = tell(world, world.head_a, world.staff_a)
    with django_capture_on_commit_callbacks() as second:
        (other,) = tell(world, world.secretariat)
    resent = Delivery.objects.get(notification=staff, channel="push")
    Delivery.objects.filter(pk=resent.pk).update(claim=None, attempts=2)  # by the worker
    untouched = {
        d.pk: as_stored(d) for d in Delivery.objects.filter(Q(pk=resent.pk) | Q(notification=other))
    }

    async def unanswered(messages: Any, timeout: float) -> list[str | None]:
        return [f"the channel layer did not answer within {timeout:g} s"] * len(messages)

    monkeypatch.setattr(delivery, "send_all", unanswered)
    failed_at = timezone.now()
    with time_machine.travel(failed_at, tick=False):
        for hook in first:
            hook()
    back = Delivery.objects.get(notification=head, channel="push")
    assert (back.status, back.attempts, back.delivered_at, back.claim) == ("pending", 1, None, None)
    assert back.next_attempt_at == failed_at + delivery.backoff(1)
    timeout = float(settings.NOTIFY_PUSH_TIMEOUT)
    assert back.last_error == f"the channel layer did not answer within {timeout:g} s"
    assert {d.pk: as_stored(d) for d in Delivery.objects.filter(pk__in=untouched)} == untouched
    assert len(second) == 1  # the other transaction's batch, still to push its own


def as_stored(d: Delivery) -> dict[str, Any]:
    return {f.attname: getattr(d, f.attname) for f in Delivery._meta.concrete_fields}


def test_pushes_of_a_process_that_died_after_commit_are_sent_again_after_the_wait(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A process that dies between its commit and its push leaves the rows handed over but
    unconfirmed: the worker sends them again once PUSH_CONFIRM_WAIT has passed, as any push no
    page confirmed, and the page gets it; nothing is lost."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    pages = get_channel_layer()
    page = async_to_sync(pages.new_channel)()
    async_to_sync(pages.group_add)(delivery.user_group(world.head_a.pk), page)
    with django_capture_on_commit_callbacks() as hooks:
        (row,) = tell(world, world.head_a)
    assert len(hooks) == 1  # never run: the process died
    push = Delivery.objects.get(notification=row, channel="push")
    written = push.delivered_at
    assert (push.status, push.attempts, push.confirmed_at) == ("delivered", 1, None)
    assert written is not None

    def worker_round(after: timedelta) -> Delivery:
        with time_machine.travel(written + after, tick=False):
            delivery.deliver_due(channels=(delivery.PUSH,))
        return Delivery.objects.get(pk=push.pk)

    assert worker_round(timedelta(seconds=20)).attempts == 1
    assert not async_to_sync(nothing_or_next)(pages, page)
    again = worker_round(delivery.PUSH_CONFIRM_WAIT + timedelta(seconds=1))
    assert (again.status, again.attempts, again.claim) == ("delivered", 2, None)
    assert again.delivered_at == written + delivery.PUSH_CONFIRM_WAIT + timedelta(seconds=1)
    assert async_to_sync(nothing_or_next)(pages, page)["payload"]["id"] == row.pk


async def nothing_or_next(pages: Any, page: str) -> Any:
    """The next message of a page of the in-memory layer, or None if none comes soon."""
    try:
        return await asyncio.wait_for(pages.receive(page), 0.3)
    except TimeoutError:
        return None


def test_a_sweep_reminders_email_is_titled_with_its_kind_and_says_the_text(
    world: Any, smtp: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify(
            "deadlines.reminder.self_assessment",
            [world.head_a],
            text_vi="Còn 3 ngày làm việc đến hạn tự đánh giá (31/03/2026).",
            text_en="3 working days left before the self-assessment deadline (31/03/2026).",
            case=world.case_a,
        )
    (message,) = smtp.mailbox.to("stp.head@example.test")
    assert message["Subject"].strip() == "[Chỉ số CCHC] Nhắc hạn tự đánh giá"
    body = message.get_content()
    assert "Còn 3 ngày làm việc đến hạn tự đánh giá (31/03/2026)." in body
    assert "Bạn có thể tắt thư cho từng loại thông báo" in body


def test_a_push_no_open_page_confirmed_is_sent_again_a_few_times_then_left(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Right after Redis returns, pages may not have re-subscribed yet: the layer takes the
    push and nobody hears it. The worker sends an unconfirmed push again after 30 s, three
    attempts in all, and never one that a page confirmed or one from long ago."""
    with django_capture_on_commit_callbacks(execute=True):
        submit(world)
    row = Notification.objects.get(recipient=world.secretariat, kind="submitted")
    push = Delivery.objects.get(notification=row, channel="push")
    assert (push.status, push.attempts, push.confirmed_at) == ("delivered", 1, None)
    first = push.delivered_at
    assert first is not None

    def worker_round(after: timedelta) -> Delivery:
        with time_machine.travel(first + after, tick=False):
            delivery.deliver_due(channels=(delivery.PUSH,))
        return Delivery.objects.get(pk=push.pk)

    assert worker_round(timedelta(seconds=20)).attempts == 1  # a page may still confirm
    again = worker_round(timedelta(seconds=31))
    assert (again.status, again.attempts) == ("delivered", 2)
    assert again.delivered_at == first + timedelta(seconds=31)  # the last hand-over
    assert worker_round(timedelta(seconds=45)).attempts == 2  # 30 s after the last one
    assert worker_round(timedelta(seconds=62)).attempts == 3
    assert worker_round(timedelta(seconds=95)).attempts == 3  # three in all

    # A page that confirms stops the repeats; a push from long ago is never replayed.
    with django_capture_on_commit_callbacks(execute=True):
        wf.run_transition(world.case_a.pk, "start_appraisal", actor=world.secretariat)
    heard = Notification.objects.get(recipient=world.head_a, kind="appraisal_started")
    stale = Notification.objects.get(recipient=world.staff_a, kind="appraisal_started")
    assert notification_services.confirm_push(world.head_a, heard.pk)
    Delivery.objects.filter(notification=stale, channel="push").update(
        delivered_at=timezone.now() - timedelta(hours=1)
    )
    with time_machine.travel(timezone.now() + timedelta(seconds=40), tick=False):
        delivery.deliver_due(channels=(delivery.PUSH,))
    assert Delivery.objects.get(notification=heard, channel="push").attempts == 1
    assert Delivery.objects.get(notification=stale, channel="push").attempts == 1


async def test_under_the_server_a_push_goes_through_the_servers_own_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request's thread (sync_to_async under uvicorn) pushes on the server's loop, where
    the in-memory layer of the embedded default holds the pages."""
    loops: list[asyncio.AbstractEventLoop] = []

    async def recorded(messages: Any, timeout: float) -> list[str | None]:
        loops.append(asyncio.get_running_loop())
        return [None] * len(messages)

    monkeypatch.setattr(delivery, "send_all", recorded)
    sent = await sync_to_async(delivery.send_all_now)([("g", {"type": "x"})], 1.0)
    assert sent == [None]
    assert loops == [asyncio.get_running_loop()]


def test_a_push_loop_that_does_not_answer_leaves_the_push_to_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The process's own loop stuck (a layer that blocks it): the caller waits the push
    timeout and a little more, then records a retry; it never waits forever nor raises."""
    monkeypatch.setattr(delivery, "OWN_LOOP_GRACE", 0.2)

    async def stuck(messages: Any, timeout: float) -> list[str | None]:
        await asyncio.sleep(30)
        return [None] * len(messages)

    monkeypatch.setattr(delivery, "send_all", stuck)
    started = time.monotonic()
    sent = delivery.send_all_now([("g", {"type": "x"}), ("h", {"type": "x"})], 0.1)
    assert sent == ["the push loop did not answer within 0.1 s"] * 2
    assert time.monotonic() - started < 5
