"""A submit on deadline day costs a handful of round trips, keeping every guarantee: the row
lock, the permission, the guards, the snapshot with its hash, the audit entry in the case's
chain, the inbox rows and deliveries, the push after commit."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User

from cases.errors import GuardFailed
from cases.models import Case, Score
from cases.permissions import SECRETARIAT
from notifications.models import Delivery, Notification
from tests.factories import make_user
from tests.helpers import fill_self_scores, force_state, self_scorable
from workflow import audit, services
from workflow.models import AuditEntry

# BEGIN, the case locked with the permission, the deadline and the chain's head; the score
# rows; the current evidence; the UPDATE with the audit INSERT (one statement); the
# recipients with their inbox rows and deliveries; COMMIT.
SUBMIT_ROUND_TRIPS = 7


@pytest.fixture
def ready(world: SimpleNamespace, settings: Any) -> SimpleNamespace:
    settings.NOTIFY_EMAIL_INLINE_MAX = 0  # as in production: e-mail is the notifier's
    fill_self_scores(world.case_a)
    make_user("thu.ky.2", SECRETARIAT)  # two to notify
    return world


def test_a_submit_takes_at_most_seven_round_trips_and_keeps_every_guarantee(
    ready: SimpleNamespace,
    django_assert_max_num_queries: Any,
    django_assert_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    head = User.objects.get(pk=ready.head_a.pk)  # a fresh request's user: nothing cached
    with (
        django_capture_on_commit_callbacks(execute=False) as after_commit,
        django_assert_max_num_queries(SUBMIT_ROUND_TRIPS),
    ):
        services.run_transition(ready.case_a.pk, "submit", actor=head)
    case = Case.objects.get(pk=ready.case_a.pk)
    assert case.state == Case.State.SUBMITTED and case.submitted_at is not None
    entry = AuditEntry.objects.get(case=case, action="workflow.case.submit")
    assert entry.chain == f"case:{case.pk}" and entry.hash == audit.entry_hash(entry)
    previous = AuditEntry.objects.filter(chain=entry.chain, seq=entry.seq - 1).first()
    assert entry.prev_hash == (previous.hash if previous else audit.GENESIS_HASH)
    assert entry.snapshot is not None and entry.snapshot["state"] == "submitted"
    digest = hashlib.sha256(audit.canonical_json(entry.snapshot).encode()).hexdigest()
    assert entry.snapshot_sha256 == digest
    assert len(entry.snapshot["scores"]) == Score.objects.filter(case=case).count()
    inbox = Notification.objects.filter(event=entry, kind="submitted")
    assert {n.recipient.username for n in inbox} == {"secretariat", "thu.ky.2"}
    assert set(
        Delivery.objects.filter(notification__in=inbox).values_list("channel", "status")
    ) == {
        ("push", "delivered"),
        ("email", "pending"),
    }
    # Once committed: the push (and the log line, the retention), without a statement.
    with django_assert_num_queries(0):
        for callback in after_commit:
            callback()
    pushed = Delivery.objects.filter(notification__in=inbox, channel="push")
    assert {d.status for d in pushed} == {"delivered"}


# BEGIN, the case locked; the UPDATE with the audit INSERT; the appraisers of the cycle with
# their areas; the unit's members and the appraisers, their inbox rows and deliveries, every
# text at once; COMMIT.
START_APPRAISAL_ROUND_TRIPS = 6


def test_a_start_of_appraisal_tells_the_unit_and_each_appraiser_in_one_statement(
    ready: SimpleNamespace,
    django_assert_max_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    services.run_transition(ready.case_a.pk, "submit", actor=ready.head_a)
    secretariat = User.objects.get(pk=ready.secretariat.pk)
    with (
        django_capture_on_commit_callbacks(execute=False) as after_commit,
        django_assert_max_num_queries(START_APPRAISAL_ROUND_TRIPS),
    ):
        services.run_transition(ready.case_a.pk, "start_appraisal", actor=secretariat)
    told = Notification.objects.filter(kind="appraisal_started").select_related("recipient")
    texts = {n.recipient.username: n.text_en for n in told}
    assert set(texts) == {"stp.staff", "stp.head", "appraiser1", "appraiser2"}
    assert texts["stp.head"].startswith("Appraisal of")
    assert texts["appraiser1"].endswith("area(s) 1, 2, 3, 4.")
    assert texts["appraiser2"].endswith("area(s) 5, 6, 7, 8, 9.")
    for callback in after_commit:
        callback()
    pushed = Delivery.objects.filter(notification__in=told, channel="push")
    assert [d.status for d in pushed] == ["delivered"] * 4


def test_the_statement_telling_an_event_is_planned_once_not_at_every_event(
    ready: SimpleNamespace,
) -> None:
    """Its text stays the same from one event to the next and its parameters do not change
    the planner's guess of its rows: PostgreSQL keeps one plan for it (a generic plan of
    the prepared statement) instead of planning it again each time (a millisecond)."""
    from django.db import connection, transaction

    from notifications.services import on_event

    services.run_transition(ready.case_a.pk, "submit", actor=ready.head_a)
    entry = AuditEntry.objects.get(case=ready.case_a, action="workflow.case.submit")
    for _ in range(12):  # prepared after 5 runs; planned for its values 5 times more at most
        with transaction.atomic():
            on_event(entry)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            ["%WITH wanted(id, i, may)%"],
        )
        plans = cursor.fetchall()
    assert plans and all(generic >= 1 for generic, _custom in plans), plans


def test_a_refused_submit_writes_no_entry_no_inbox_row(
    ready: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    self_scorable(ready.case_a).filter(criterion__evidence_required=True).update(
        evidence_explanation=""
    )
    entries, rows = AuditEntry.objects.count(), Notification.objects.count()
    with django_assert_max_num_queries(SUBMIT_ROUND_TRIPS), pytest.raises(GuardFailed) as refused:
        services.run_transition(ready.case_a.pk, "submit", actor=ready.head_a)
    assert "yêu cầu tài liệu kiểm chứng" in " ".join(map(str, refused.value.errors))
    assert Case.objects.get(pk=ready.case_a.pk).state == Case.State.SELF_SCORING
    assert (AuditEntry.objects.count(), Notification.objects.count()) == (entries, rows)


def test_a_notification_leaves_out_who_may_not_hear_it(ready: SimpleNamespace) -> None:
    """The recipients' query and the permission filter are one statement: a secretariat
    member whose account was closed gets no row."""
    User.objects.filter(username="thu.ky.2").update(is_active=False)
    services.run_transition(ready.case_a.pk, "submit", actor=ready.head_a)
    rows = Notification.objects.filter(kind="submitted")
    assert {n.recipient.username for n in rows} == {"secretariat"}


def transactions_that_wrote(entries: Any) -> int:
    """How many transactions wrote these audit entries: PostgreSQL's `xmin` of each row, the
    transaction that wrote it, on whichever connection (a pass runs two batches at a time on
    two, `cases.batches`)."""
    from django.db import connection

    ids = list(entries.values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(DISTINCT xmin::text) FROM workflow_auditentry WHERE id = ANY(%s)", [ids]
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_the_sweep_runs_a_batch_of_cases_in_one_transaction_each_audited(
    world: SimpleNamespace,
) -> None:
    for case in (world.case_a, world.case_b):
        force_state(case, Case.State.SUBMITTED)
    system = User.objects.get(username="system")
    ids = [world.case_a.pk, world.case_b.pk]
    outcomes = list(services.run_transitions(ids, "start_appraisal", actor=system))
    assert outcomes == [(pk, None) for pk in sorted(ids)]  # in id order
    entries = AuditEntry.objects.filter(action="workflow.case.start_appraisal")
    assert sorted(entries.values_list("case_id", flat=True)) == sorted(ids)
    assert transactions_that_wrote(entries) == 1
    for case in (world.case_a, world.case_b):
        force_state(case, Case.State.SUBMITTED)
    first = entries.count()
    outcomes = list(services.run_transitions(ids, "start_appraisal", actor=system, batch=1))
    assert outcomes == [(pk, None) for pk in sorted(ids)]
    again = list(entries.order_by("pk")[first:])
    assert len(again) == 2 and {e.case_id for e in again} == set(ids)
    assert transactions_that_wrote(entries.filter(pk__in=[e.pk for e in again])) == 2
