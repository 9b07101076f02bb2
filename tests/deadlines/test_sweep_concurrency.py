"""Two sweeps at once on PostgreSQL (real threads, real transactions): every case is locked
once and every reminder is sent once, whichever sweep gets there first; also with batches
small enough that each sweep runs two of its own at a time (`cases.batches`)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection

from cases.batches import alongside_possible
from cases.models import Case, Membership, Unit
from cases.permissions import sync_case_permissions
from deadlines import sweep as sweep_module
from deadlines.sweep import KIND_LATE_SUMMARY, KIND_OVERDUE, KIND_SELF, Report, sweep
from notifications.models import Notification
from tests.deadlines.helpers import SELF_DUE, at, set_cycle
from workflow.audit import verify_chain
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)
EXTRA_UNITS = 30


@pytest.fixture
def crowded(world: SimpleNamespace) -> SimpleNamespace:
    """The dated world plus 30 more units, each with a staff member, a head and a case."""
    set_cycle(world.cycle, year=2026, self_assessment_due=SELF_DUE)
    for i in range(EXTRA_UNITS):
        unit = Unit.objects.create(code=f"U{i:02d}", name=f"Đơn vị {i}", group=world.group)
        for role in ("staff", "head"):
            user = User.objects.create(username=f"u{i:02d}.{role}")
            Membership.objects.create(user=user, unit=unit, role=role)
        Case.objects.create(cycle=world.cycle, unit=unit)
    # Memberships made directly here, so derive their case permissions as the services do.
    sync_case_permissions(Case.objects.filter(cycle=world.cycle))
    world.cases = Case.objects.count()
    return world


def at_once(work: Callable[[], Any], threads: int = 2) -> list[Any]:
    """Run `work` in several threads released together; re-raise the first error."""
    barrier = threading.Barrier(threads)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(work())
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


@pytest.fixture(params=["one batch", "batches alongside"])
def batches(request: pytest.FixtureRequest, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A sweep's 32 cases and 64 reminders in one batch each, or in batches of 7 cases and 8
    reminders, every other one on the sweep's second connection."""
    if request.param == "batches alongside":
        settings.TRANSITION_BATCH = 7
        monkeypatch.setattr(sweep_module, "BATCH", 8)
        assert alongside_possible()
    return str(request.param)


def sent_per_recipient_and_case(kind: str) -> Counter[tuple[int, int | None]]:
    return Counter(Notification.objects.filter(kind=kind).values_list("recipient_id", "case_id"))


def test_two_sweeps_at_the_cutoff_lock_each_case_once_and_tell_each_unit_once(
    crowded: SimpleNamespace, batches: str
) -> None:
    now = at(2026, 4, 1, 0, 0, 5)
    reports: list[Report] = at_once(lambda: sweep(now))

    assert sum(r.locked for r in reports) == crowded.cases
    assert Case.objects.filter(state=Case.State.SUBMITTED, is_late=True).count() == crowded.cases
    locks = AuditEntry.objects.filter(action="workflow.case.lock_at_cutoff")
    assert locks.count() == crowded.cases
    assert set(Counter(locks.values_list("case_id", flat=True)).values()) == {1}
    overdue = sent_per_recipient_and_case(KIND_OVERDUE)
    assert len(overdue) == 2 * crowded.cases and set(overdue.values()) == {1}
    assert Notification.objects.filter(kind=KIND_LATE_SUMMARY).count() == 1
    assert sum(r.sent for r in reports) == Notification.objects.count()
    checked, problem = verify_chain()
    assert problem == "" and checked == AuditEntry.objects.count()


def test_two_sweeps_before_the_deadline_send_each_reminder_once(
    crowded: SimpleNamespace, batches: str
) -> None:
    now = at(2026, 3, 28, 7, 0)
    reports: list[Report] = at_once(lambda: sweep(now), threads=3)

    reminders = sent_per_recipient_and_case(KIND_SELF)
    assert len(reminders) == 2 * crowded.cases and set(reminders.values()) == {1}
    assert sum(r.sent for r in reports) == 2 * crowded.cases
    assert sweep(now).sent == 0


def test_two_claims_of_the_same_reminders_race_and_only_one_notifies(
    crowded: SimpleNamespace,
) -> None:
    """The claim itself, without the read that usually spares the second sweep the work."""
    now = at(2026, 3, 28, 7, 0)
    reminders = sweep_module._self_assessment_reminders(now)
    assert len(reminders) == crowded.cases

    sent = at_once(lambda: sweep_module._claim_and_notify(reminders, now, uuid.uuid4()))

    assert sorted(sent) == [0, 2 * crowded.cases]
    assert set(sent_per_recipient_and_case(KIND_SELF).values()) == {1}
