"""Which deadline applies to a case now. The one place the guards, the API and the sweep ask.

- The self-assessment deadline of a case is the later of the cycle's date and the latest
  extension granted to the case (`effective_self_due` says the same thing as a query
  expression, for the sweep's set-based queries, and `self_due_sql` as SQL, for the query
  that locks a case; the three must change together).
- The answer date of a clarification request is N working days after the day it is sent,
  counted on the calendar with the secretariat's overrides, computed once and stored on
  the questions by the workflow (`Clarification.due_at`, the end of that day); an
  explanation extension moves that stored instant.
- A case sent by its head is late by the working days after the date it was held to
  (`held_to`: the cycle's date, moved only by extensions granted before the date they move
  had passed) up to and including the day it was sent (`working_days_late`). An extension
  granted once the deadline had passed lets the unit send late, it does not make it on
  time. A case locked at the cut-off and never sent has no such count. A penalty counted
  per working day late is proposed from that (`late_penalty`).
- Reminders go out on the latest configured offset whose day has come (`current_offset`),
  so a sweep that ran late sends one reminder, not every one it missed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, DateField, F, Max, OuterRef, Subquery
from django.db.models.expressions import Expression, RawSQL
from django.db.models.functions import Coalesce, Greatest

from cases.compiled import Compiled
from cases.models import Case, Criterion, Cycle, Score
from cases.scoring import counts_working_days_late, points_from_value
from deadlines.calendar import (
    add_working_days,
    end_of_day,
    is_past,
    is_working_day,
    last_day,
    local_date,
    reminder_day,
)
from deadlines.models import CalendarOverride, Extension

MAX_OFFSET_DAYS = 60


# Every page of a case reads it (its deadlines): compiled once (`cases.compiled`).
_SELF_EXTENSION: Compiled[Extension] = Compiled(
    lambda _key, case: Extension.objects.filter(
        case_id=case, kind=Extension.Kind.SELF_ASSESSMENT
    ).order_by("-due_date")[:1]
)


def self_assessment_extension(case: Case) -> Extension | None:
    """The latest self-assessment extension of the case, if it moves the cycle's date."""
    found = _SELF_EXTENSION((), case.pk)
    extension = found[0] if found else None
    if extension is None or extension.due_date <= case.cycle.self_assessment_due:
        return None
    return extension


SELF_DUE = "_self_due"  # the name under which a case query annotates effective_self_due()


def self_assessment_due(case: Case) -> date:
    if SELF_DUE in case.__dict__:  # read with the case (the transition's locking query)
        return case.__dict__[SELF_DUE]
    extension = self_assessment_extension(case)
    return extension.due_date if extension else case.cycle.self_assessment_due


def effective_self_due() -> Expression:
    """`self_assessment_due` as a query expression over Case rows (for the sweep)."""
    latest = Subquery(
        Extension.objects.filter(case_id=OuterRef("pk"), kind=Extension.Kind.SELF_ASSESSMENT)
        .order_by("-due_date")
        .values("due_date")[:1],
        output_field=DateField(),
    )
    cycle_due = F("cycle__self_assessment_due")
    return Greatest(cycle_due, Coalesce(latest, cycle_due), output_field=DateField())


def self_due_sql() -> RawSQL:
    """`effective_self_due` as SQL over the case row, for the query that locks a case (every
    score save and transition): the ORM took longer to build and compile the subquery, the
    join to the cycle and the two functions than the database took to answer. It names the
    case table, so it annotates a query of cases itself, never one nested in another (as
    the audit chain's head and the permission answers read in that query do)."""
    quote = connection.ops.quote_name
    ext, cycle, case = (
        quote(Extension._meta.db_table),
        quote(Cycle._meta.db_table),
        quote(Case._meta.db_table),
    )
    return RawSQL(
        f"SELECT COALESCE((SELECT MAX(e.{quote('due_date')}) FROM {ext} e"
        f" WHERE e.{quote('case_id')} = {case}.{quote('id')} AND e.{quote('kind')} = %s"
        f" AND e.{quote('due_date')} > c.{quote('self_assessment_due')}),"
        f" c.{quote('self_assessment_due')})"
        f" FROM {cycle} c WHERE c.{quote('id')} = {case}.{quote('cycle_id')}",
        (Extension.Kind.SELF_ASSESSMENT.value,),
        output_field=DateField(),
    )


