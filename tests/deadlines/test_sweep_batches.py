"""The sweep at a cutoff where many units fall due at once: the cases are locked in batches,
each batch in a fixed number of statements whatever its size, each case still audited with
its own snapshot, and one notification fan-out per batch."""

from __future__ import annotations

import hashlib
import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import frameworks
from cases.models import Case, Cycle, Membership, Score, Unit
from cases.permissions import sync_case_permissions
from deadlines.models import ReminderLog
from deadlines.sweep import KIND_APPRAISAL, KIND_LATE_SUMMARY, KIND_OVERDUE, KIND_REPORT, sweep
from notifications.models import Delivery, Notification
from tests.deadlines.helpers import APPRAISAL_DUE, SELF_DUE, at, request_explanation, set_cycle
from tests.factories import seat_support_team
from workflow import audit, cycle_services, services
from workflow.models import AuditEntry, Clarification

# The whole first sweep after the cutoff, whether 2 or 12 cases fall due: finding the work,
# the locks (the cases locked in one query, their cycles, their scores and evidence, one
# UPDATE, one audit INSERT), appraisal started where the cycle says so (the same, plus one
# fan-out), the overdue reminders and the late summary (claimed and notified in a few
# statements each).
FIRST_SWEEP_STATEMENTS = 48
# One batch of lock_at_cutoff: BEGIN, the cases locked (with their deadlines and audit
# heads), their cycles (read once, shared), their score rows, the criteria of those rows,
# their current evidence, one UPDATE, one audit INSERT (an entry with its snapshot per
# case), COMMIT.
LOCK_BATCH_STATEMENTS = 9
# One batch of start_appraisal: BEGIN, the cases locked, their cycles, one UPDATE, one
# audit INSERT, the units' members and the cycles' appraisers, who may hear it (two), the
# inbox rows with their deliveries (one statement, which reads the recipients' languages and
# unread counts too), COMMIT; then the push's outcome.
START_BATCH_STATEMENTS = 12
# One batch of expire_explanation: BEGIN, the cases locked, their cycles, their open
# questions (read once for the guard and the expiry), the questions expired, one UPDATE,
# one audit INSERT, COMMIT; no savepoint, query or UPDATE per case.
EXPIRE_BATCH_STATEMENTS = 8
# A sweep three days before the appraisal date of one cycle or of two: finding the work, the
# appraisal reminders (the open cycles, the reminders already sent, the assignments, the
# scores not appraised of every cycle in one query, the appraisers' units and the departments
# they represent), the report reminders, each kind claimed and notified in a few statements.
APPRAISAL_SWEEP_STATEMENTS = 29


def more_units(w: SimpleNamespace, n: int) -> list[Case]:
    """`n` more units of the cycle, each with a staff member, a head and a case scored like
    case A's (memberships made directly: their case permissions derived as services do)."""
    criteria = list(Score.objects.filter(case=w.case_a).values_list("criterion_id", flat=True))
    cases = []
    for i in range(n):
        unit = Unit.objects.create(code=f"X{i:02d}", name=f"Xã {i}", group=w.group)
        for role in ("staff", "head"):
            user = User.objects.create(username=f"x{i:02d}.{role}")
            Membership.objects.create(user=user, unit=unit, role=role)
        cases.append(Case.objects.create(cycle=w.cycle, unit=unit))
    Score.objects.bulk_create(
        [Score(case=case, criterion_id=c, self_score=0) for case in cases for c in criteria]
    )
    sync_case_permissions(Case.objects.filter(cycle=w.cycle))
    return [w.case_a, w.case_b, *cases]


def first_sweep_statements(w: SimpleNamespace, extra: int) -> tuple[int, list[Case]]:
    cases = more_units(w, extra)
    set_cycle(w.cycle, auto_start_appraisal=True)
    with CaptureQueriesContext(connection) as queries:
        report = sweep(at(2026, 4, 1, 9))
    assert (report.locked, report.started, report.failed) == (len(cases), len(cases), 0)
    assert report.notifications[KIND_OVERDUE] == 2 * len(cases)
    assert report.notifications[KIND_LATE_SUMMARY] == 1
    return len(queries), cases


