"""How late a unit sent its self-assessment, as the penalty "… điểm/ngày làm việc trễ" counts
it: the working days from the deadline it was held to up to the day its head sent it. The
cycle of `dated` is due Tuesday 31/3/2026; each story runs the real transitions and
extension with explicit instants."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import docx

from cases import permissions
from cases.models import Case, Criterion
from deadlines import policy
from deadlines import services as deadline_services
from deadlines.models import CalendarOverride, Extension
from results import documents
from tests.deadlines.helpers import at, fresh
from tests.helpers import fill_self_scores, force_state
from workflow import services


def _penalty(case: Case) -> Criterion:
    return Criterion.objects.get(framework__cycle=case.cycle, code="9.2")


def _locked_at_the_cutoff(w: SimpleNamespace) -> Case:
    fill_self_scores(w.case_a)
    services.run_transition(
        w.case_a.pk, "lock_at_cutoff", actor=permissions.system_user(), now=at(2026, 4, 1, 0, 5)
    )
    return fresh(w.case_a)


def _extend(w: SimpleNamespace, to: date, granted: tuple[int, ...]) -> None:
    deadline_services.grant_extension(
        w.case_a.pk,
        kind=Extension.Kind.SELF_ASSESSMENT,
        due_date=to,
        reason="Sự cố phần mềm chấm điểm",
        actor=w.secretariat,
        now=at(*granted),
    )


def _sent_again(w: SimpleNamespace) -> Case:
    """The head takes the locked case back (Friday 3/4) and sends it on Tuesday 7/4."""
    services.run_transition(w.case_a.pk, "recall", actor=w.head_a, now=at(2026, 4, 3, 9, 0))
    services.run_transition(w.case_a.pk, "submit", actor=w.head_a, now=at(2026, 4, 7, 10, 0))
    return fresh(w.case_a)


def test_unit_sending_under_an_extension_granted_after_the_cutoff_is_late_from_the_cutoff(
    dated: SimpleNamespace,
) -> None:
    _locked_at_the_cutoff(dated)
    _extend(dated, date(2026, 4, 10), granted=(2026, 4, 2, 10, 0))

    case = _sent_again(dated)

    # Wed 1/4, Thu 2/4, Fri 3/4, Mon 6/4, Tue 7/4: five working days after 31/3.
    assert case.state == Case.State.SUBMITTED
    assert policy.working_days_late(case) == 5
    late = policy.late_penalty(case, _penalty(case))
    assert late is not None
    assert (late.days, late.per_day, late.points) == (5, Decimal("0.50"), Decimal("2.50"))


def test_days_off_of_the_calendar_are_not_counted_late(dated: SimpleNamespace) -> None:
    _locked_at_the_cutoff(dated)
    _extend(dated, date(2026, 4, 10), granted=(2026, 4, 2, 10, 0))
    CalendarOverride.objects.create(
        day=date(2026, 4, 6),
        kind=CalendarOverride.Kind.DAY_OFF,
        reason="Nghỉ bù",
        created_by=dated.secretariat,
    )

    case = _sent_again(dated)

    assert policy.working_days_late(case) == 4
    # 30/4 and 1/5 are public holidays, 2/5 and 3/5 a weekend: Monday 4/5 is the first day.
    assert policy.working_days_between(date(2026, 4, 29), date(2026, 5, 4)) == 1


def test_unit_sending_within_an_extension_granted_before_its_deadline_is_not_late(
    dated: SimpleNamespace,
) -> None:
    fill_self_scores(dated.case_a)
    _extend(dated, date(2026, 4, 10), granted=(2026, 3, 30, 10, 0))

    services.run_transition(
        dated.case_a.pk, "submit", actor=dated.head_a, now=at(2026, 4, 7, 10, 0)
    )

    case = fresh(dated.case_a)
    assert policy.held_to(case) == date(2026, 4, 10)
    assert policy.working_days_late(case) == 0
    late = policy.late_penalty(case, _penalty(case))
    assert late is not None and late.points == Decimal("0.00")


def test_case_locked_at_the_cutoff_and_never_sent_has_no_count_to_propose(
    dated: SimpleNamespace,
) -> None:
    case = _locked_at_the_cutoff(dated)

    assert case.is_late and case.submitted_at is not None
    assert policy.working_days_late(case) is None
    assert policy.late_penalty(case, _penalty(case)) is None


def test_the_appraisal_report_lists_a_unit_that_sent_late_under_a_late_extension(
    dated: SimpleNamespace,
) -> None:
    _locked_at_the_cutoff(dated)
    _extend(dated, date(2026, 4, 10), granted=(2026, 4, 2, 10, 0))
    case = _sent_again(dated)
    assert not case.is_late  # sent by its head: no longer marked locked
    force_state(case, Case.State.FINALISED)

    text = "\n".join(
        p.text for p in docx.Document(io.BytesIO(documents.appraisal_report(case.cycle))).paragraphs
    )

    late_line = next(line for line in text.splitlines() if line.startswith("Gửi muộn hoặc bị khóa"))
    assert dated.unit_a.name in late_line