def latest_self_extension(cycle: Cycle) -> date | None:
    """The latest extended self-assessment date in the cycle (a later phase must follow it)."""
    return Extension.objects.filter(
        case__cycle=cycle, kind=Extension.Kind.SELF_ASSESSMENT
    ).aggregate(latest=Max("due_date"))["latest"]


def calendar_overrides(start: date, end: date) -> tuple[frozenset[date], frozenset[date]]:
    """The secretariat's (days off, make-up working days) between two dates."""
    days_off: set[date] = set()
    make_up: set[date] = set()
    for day, kind in CalendarOverride.objects.filter(day__gte=start, day__lte=end).values_list(
        "day", "kind"
    ):
        (make_up if kind == CalendarOverride.Kind.WORKING_DAY else days_off).add(day)
    return frozenset(days_off), frozenset(make_up)


def working_days_after(start: date, n: int) -> date:
    # N working days never span more than ~3N calendar days plus Tết; 4N + 30 is ample.
    days_off, make_up = calendar_overrides(start, start + timedelta(days=4 * n + 30))
    return add_working_days(start, n, days_off, make_up)


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when `end` is not later)."""
    if end <= start:
        return 0
    days_off, make_up = calendar_overrides(start, end)
    return sum(
        1
        for offset in range(1, (end - start).days + 1)
        if is_working_day(start + timedelta(days=offset), days_off, make_up)
    )


def held_to(case: Case) -> date:
    """The self-assessment date a case is held to for lateness: the cycle's date, moved by
    each extension granted while the date it moves had not yet passed (one query). Unlike
    `self_assessment_due`, which says until when the unit may still send, an extension
    granted after the deadline passed moves nothing here."""
    due = case.cycle.self_assessment_due
    for granted_at, new_due in (
        Extension.objects.filter(case_id=case.pk, kind=Extension.Kind.SELF_ASSESSMENT)
        .order_by("granted_at", "pk")
        .values_list("granted_at", "due_date")
    ):
        if new_due > due and granted_at < end_of_day(due):
            due = new_due
    return due


def held_to_dates(cycle: Cycle) -> dict[int, date]:
    """`held_to` of every case of the cycle that has an extension (one query); the others
    are held to the cycle's date."""
    held: dict[int, date] = {}
    for case_id, granted_at, new_due in (
        Extension.objects.filter(case__cycle=cycle, kind=Extension.Kind.SELF_ASSESSMENT)
        .order_by("case_id", "granted_at", "pk")
        .values_list("case_id", "granted_at", "due_date")
    ):
        due = held.get(case_id, cycle.self_assessment_due)
        if new_due > due and granted_at < end_of_day(due):
            due = new_due
        held[case_id] = due
    return held


def was_sent(case: Case) -> bool:
    """The head sent the case (and has not recalled it): a lock at the cut-off is no sending."""
    return case.submitted_at is not None and not case.is_late


def working_days_late(case: Case) -> int | None:
    """The working days after the date the case is held to (`held_to`) up to and including
    the day its head sent it, on the calendar with the secretariat's overrides: 0 when sent
    in time; None when it was never sent (still being scored, or locked at the cut-off)."""
    if not was_sent(case):
        return None
    assert case.submitted_at is not None
    return working_days_between(held_to(case), local_date(case.submitted_at))


@dataclass(frozen=True)
class LatePenalty:
    """The penalty a set counts per working day late, as proposed for one case."""

    days: int
    per_day: Decimal
    points: Decimal


def late_penalty(case: Case, criterion: Criterion) -> LatePenalty | None:
    """The proposal for a penalty counted per working day late: the days late times the
    set's points per day, capped at the criterion's maximum. None for other criteria, and
    for a case never sent (there is no sending to count to: the appraiser decides)."""
    if not counts_working_days_late(criterion):
        return None
    days = working_days_late(case)
    if days is None:
        return None
    cent = Decimal("0.01")
    per_day = Decimal(str((criterion.config or {}).get("points_each", 0))).quantize(cent)
    points = points_from_value(criterion, Decimal(days)).quantize(cent)
    return LatePenalty(days, per_day, points)