@pytest.mark.parametrize("extra", [0, 10])
def test_the_first_sweep_at_the_cutoff_costs_the_same_for_2_or_12_cases_due(
    dated: SimpleNamespace, extra: int
) -> None:
    statements, cases = first_sweep_statements(dated, extra)
    assert statements <= FIRST_SWEEP_STATEMENTS
    for case in cases:
        lock = AuditEntry.objects.get(case=case, action="workflow.case.lock_at_cutoff")
        assert lock.chain == f"case:{case.pk}" and lock.hash == audit.entry_hash(lock)
        assert lock.snapshot is not None and lock.snapshot["case"] == case.pk
        assert len(lock.snapshot["scores"]) == Score.objects.filter(case=case).count()
        digest = hashlib.sha256(audit.canonical_json(lock.snapshot).encode()).hexdigest()
        assert lock.snapshot_sha256 == digest
        start = AuditEntry.objects.get(case=case, action="workflow.case.start_appraisal")
        assert (start.seq, start.prev_hash) == (lock.seq + 1, lock.hash)
    assert audit.verify().problem == ""
    assert set(Case.objects.filter(cycle=dated.cycle).values_list("state", "is_late")) == {
        ("appraising", True)
    }
    assert sweep(at(2026, 4, 1, 9, 5)).sent == 0  # the second sweep sends nothing


@pytest.mark.parametrize("extra", [0, 10])
def test_a_batch_of_locks_at_the_cutoff_costs_the_same_statements_whatever_its_size(
    dated: SimpleNamespace, extra: int, django_assert_max_num_queries: Any
) -> None:
    cases = more_units(dated, extra)
    system = User.objects.get(username="system")
    with django_assert_max_num_queries(LOCK_BATCH_STATEMENTS):
        outcomes = list(
            services.run_transitions(
                [c.pk for c in cases], "lock_at_cutoff", actor=system, now=at(2026, 4, 1, 9)
            )
        )
    assert outcomes == [(pk, None) for pk in sorted(c.pk for c in cases)]
    locks = AuditEntry.objects.filter(action="workflow.case.lock_at_cutoff")
    assert sorted(locks.values_list("case_id", flat=True)) == sorted(c.pk for c in cases)
    assert all(entry.snapshot is not None for entry in locks)


@pytest.mark.parametrize("extra", [0, 10])
def test_a_batch_of_closed_answer_windows_costs_the_same_statements_whatever_its_size(
    dated: SimpleNamespace, extra: int, django_assert_max_num_queries: Any
) -> None:
    """Each case whose window closed goes back to appraisal with its own questions expired
    and named in its entry; a case whose window is still open is refused and keeps its
    question open, while the rest of the batch goes on."""
    cases = more_units(dated, extra)
    asked = {case.pk: request_explanation(dated, case, at(2026, 2, 12, 10)) for case in cases}
    still_open = cases[1]
    Clarification.objects.filter(case=still_open).update(due_at=at(2026, 3, 2))
    system = User.objects.get(username="system")
    with django_assert_max_num_queries(EXPIRE_BATCH_STATEMENTS):
        outcomes = dict(
            services.run_transitions(
                [c.pk for c in cases], "expire_explanation", actor=system, now=at(2026, 2, 27)
            )
        )
    assert type(outcomes.pop(still_open.pk)).__name__ == "GuardFailed"
    assert set(outcomes.values()) == {None}
    assert Clarification.objects.get(case=still_open).status == Clarification.Status.OPEN
    assert Case.objects.get(pk=still_open.pk).state == Case.State.EXPLANATION
    for case_id in outcomes:
        assert Clarification.objects.get(case_id=case_id).status == Clarification.Status.EXPIRED
        entry = AuditEntry.objects.get(case_id=case_id, action="workflow.case.expire_explanation")
        assert entry.data == {"expired_questions": [asked[case_id].pk]}
        assert Case.objects.get(pk=case_id).state == Case.State.APPRAISING
    assert audit.verify().problem == ""


def another_cycle(w: SimpleNamespace) -> Cycle:
    """A second open cycle of the same units, dates and appraisers (areas 1–4 and 5–9)."""
    cycle = Cycle.objects.create(
        year=2026,
        title="Chỉ số CCHC 2026 – đợt 2",
        authority=w.cycle.authority,
        self_assessment_due=SELF_DUE,
        appraisal_due=APPRAISAL_DUE,
    )
    frameworks.load_builtin("khoi_so", cycle=cycle, unit_group=w.group)
    seat_support_team(cycle, [w.appraiser, w.appraiser2], actor=w.secretariat)
    for user, areas in ((w.appraiser, "1234"), (w.appraiser2, "56789")):
        for area in areas:
            cycle_services.assign_appraiser(cycle, user, area, actor=w.secretariat)
    cycle_services.open_cycle(cycle.pk, actor=w.secretariat)
    return cycle


