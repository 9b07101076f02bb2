"""Who is looking and the deadlines of a case: what every page's read model shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

from django.db.models import Count, Q, QuerySet

from cases import permissions
from cases.models import (
    NOT_SELF_SCORED,
    AppraiserAssignment,
    Case,
    Membership,
    Score,
)
from cases.users import User
from deadlines import policy
from deadlines.calendar import end_of_day
from web.timing import TimeLeft, time_left
from workflow import schedule

APPRAISAL_STATES = (Case.State.APPRAISING, Case.State.EXPLANATION)


class Viewer:
    """Who is looking: global roles and scoped ones, each asked once per request."""

    def __init__(self, user: User) -> None:
        self.user = user

    @cached_property
    def roles(self) -> set[str]:
        return permissions.roles_of(self.user)

    @property
    def is_leader(self) -> bool:
        return permissions.LEADER in self.roles

    @property
    def sees_cycles(self) -> bool:
        """Secretariat, leader and auditor see whole cycles (the permission, already loaded
        with the user's other global permissions, answers without a query of its own)."""
        return permissions.may_view_provisional_results(self.user)

    @property
    def manages_people(self) -> bool:
        """The secretariat keeps the units and accounts."""
        return permissions.may_manage_people(self.user)

    @property
    def watches_sign_ins(self) -> bool:
        return permissions.may_watch_sign_ins(self.user)

    @cached_property
    def unit_ids(self) -> list[int]:
        if not self.user.is_authenticated:
            return []
        return list(
            Membership.objects.filter(user=self.user).values_list("unit_id", flat=True).distinct()
        )

    @cached_property
    def is_appraiser(self) -> bool:
        return (
            self.user.is_authenticated
            and AppraiserAssignment.objects.filter(user=self.user).exists()
        )


# --- deadlines ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    due: date
    left: TimeLeft

    @property
    def passed(self) -> bool:
        return self.left.passed


def self_deadline(case: Case, now: datetime) -> Deadline:
    due = policy.self_assessment_due(case)
    return Deadline(due, time_left(end_of_day(due), now))


@dataclass
class CaseDeadlines:
    """Every deadline of a case as the page shows it, extensions included."""

    self_assessment: Deadline
    self_extended: bool
    self_cycle_due: date
    self_reason: str
    appraisal_due: date
    explanation: Deadline | None
    explanation_extended: bool


def case_deadlines(case: Case, now: datetime) -> CaseDeadlines:
    figures = schedule.case_deadlines(case, now)
    explanation = None
    if figures["explanation_ends_at"] is not None:
        explanation = Deadline(
            figures["explanation_due"], time_left(figures["explanation_ends_at"], now)
        )
    return CaseDeadlines(
        self_assessment=Deadline(
            figures["self_assessment_due"], time_left(figures["self_assessment_ends_at"], now)
        ),
        self_extended=figures["self_assessment_extended"],
        self_cycle_due=figures["self_assessment_cycle_due"],
        self_reason=figures["self_assessment_extension_reason"],
        appraisal_due=figures["appraisal_due"],
        explanation=explanation,
        explanation_extended=figures["explanation_extended"],
    )


def self_progress(cases: QuerySet[Case] | list[int]) -> dict[int, tuple[int, int, int]]:
    """(self-scorable leaves, self-scored, appraised) per case, in one aggregate query."""
    return {
        case_id: (total, scored, appraised)
        for case_id, total, scored, appraised in Score.objects.filter(case__in=cases)
        .exclude(criterion__method__in=NOT_SELF_SCORED)
        .values("case_id")
        .annotate(
            total=Count("pk"),
            scored=Count("pk", filter=Q(self_score__isnull=False) | Q(not_applicable=True)),
            appraised=Count("pk", filter=Q(appraised_round__isnull=False)),
        )
        .values_list("case_id", "total", "scored", "appraised")
        .order_by()
    }