def report_overdue(cycle: Cycle, now: datetime) -> bool:
    """The appraisal report is late: its date (`appraisal_due`) passed and the results were
    not yet sent to the leader for approval."""
    return cycle.status == Cycle.Status.OPEN and is_past(cycle.appraisal_due, now)


def survey_missing(cycle_ids: Iterable[int]) -> dict[int, int]:
    """Per cycle, how many cases still lack a survey score (cycles with none left out)."""
    return dict(
        Score.objects.filter(case__cycle_id__in=list(cycle_ids))
        .survey_missing()
        .order_by()
        .values("case__cycle_id")
        .annotate(n=Count("case_id", distinct=True))
        .values_list("case__cycle_id", "n")
    )


def survey_overdue(cycle: Cycle, now: datetime) -> bool:
    """The survey date (`survey_due`) passed and survey scores are still missing (asked of
    the database only once the date passed in an open cycle)."""
    return (
        cycle.survey_due is not None
        and cycle.status == Cycle.Status.OPEN
        and is_past(cycle.survey_due, now)
        and bool(survey_missing([cycle.pk]))
    )


def publication_overdue(cycle: Cycle, now: datetime) -> bool:
    """The publication target passed and the results are not published."""
    return (
        cycle.publication_target is not None
        and cycle.status in (Cycle.Status.OPEN, Cycle.Status.RESULTS_SUBMITTED)
        and is_past(cycle.publication_target, now)
    )


def explanation_due(case: Case, now: datetime) -> date:
    """The answer date of a clarification request made now: N working days from today."""
    return working_days_after(local_date(now), case.cycle.explanation_window_days)


def explanation_extension(case: Case, due: date) -> Extension | None:
    return (
        Extension.objects.filter(case_id=case.pk, kind=Extension.Kind.EXPLANATION, due_date=due)
        .order_by("-granted_at")
        .first()
    )


def clean_offsets(raw: Any) -> list[int]:
    """The cycle's reminder offsets as distinct whole days, largest first (bad items dropped)."""
    values = raw if isinstance(raw, list | tuple) else []
    days = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
    return sorted((d for d in days if 0 <= d <= MAX_OFFSET_DAYS), reverse=True)


def current_offset(due: date, now: datetime, offsets: Iterable[int]) -> int | None:
    """The latest offset (days before `due`) whose reminder moment has come, if any.

    None before the first one and once the deadline passed (overdue is its own occasion).
    """
    if is_past(due, now):
        return None
    days_left = (due - reminder_day(now)).days
    reached = [n for n in offsets if n >= days_left]
    return min(reached) if reached else None


def _left(ends_at: datetime, now: datetime) -> int:
    return max(int((ends_at - now).total_seconds()), 0)


def case_deadlines(
    case: Case, now: datetime, explanation_due_at: datetime | None = None
) -> dict[str, Any]:
    """Every deadline of the case, the time left and whether an extension applies.

    `explanation_due_at` is when the case's sent questions must be answered; the workflow,
    which owns the questions, passes it (`workflow.schedule.case_deadlines`).
    """
    cycle = case.cycle
    extension = self_assessment_extension(case)
    self_due = extension.due_date if extension else cycle.self_assessment_due
    self_ends = end_of_day(self_due)
    appraisal_ends = end_of_day(cycle.appraisal_due)
    data: dict[str, Any] = {
        "self_assessment_due": self_due,
        "self_assessment_ends_at": self_ends,
        "seconds_left": _left(self_ends, now),
        "self_assessment_passed": is_past(self_due, now),
        "self_assessment_extended": extension is not None,
        "self_assessment_cycle_due": cycle.self_assessment_due,
        "self_assessment_extension_reason": extension.reason if extension else "",
        "appraisal_due": cycle.appraisal_due,
        "appraisal_ends_at": appraisal_ends,
        "appraisal_seconds_left": _left(appraisal_ends, now),
        "publication_target": cycle.publication_target,
        "explanation_due": None,
        "explanation_ends_at": None,
        "explanation_seconds_left": None,
        "explanation_extended": False,
    }
    if explanation_due_at is not None:
        due = last_day(explanation_due_at)
        data.update(
            explanation_due=due,
            explanation_ends_at=explanation_due_at,
            explanation_seconds_left=_left(explanation_due_at, now),
            explanation_extended=explanation_extension(case, due) is not None,
        )
    return data
