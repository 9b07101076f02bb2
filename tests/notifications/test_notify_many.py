"""A batch of texts for many people at once (the sweep's reminders, a batch of transitions):
on PostgreSQL its inbox rows and deliveries are written in one statement, and each person
gets exactly what the two INSERTs of the embedded default (SQLite) give them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.db.models import DecimalField, Model
from django.utils import timezone as django_timezone

from notifications import delivery, rules
from notifications.models import Delivery, Notification
from notifications.services import Message, notify, notify_many, on_event, unread_count
from tests.notifications.helpers import MEMORY_LAYER, as_on_sqlite, start_appraisal
from workflow.models import AuditEntry

# (username, kind, case) of every inbox row the batch below gives, and no other.
HEARD = {
    ("stp.staff", rules.OVERDUE_REMINDER, "A"),
    ("stp.head", rules.OVERDUE_REMINDER, "A"),
    ("stp.staff", rules.EXPLANATION_REMINDER, "A"),
    ("stc.staff", rules.OVERDUE_REMINDER, "B"),
    ("stc.head", rules.OVERDUE_REMINDER, "B"),
    ("secretariat", rules.LATE_SUMMARY, None),
    ("appraiser1", rules.APPRAISAL_REMINDER, None),
}


def batch(w: SimpleNamespace) -> list[Message]:
    """Reminders of two units and the cycle's, each also addressed to someone who may not hear
    it: unit B's staff about case A, the outsider about the late units, an account closed."""
    a, b = w.case_a.pk, w.case_b.pk
    return [
        Message(
            rules.OVERDUE_REMINDER,
            [w.head_a.pk, w.staff_a.pk, w.staff_b.pk],
            "Quá hạn A",
            "Overdue A",
            a,
            f"/cases/{a}/",
        ),
        Message(rules.OVERDUE_REMINDER, [w.staff_b.pk, w.head_b.pk], "Quá hạn B", "Overdue B", b),
        Message(rules.EXPLANATION_REMINDER, [w.staff_a.pk], "Giải trình A", "Explain A", a),
        Message(rules.LATE_SUMMARY, [w.outsider.pk, w.secretariat.pk], "Trễ hạn", "Late"),
        Message(
            rules.APPRAISAL_REMINDER, [w.appraiser.pk, w.appraiser2.pk], "Thẩm định", "Appraise"
        ),
    ]


def written(w: SimpleNamespace, rows: list[Notification]) -> dict[tuple[str, str, str | None], Any]:
    """What each person got: per (username, kind, case), the row's texts, link and read time
    and its deliveries (channel, status, attempts, claimed, when due), as the database holds
    them."""
    cases = {None: None, w.case_a.pk: "A", w.case_b.pk: "B"}
    got = {}
    for row in Notification.objects.filter(pk__in=[r.pk for r in rows]).select_related("recipient"):
        case = cases[row.case_id]
        deliveries = sorted(
            (d.channel, d.status, d.attempts, d.claim is not None, d.next_attempt_at is not None)
            for d in row.deliveries.all()
        )
        got[(row.recipient.username, row.kind, case)] = (
            row.text_vi,
            row.text_en,
            row.link,
            row.read_at,
            deliveries,
        )
    return got


def test_each_person_hears_a_batch_written_in_one_statement_as_two_inserts_told_them(
    world: SimpleNamespace, settings: Any
) -> None:
    settings.CHANNEL_LAYERS = MEMORY_LAYER
    world.appraiser2.is_active = False
    world.appraiser2.save(update_fields=["is_active"])
    assert connection.vendor == "postgresql"
    with transaction.atomic():
        one_statement = notify_many(batch(world))
        token = delivery.batch_for_this_transaction().token
        claims = set(
            Delivery.objects.filter(notification__in=one_statement, channel="push").values_list(
                "claim", flat=True
            )
        )
    with transaction.atomic(), as_on_sqlite():
        two_inserts = notify_many(batch(world))
    by_one, by_two = written(world, one_statement), written(world, two_inserts)
    assert set(by_one) == HEARD
    assert by_one == by_two
    assert claims == {token}  # handed over, pushed from memory after commit by this batch
    for _texts_vi, _en, _link, read_at, deliveries in by_one.values():
        assert read_at is None
        assert deliveries == [
            ("email", "pending", 0, False, True),
            ("push", "delivered", 1, True, False),
        ]