@pytest.mark.parametrize("cycles", [1, 2])
def test_the_appraisal_reminders_of_1_or_2_cycles_cost_the_same_statements(
    dated: SimpleNamespace, cycles: int
) -> None:
    if cycles == 2:
        another_cycle(dated)
    Case.objects.update(state=Case.State.APPRAISING)
    with CaptureQueriesContext(connection) as queries:
        report = sweep(at(2026, 5, 7, 8))
    assert report.notifications == {KIND_APPRAISAL: 2 * cycles, KIND_REPORT: cycles}
    assert len(queries) <= APPRAISAL_SWEEP_STATEMENTS
    for cycle in Cycle.objects.all():
        told = ReminderLog.objects.filter(kind=KIND_APPRAISAL, cycle=cycle)
        assert sorted(told.values_list("recipient__username", flat=True)) == [
            "appraiser1",
            "appraiser2",
        ]
    # Each cycle's reminder counts the work of that cycle alone: its two cases.
    notes = Notification.objects.filter(kind=KIND_APPRAISAL)
    assert all("(2 cases)" in note.text_en and note.link == "/" for note in notes)
    assert sweep(at(2026, 5, 7, 9)).sent == 0  # the second sweep sends nothing


def test_a_batch_snapshots_a_case_as_one_transition_does(dated: SimpleNamespace) -> None:
    """The batch reads the score rows as plain values, one transition as model rows: the
    snapshot built from either is the same text, so the same hash."""
    Score.objects.filter(case=dated.case_a).update(note="ghi chú", not_applicable_reason="")
    one = Case.objects.select_related("cycle", "unit").get(pk=dated.case_a.pk)
    batch = Case.objects.select_related("cycle", "unit").get(pk=dated.case_a.pk)
    audit.preload_snapshots([batch])
    assert "_score_rows" not in batch.__dict__  # the batch built no model rows
    single = audit.case_snapshot(one).text
    assert audit.case_snapshot(batch).text == single
    assert len(json.loads(single)["scores"]) == Score.objects.filter(case=one).count()


def test_a_batch_of_appraisal_starts_is_one_fan_out_whatever_its_size(
    dated: SimpleNamespace,
    django_assert_max_num_queries: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.NOTIFY_EMAIL_INLINE_MAX = 0  # as in production: e-mail is the notifier's
    cases = more_units(dated, 10)
    Case.objects.filter(cycle=dated.cycle).update(state=Case.State.SUBMITTED)
    system = User.objects.get(username="system")
    ids = [case.pk for case in cases]
    with (
        django_assert_max_num_queries(START_BATCH_STATEMENTS),
        django_capture_on_commit_callbacks(execute=True),
    ):
        outcomes = list(services.run_transitions(ids, "start_appraisal", actor=system))
    assert outcomes == [(pk, None) for pk in sorted(ids)]
    for case in cases:
        entry = AuditEntry.objects.get(case=case, action="workflow.case.start_appraisal")
        heard = set(
            Notification.objects.filter(event=entry).values_list("recipient__username", flat=True)
        )
        members = set(
            Membership.objects.filter(unit=case.unit).values_list("user__username", flat=True)
        )
        assert heard == members | {"appraiser1", "appraiser2"}
    pushed = Delivery.objects.filter(channel="push", notification__kind="appraisal_started")
    assert pushed.count() == 4 * len(cases)
    assert set(pushed.values_list("status", flat=True)) == {"delivered"}


def test_a_case_someone_else_moved_is_skipped_and_the_batch_goes_on(
    dated: SimpleNamespace,
) -> None:
    cases = more_units(dated, 3)
    Case.objects.filter(cycle=dated.cycle).update(state=Case.State.SUBMITTED)
    Case.objects.filter(pk=cases[1].pk).update(state=Case.State.APPRAISING)
    system = User.objects.get(username="system")
    outcomes = dict(
        services.run_transitions([c.pk for c in cases], "start_appraisal", actor=system)
    )
    assert type(outcomes.pop(cases[1].pk)).__name__ == "WrongState"
    assert set(outcomes.values()) == {None}
    moved = AuditEntry.objects.filter(action="workflow.case.start_appraisal")
    assert cases[1].pk not in set(moved.values_list("case_id", flat=True))
    assert moved.count() == len(cases) - 1


def test_the_sweep_pauses_the_garbage_collector_and_leaves_it_as_it_found_it(
    monkeypatch: Any,
) -> None:
    """A sweep that fails half-way still turns the collector back on; a process that keeps it
    off (its own choice) finds it off after a sweep."""
    import gc

    from deadlines import sweep as module

    seen: list[bool] = []

    def failing(now: Any) -> Any:
        seen.append(gc.isenabled())
        raise RuntimeError("the database went away")

    monkeypatch.setattr(module, "_sweep", failing)
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        sweep()
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        with pytest.raises(RuntimeError):
            sweep()
        assert not gc.isenabled()
    finally:
        gc.enable()
