"""Two delivery workers at once, each with its own database connection: every e-mail is sent
exactly once (claims between workers).

In a module of its own: the workers' threads read committed data (transaction=True), which
would make every test of tests/notifications/test_delivery.py build its own province
(tests/sharing.py).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from notifications import delivery
from notifications.models import Delivery
from notifications.services import notify
from tests.factories import make_user


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_email_exactly_once(world: Any, smtp: Any) -> None:
    people = [make_user(f"stp.staff{i}") for i in range(40)]
    for person in people:
        person.memberships.create(unit=world.unit_a, role="staff")
    from cases.permissions import sync_case_permissions

    sync_case_permissions([world.case_a])
    with transaction.atomic():
        notify(
            "deadlines.reminder.self_assessment",
            people,
            text_vi="Còn 7 ngày.",
            text_en="7 days left.",
            case=world.case_a,
        )
    # The immediate attempt above sent up to NOTIFY_EMAIL_INLINE_MAX; put every e-mail back
    # to pending so that the two workers have all 40 to share.
    smtp.mailbox.messages.clear()
    Delivery.objects.filter(channel="email").update(
        status="pending", next_attempt_at=timezone.now(), delivered_at=None, claim=None
    )
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            while delivery.deliver_due(limit=5, channels=("email",)):
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = sorted(m["Message-ID"] for m in smtp.mailbox.messages)
    assert len(ids) == 40
    assert len(set(ids)) == 40
    assert Delivery.objects.filter(channel="email", status="delivered").count() == 40