def test_a_person_told_twice_in_a_batch_hears_both_with_the_unread_count_of_their_inbox(
    world: SimpleNamespace, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CHANNEL_LAYERS = MEMORY_LAYER
    settings.NOTIFY_EMAIL_INLINE_MAX = 0  # as in production: the notifier sends e-mail
    Notification.objects.create(recipient=world.staff_a, kind="submitted", text_vi="x", text_en="x")
    pages = get_channel_layer()
    page = async_to_sync(pages.new_channel)()
    async_to_sync(pages.group_add)(delivery.user_group(world.staff_a.pk), page)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify_many(batch(world))
    heard = [async_to_sync(pages.receive)(page)["payload"] for _ in range(2)]
    assert sorted(p["text_en"] for p in heard) == ["Explain A", "Overdue A"]
    assert [p["unread"] for p in heard] == [unread_count(world.staff_a)] * 2 == [3, 3]
    pushed = Delivery.objects.filter(channel="push", notification__recipient=world.staff_a)
    assert set(pushed.values_list("status", flat=True)) == {"delivered"}
    mailed = Delivery.objects.filter(channel="email", notification__recipient=world.staff_a)
    assert set(mailed.values_list("status", flat=True)) == {"pending"}


def test_an_events_texts_in_one_statement_reach_whom_the_embedded_default_tells(
    world: SimpleNamespace, settings: Any
) -> None:
    """A transition's texts about its case (the unit's, each set of appraisers', the
    secretariat's), their audiences read inside one statement on PostgreSQL, reach exactly
    the people, with the same rows, that the embedded default's queries and INSERTs give."""
    settings.CHANNEL_LAYERS = MEMORY_LAYER
    world.appraiser2.is_active = False  # assigned areas 5-9, but may not hear it any more
    world.appraiser2.save(update_fields=["is_active"])
    with transaction.atomic():
        start_appraisal(world)  # submit, then start_appraisal: each writes in one statement
    entries = AuditEntry.objects.filter(case=world.case_a, action__startswith="workflow.case.")
    one_statement = list(Notification.objects.filter(event__in=entries))
    with transaction.atomic(), as_on_sqlite():
        for entry in entries.order_by("pk"):
            on_event(entry)
    one_by_one = list(
        Notification.objects.filter(event__in=entries).exclude(pk__in=[n.pk for n in one_statement])
    )
    by_one, by_two = written(world, one_statement), written(world, one_by_one)
    assert set(by_one) == {
        ("secretariat", "submitted", "A"),
        ("stp.staff", "appraisal_started", "A"),
        ("stp.head", "appraisal_started", "A"),
        ("appraiser1", "appraisal_started", "A"),
    }
    assert by_one == by_two


# Texts the JSON that carries the new rows must escape, and Vietnamese in every form.
ODD_VI = 'Hồ sơ "Phường Bến Nghé" đã nộp\\\n\tXem: ngay — 100% \u2063 📎 Ấp Ông Đồ'
ODD_EN = "Self-assessment \"submitted\"\r\n\\ 'quoted' <b>& more</b>"


def every_column(rows: list[Notification]) -> dict[tuple[str, str, str], Any]:
    """Every column of each inbox row and its deliveries as the database holds them, by
    (recipient, kind, English text): ids, which the two ways draw differently, left out."""
    got = {}
    for row in Notification.objects.filter(pk__in=[r.pk for r in rows]).select_related("recipient"):
        n = {f.attname: getattr(row, f.attname) for f in Notification._meta.concrete_fields}
        del n["id"]
        deliveries = {
            d.channel: {f.attname: getattr(d, f.attname) for f in Delivery._meta.concrete_fields}
            for d in row.deliveries.all()
        }
        for d in deliveries.values():
            del d["id"], d["notification_id"]
            d["claim"] = d["claim"] is not None  # this transaction's batch's, tested above
        got[(row.recipient.username, row.kind, row.text_en)] = (n, deliveries)
    return got


def as_returned(row: Model) -> dict[str, Any]:
    return {f.attname: getattr(row, f.attname) for f in type(row)._meta.concrete_fields}


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 3, 31, 23, 59, 58, 123456, tzinfo=UTC),
        datetime(2026, 3, 31, 7, 0, 0, tzinfo=timezone(timedelta(hours=7))),  # no fraction
    ],
)
def test_the_one_statement_writes_every_column_as_the_two_inserts_do_and_returns_them(
    world: SimpleNamespace, settings: Any, monkeypatch: pytest.MonkeyPatch, now: datetime
) -> None:
    """The new rows travel to PostgreSQL as JSON: every column of every inbox row and
    delivery (texts JSON must escape, NULLs, several texts and audiences, with and without a
    case and an event) is what the embedded default's INSERTs write, and each row returned,
    and each push kept for after commit, holds what the database holds."""
    settings.CHANNEL_LAYERS = MEMORY_LAYER
    monkeypatch.setattr(django_timezone, "now", lambda: now)
    event = AuditEntry.objects.order_by("pk").first()
    assert event is not None
    a = world.case_a

    def tell() -> list[Notification]:
        rows = notify(
            rules.OVERDUE_REMINDER,
            [world.head_a, world.staff_a, world.staff_b],  # B's staff may not hear it
            text_vi=ODD_VI,
            text_en=ODD_EN,
            case=a,
            link=f'/cases/{a.pk}/?q=đánh+giá&x="1"',
            event=event,
        )
        rows += notify_many(
            [
                Message(rules.LATE_SUMMARY, [world.secretariat.pk], "Trễ hạn", "Late"),
                Message(rules.EXPLANATION_REMINDER, [world.staff_a.pk], ODD_VI, "Explain", a.pk),
            ]
        )
        return rows

    with transaction.atomic():
        one_statement = tell()
        pushes = list(delivery.batch_for_this_transaction().pushes)
    with transaction.atomic(), as_on_sqlite():
        two_inserts = tell()
    by_one, by_two = every_column(one_statement), every_column(two_inserts)
    assert len(by_one) == 4
    assert by_one == by_two
    n, deliveries = by_one[("stp.head", rules.OVERDUE_REMINDER, ODD_EN)]
    assert (n["text_vi"], n["case_id"], n["event_id"], n["read_at"]) == (
        ODD_VI,
        a.pk,
        event.pk,
        None,
    )
    assert n["created_at"] == now
    assert (deliveries["push"]["delivered_at"], deliveries["push"]["next_attempt_at"]) == (
        now,
        None,
    )
    assert by_one[("secretariat", rules.LATE_SUMMARY, "Late")][0]["case_id"] is None
    for row in one_statement:
        assert not row._state.adding
        assert as_returned(row) == as_returned(Notification.objects.get(pk=row.pk))
    assert sorted(p.notification_id for p in pushes) == sorted(r.pk for r in one_statement)
    for push in pushes:
        assert not push._state.adding
        assert as_returned(push) == as_returned(Delivery.objects.get(pk=push.pk))
        assert push.notification.pk == push.notification_id


def test_a_field_the_json_rows_cannot_carry_is_refused_not_written_wrongly() -> None:
    """A column added to the inbox rows of a kind the JSON carrying them has no form for
    fails at once, not with values PostgreSQL would read back otherwise."""
    with pytest.raises(TypeError):
        delivery._to_json(DecimalField(max_digits=5, decimal_places=2))
    assert delivery._to_json(Notification._meta.get_field("created_at")) is not None
    assert delivery._to_json(Notification._meta.get_field("recipient")) is None
