"""The sweep: cutoffs enforced by the system user, reminders sent once per occasion."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.core.management import call_command
from django.db import DatabaseError
from django.urls import get_script_prefix, reverse, set_script_prefix

from cases.models import Case, Score
from deadlines.models import Extension, ReminderLog
from deadlines.sweep import (
    KIND_APPRAISAL,
    KIND_EXPLANATION,
    KIND_LATE_SUMMARY,
    KIND_OVERDUE,
    KIND_REPORT,
    KIND_SELF,
    _case_links,
    sweep,
)
from notifications.models import Notification
from tests.deadlines.helpers import at, fresh, inbox, request_explanation, set_cycle
from tests.factories import make_user
from tests.helpers import appraise_all, fill_self_scores, force_state
from workflow import audit, council, cycle_services, services
from workflow.models import AuditEntry, Clarification

UNIT_A = ["stp.head", "stp.staff"]
UNIT_B = ["stc.head", "stc.staff"]


def recipients(kind: str) -> list[str]:
    return sorted(
        Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True)
    )


def test_nothing_is_sent_before_the_first_reminder_day(dated: SimpleNamespace) -> None:
    report = sweep(at(2026, 3, 20, 9))
    assert report.sent == 0 and report.locked == 0
    assert Notification.objects.count() == 0


def test_units_still_self_scoring_are_reminded_three_days_before_once(
    dated: SimpleNamespace,
) -> None:
    fill_self_scores(dated.case_b)
    services.run_transition(dated.case_b.pk, "submit", actor=dated.head_b, now=at(2026, 3, 27))

    first = sweep(at(2026, 3, 28, 7, 0))
    again = sweep(at(2026, 3, 28, 7, 1))

    assert recipients(KIND_SELF) == UNIT_A
    assert first.notifications == {KIND_SELF: 2}
    assert again.sent == 0
    text = Notification.objects.filter(kind=KIND_SELF).first()
    assert text is not None
    assert "31/03/2026" in text.text_en and "3 days left" in text.text_en
    assert text.case_id == dated.case_a.pk
    assert text.link == f"/cases/{dated.case_a.pk}/"  # the case's page, not the API


def test_a_reminder_links_its_case_page_as_looking_the_page_up_does() -> None:
    """The sweep looks the page up once and puts each id in: the same text for any id, under
    a script prefix as well (an installation served below a path)."""
    prefix = get_script_prefix()
    try:
        for served_at in ("/", "/0/par/"):
            set_script_prefix(served_at)
            link = _case_links()
            for case_id in (1, 10, 100, 987654321):
                assert link(case_id) == reverse("web:case", args=[case_id])
        assert link(10) == "/0/par/cases/10/"
    finally:
        set_script_prefix(prefix)


def test_each_offset_is_its_own_occasion_and_the_day_itself_waits_for_the_morning(
    dated: SimpleNamespace,
) -> None:
    for moment in (
        at(2026, 3, 24, 8),  # T-7
        at(2026, 3, 25, 8),
        at(2026, 3, 28, 8),  # T-3
        at(2026, 3, 30, 8),  # T-1
        at(2026, 3, 31, 6, 30),  # too early for the day's reminder
        at(2026, 3, 31, 7, 0),  # T-0
        at(2026, 3, 31, 23, 59),
    ):
        sweep(moment)
    assert ReminderLog.objects.filter(recipient__username="stp.head").count() == 4
    assert sorted(
        ReminderLog.objects.filter(recipient__username="stp.head").values_list("key", flat=True)
    ) == [
        f"self:{dated.case_a.pk}:2026-03-31:T-0",
        f"self:{dated.case_a.pk}:2026-03-31:T-1",
        f"self:{dated.case_a.pk}:2026-03-31:T-3",
        f"self:{dated.case_a.pk}:2026-03-31:T-7",
    ]


def test_cycle_reminder_offsets_are_honoured(dated: SimpleNamespace) -> None:
    set_cycle(dated.cycle, reminder_offsets=[10, 2])
    assert sweep(at(2026, 3, 20, 8)).sent == 0  # T-11
    assert sweep(at(2026, 3, 21, 8)).notifications == {KIND_SELF: 4}  # T-10, both units
    assert sweep(at(2026, 3, 24, 8)).sent == 0  # T-7 is not configured here
    assert sweep(at(2026, 3, 28, 8)).sent == 0  # nor T-3
    assert sweep(at(2026, 3, 29, 8)).notifications == {KIND_SELF: 4}  # T-2


def test_sweep_locks_cases_left_in_self_scoring_at_the_cutoff_keeping_their_scores(
    dated: SimpleNamespace,
) -> None:
    Score.objects.filter(case=dated.case_a, criterion__code="1.5").update(self_score=1)
    assert sweep(at(2026, 3, 31, 23, 59, 59)).locked == 0

    report = sweep(at(2026, 4, 1, 0, 0, 0))

    assert report.locked == 2
    case = fresh(dated.case_a)
    assert (case.state, case.is_late) == (Case.State.SUBMITTED, True)
    assert Score.objects.get(case=case, criterion__code="1.5").self_score == 1
    entry = AuditEntry.objects.get(case=case, action="workflow.case.lock_at_cutoff")
    assert entry.actor.username == "system"
    assert entry.snapshot_sha256


def test_a_sweep_days_late_sends_the_overdue_reminder_once_not_every_missed_one(
    dated: SimpleNamespace,
) -> None:
    first = sweep(at(2026, 4, 3, 9))
    second = sweep(at(2026, 4, 4, 9))

    assert first.locked == 2
    assert inbox() == sorted(
        [(u, KIND_OVERDUE, dated.case_a.pk) for u in UNIT_A]
        + [(u, KIND_OVERDUE, dated.case_b.pk) for u in UNIT_B]
        + [("secretariat", KIND_LATE_SUMMARY, None)]
    )
    assert (second.locked, second.sent) == (0, 0)
    summary = Notification.objects.get(kind=KIND_LATE_SUMMARY)
    assert "STC, STP" in summary.text_en and "31/03/2026" in summary.text_en
    assert summary.link == f"/cycles/{dated.cycle.pk}/?late=1"  # the overview, late units


def test_a_unit_that_submitted_in_time_is_neither_locked_nor_reminded(
    dated: SimpleNamespace,
) -> None:
    for case, head in ((dated.case_a, dated.head_a), (dated.case_b, dated.head_b)):
        fill_self_scores(case)
        services.run_transition(case.pk, "submit", actor=head, now=at(2026, 3, 30))
    report = sweep(at(2026, 4, 1, 9))
    assert (report.locked, report.started, report.sent) == (0, 0, 0)
    assert fresh(dated.case_a).state == Case.State.SUBMITTED


def test_submitted_cases_start_appraisal_when_appraisal_opens_if_the_cycle_says_so(
    dated: SimpleNamespace,
) -> None:
    fill_self_scores(dated.case_a)
    services.run_transition(dated.case_a.pk, "submit", actor=dated.head_a, now=at(2026, 3, 30))
    assert sweep(at(2026, 4, 1, 9)).started == 0  # the setting is off by default
    set_cycle(dated.cycle, auto_start_appraisal=True)
    assert sweep(at(2026, 3, 31, 12)).started == 0  # appraisal opens after the cutoff

    report = sweep(at(2026, 4, 1, 9))

    assert report.started == 2  # A submitted in time; B locked late by this same sweep
    assert fresh(dated.case_a).state == Case.State.APPRAISING
    assert fresh(dated.case_b).state == Case.State.APPRAISING
    assert recipients(KIND_OVERDUE) == UNIT_B  # late, even though appraisal started at once
    assert sweep(at(2026, 4, 1, 9)).started == 0


def test_an_expired_answer_window_returns_the_case_to_appraisal(dated: SimpleNamespace) -> None:
    question = request_explanation(dated, dated.case_a, at(2026, 2, 12, 10))
    assert sweep(at(2026, 2, 26, 23, 59, 59)).expired == 0

    report = sweep(at(2026, 2, 27, 0, 0, 0))

    assert report.expired == 1
    case = fresh(dated.case_a)
    assert (case.state, case.appraisal_round) == (Case.State.APPRAISING, 2)
    assert Clarification.objects.get(pk=question.pk).status == Clarification.Status.EXPIRED
    assert AuditEntry.objects.get(action="workflow.case.expire_explanation").actor.username == (
        "system"
    )


def test_units_with_open_questions_are_reminded_the_day_before_and_on_the_day(
    dated: SimpleNamespace,
) -> None:
    request_explanation(dated, dated.case_a, at(2026, 2, 12, 10))  # answer by 26/2/2026
    assert sweep(at(2026, 2, 24, 9)).sent == 0
    assert sweep(at(2026, 2, 25, 9)).notifications == {KIND_EXPLANATION: 2}
    assert sweep(at(2026, 2, 25, 18)).sent == 0
    assert sweep(at(2026, 2, 26, 7, 30)).notifications == {KIND_EXPLANATION: 2}
    reminder = Notification.objects.filter(kind=KIND_EXPLANATION).first()
    assert reminder is not None
    assert "1 clarification question" in reminder.text_en and "26/02/2026" in reminder.text_en


def test_an_answered_question_is_not_reminded(dated: SimpleNamespace) -> None:
    question = request_explanation(dated, dated.case_a, at(2026, 2, 12, 10))
    services.answer_clarification(question.pk, "Có.", actor=dated.staff_a, now=at(2026, 2, 20))
    assert sweep(at(2026, 2, 25, 9)).sent == 0


def test_appraisers_with_unappraised_criteria_are_reminded_before_the_appraisal_deadline(
    dated: SimpleNamespace,
) -> None:
    for case in (dated.case_a, dated.case_b):
        fill_self_scores(case)
        force_state(case, Case.State.APPRAISING)
    # appraiser2 finished areas 5–9 everywhere; appraiser1 has areas 1–4 left.
    Score.objects.filter(criterion__area__code__in=["5", "6", "7", "8", "9"]).update(
        appraised_round=1, appraised_score=0
    )

    report = sweep(at(2026, 5, 7, 8))

    # The secretariat hears of the appraisal report's date on the same day (test_cycle_dates).
    assert report.notifications == {KIND_APPRAISAL: 1, KIND_REPORT: 1}
    note = Notification.objects.get(kind=KIND_APPRAISAL)
    assert note.recipient.username == "appraiser1"
    assert "2 cases" in note.text_en and "10/05/2026" in note.text_en
    assert note.link == "/"  # the appraiser's home page lists the cases to appraise
    assert sweep(at(2026, 5, 7, 9)).sent == 0
    appraise_all(dated.case_a, dated.appraiser)
    appraise_all(dated.case_b, dated.appraiser)
    # T-1, but nothing is left to appraise (the secretariat's T-1 on the report still goes).
    assert sweep(at(2026, 5, 9, 8)).notifications == {KIND_REPORT: 1}


def test_extensions_move_enforcement_and_reminders_together(dated: SimpleNamespace) -> None:
    Extension.objects.create(
        case=dated.case_a,
        kind=Extension.Kind.SELF_ASSESSMENT,
        previous_due=dated.cycle.self_assessment_due,
        due_date=at(2026, 4, 7).date(),
        reason="Thay đổi lãnh đạo",
        granted_by=dated.secretariat,
    )
    first = sweep(at(2026, 4, 1, 9))
    assert first.locked == 1  # B only
    assert fresh(dated.case_a).state == Case.State.SELF_SCORING
    # A is now 6 days before its own deadline: the T-7 occasion of 7/4.
    assert recipients(KIND_SELF) == UNIT_A
    reminder = Notification.objects.filter(kind=KIND_SELF).first()
    assert reminder is not None and "07/04/2026" in reminder.text_en
    assert recipients(KIND_OVERDUE) == UNIT_B

    assert sweep(at(2026, 4, 4, 8)).notifications == {KIND_SELF: 2}  # T-3 of 7/4
    assert sweep(at(2026, 4, 7, 23, 59, 59)).locked == 0
    late = sweep(at(2026, 4, 8, 0, 0, 0))
    assert late.locked == 1
    assert late.notifications == {KIND_OVERDUE: 2, KIND_LATE_SUMMARY: 1}
    cutoff, extended = Notification.objects.filter(kind=KIND_LATE_SUMMARY).order_by("pk")
    assert "STC" in cutoff.text_en and "STP" not in cutoff.text_en
    assert "STP" in extended.text_en and "07/04/2026" in extended.text_en


def test_the_unit_head_submits_within_the_extension(dated: SimpleNamespace) -> None:
    Extension.objects.create(
        case=dated.case_a,
        kind=Extension.Kind.SELF_ASSESSMENT,
        previous_due=dated.cycle.self_assessment_due,
        due_date=at(2026, 4, 7).date(),
        reason="Thay đổi lãnh đạo",
        granted_by=dated.secretariat,
    )
    fill_self_scores(dated.case_a)
    case = services.run_transition(
        dated.case_a.pk, "submit", actor=dated.head_a, now=at(2026, 4, 7, 23, 59, 59)
    )
    assert (case.state, case.is_late) == (Case.State.SUBMITTED, False)


def test_the_management_command_reports_what_it_did(dated: SimpleNamespace, capsys: object) -> None:
    set_cycle(dated.cycle, self_assessment_due=at(2026, 1, 1).date())
    call_command("sweep_deadlines")
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "locked 2" in out
    assert Case.objects.filter(is_late=True).count() == 2


def test_one_case_failing_its_own_checks_does_not_stop_its_batch(
    dated: SimpleNamespace, monkeypatch: Any, caplog: Any
) -> None:
    """The cases due are locked in batches, one transaction each: a case whose snapshot
    cannot be taken is left out (no state, no entry), the rest of its batch commits."""
    real = audit.case_snapshot

    def broken_for_a(case: Case) -> Any:
        if case.pk == dated.case_a.pk:
            raise RuntimeError("unreadable score table")
        return real(case)

    monkeypatch.setattr(audit, "case_snapshot", broken_for_a)
    report = sweep(at(2026, 4, 1, 9))

    assert (report.locked, report.failed) == (1, 1)
    assert fresh(dated.case_b).is_late and not fresh(dated.case_a).is_late
    assert fresh(dated.case_a).state == Case.State.SELF_SCORING
    locks = AuditEntry.objects.filter(action="workflow.case.lock_at_cutoff")
    assert list(locks.values_list("case_id", flat=True)) == [dated.case_b.pk]
    assert "lock_at_cutoff of case" in caplog.text
    assert recipients(KIND_OVERDUE) == sorted(UNIT_A + UNIT_B)  # both are late all the same
    monkeypatch.undo()
    assert sweep(at(2026, 4, 1, 9, 1)).locked == 1  # the next pass locks it


def test_a_batch_whose_writes_fail_is_done_again_case_by_case(
    dated: SimpleNamespace, monkeypatch: Any, caplog: Any
) -> None:
    """When a write of the batch fails, the batch rolls back and each case is done again in
    a savepoint of its own: a case failing half-way (its state and audit entry written) is
    undone alone, the others commit."""

    def batch_insert_fails(entries: Any) -> None:
        raise DatabaseError("could not extend file")

    real = services.apply_transition

    def broken_for_a(case_id: int, name: str, **kwargs: Any) -> Case:
        case = real(case_id, name, **kwargs)
        if case_id == dated.case_a.pk:
            raise RuntimeError("disk full")
        return case

    monkeypatch.setattr(audit, "append_locked", batch_insert_fails)
    monkeypatch.setattr(services, "apply_transition", broken_for_a)
    report = sweep(at(2026, 4, 1, 9))

    assert (report.locked, report.failed) == (1, 1)
    assert fresh(dated.case_b).is_late and not fresh(dated.case_a).is_late
    assert fresh(dated.case_a).state == Case.State.SELF_SCORING
    locks = AuditEntry.objects.filter(action="workflow.case.lock_at_cutoff")
    assert list(locks.values_list("case_id", flat=True)) == [dated.case_b.pk]
    assert "done again case by case" in caplog.text and "lock_at_cutoff of case" in caplog.text


def test_a_council_member_is_not_reminded_of_the_case_of_the_department_they_represent(
    dated: SimpleNamespace,
) -> None:
    """They may not appraise it, so its criteria are not counted as their work left."""
    member = make_user("stp.council")
    council.add_member(dated.cycle.pk, member.pk, "member", "STP", actor=dated.secretariat)
    council.assign_area(dated.cycle.pk, "1", "STP", actor=dated.secretariat)
    cycle_services.assign_appraiser(dated.cycle, member, "1", actor=dated.secretariat)
    for case in (dated.case_a, dated.case_b):
        force_state(case, Case.State.APPRAISING)

    sweep(at(2026, 5, 7, 8))

    note = Notification.objects.get(kind=KIND_APPRAISAL, recipient=member)
    assert "1 case" in note.text_en and "2 cases" not in note.text_en
