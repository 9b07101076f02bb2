"""The secretariat's tools: a cycle's survey import and appraisers' assignments, and the
working-day calendar.

Read models only: the writes are `workflow.survey.import_survey`,
`workflow.cycle_services.create_assignment` / `delete_assignment` and
`deadlines.services.add_calendar_day` / `remove_calendar_day`, which check the permission,
audit and (for assignments) sync the case permissions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q

from cases.models import (
    AppraiserAssignment,
    Criterion,
    Cycle,
    Membership,
    Score,
    SurveyImport,
)
from cases.users import User, display_name
from deadlines.calendar import public_holidays, weekend_workdays
from deadlines.models import CalendarOverride

# A refused file may hold a problem on every one of 100,000 rows: the page lists the first
# ones (in reading order, as the service sorts them) and says how many more there are.
PROBLEMS_SHOWN = 1000
IMPORTS_SHOWN = 20


@dataclass(frozen=True)
class SurveyCriterion:
    code: str
    title: str
    max_points: Any


@dataclass
class SurveyPage:
    """What the survey import page shows besides its form."""

    cycle: Cycle
    criteria: list[SurveyCriterion]
    imports: list[SurveyImport]
    expected: int  # survey scores the cycle needs (cases × survey leaves)
    filled: int  # of which a score is in force

    @property
    def latest(self) -> SurveyImport | None:
        return self.imports[0] if self.imports else None

    @property
    def is_open(self) -> bool:
        return self.cycle.status == Cycle.Status.OPEN


def survey_page(cycle: Cycle) -> SurveyPage:
    """The cycle's survey criteria, how many scores are in force, the latest imports: three
    queries whatever the number of units or imports."""
    criteria: dict[str, SurveyCriterion] = {}
    for code, title, max_points in (
        Score.objects.survey_of(cycle)
        .values_list("criterion__code", "criterion__title", "criterion__max_points")
        .distinct()
        .order_by("criterion__code")
    ):
        criteria.setdefault(code, SurveyCriterion(code, title, max_points))
    counts = Score.objects.survey_of(cycle).aggregate(
        expected=Count("pk"), filled=Count("pk", filter=Q(appraised_score__isnull=False))
    )
    imports = list(
        SurveyImport.objects.filter(cycle=cycle)
        .select_related("imported_by")
        .order_by("-imported_at", "-pk")
        .defer("rows")[:IMPORTS_SHOWN]
    )
    return SurveyPage(
        cycle=cycle,
        criteria=list(criteria.values()),
        imports=imports,
        expected=counts["expected"],
        filled=counts["filled"],
    )


@dataclass(frozen=True)
class ImportSummary:
    """What an accepted import brought: scores, units, criteria, and which import it replaced."""

    record: SurveyImport
    units: int
    criteria: int
    replaced: SurveyImport | None


def import_summary(record: SurveyImport) -> ImportSummary:
    rows = record.rows or []
    replaced = (
        SurveyImport.objects.filter(cycle_id=record.cycle_id)
        .exclude(pk=record.pk)
        .filter(
            Q(imported_at__lt=record.imported_at)
            | Q(imported_at=record.imported_at, pk__lt=record.pk)
        )
        .order_by("-imported_at", "-pk")
        .defer("rows")
        .first()
    )
    return ImportSummary(
        record=record,
        units=len({row[0] for row in rows}),
        criteria=len({row[1] for row in rows}),
        replaced=replaced,
    )


@dataclass
class Refusal:
    """A refused file, as the page lists it: the message and each problem where it is."""

    message: str
    problems: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return self.total - len(self.problems)


def refusal(message: str, problems: list[dict[str, Any]]) -> Refusal:
    return Refusal(
        message=message,
        problems=problems[:PROBLEMS_SHOWN],
        total=len(problems),
    )


# --- appraisers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    code: str
    title: str


@dataclass
class Cell:
    area: Area
    assignment_id: int | None

    @property
    def assigned(self) -> bool:
        return self.assignment_id is not None


@dataclass
class AppraiserRow:
    """One council member: their areas in this cycle and the units they belong to (whose
    cases they never appraise: `cases.permissions.sync_case_permissions`)."""

    user: User
    cells: list[Cell]
    units: list[tuple[str, str]]
    error: list[str] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return f"ap-{self.user.pk}"

    @property
    def name(self) -> str:
        return display_name(self.user)

    @property
    def assigned(self) -> int:
        return sum(1 for cell in self.cells if cell.assigned)


@dataclass
class AssignmentTable:
    cycle: Cycle
    areas: list[Area]
    rows: list[AppraiserRow]
    add_errors: list[str] = field(default_factory=list)
    add_posted: dict[str, str] = field(default_factory=dict)

    @property
    def is_closed(self) -> bool:
        return self.cycle.status == Cycle.Status.PUBLISHED

    @property
    def per_area(self) -> list[tuple[Area, int]]:
        return [
            (area, sum(1 for row in self.rows if row.cells[i].assigned))
            for i, area in enumerate(self.areas)
        ]

    def attach_error(self, user_id: int, errors: list[str]) -> bool:
        """Put a refusal beside its appraiser's row; False when the row is not shown."""
        for row in self.rows:
            if row.user.pk == user_id:
                row.error = errors
                return True
        return False


def _natural(code: str) -> list[Any]:
    return [(0, int(part)) if part.isdigit() else (1, part) for part in code.split(".")]


def assignment_table(cycle: Cycle) -> AssignmentTable:
    """Every council member (whoever appraised in this or an earlier cycle) × the cycle's
    areas, in four queries whatever their number."""
    areas: dict[str, Area] = {}
    for code, title in (
        Criterion.objects.filter(framework__cycle=cycle, parent__isnull=True)
        .order_by("framework__unit_group__code", "position")
        .values_list("code", "title")
    ):
        areas.setdefault(code, Area(code, title))
    ordered = sorted(areas.values(), key=lambda a: _natural(a.code))
    current: dict[tuple[int, str], int] = {
        (user_id, area): pk
        for pk, user_id, area in AppraiserAssignment.objects.filter(cycle=cycle).values_list(
            "pk", "user_id", "area_code"
        )
    }
    users = list(
        get_user_model()
        .objects.filter(Exists(AppraiserAssignment.objects.filter(user=OuterRef("pk"))))
        .order_by("last_name", "first_name", "username")
    )
    units: dict[int, list[tuple[str, str]]] = {}
    for user_id, code, name in (
        Membership.objects.filter(user__in=[u.pk for u in users])
        .order_by("unit__code")
        .values_list("user_id", "unit__code", "unit__name")
        .distinct()
    ):
        units.setdefault(user_id, []).append((code, name))
    rows = [
        AppraiserRow(
            user=user,
            cells=[Cell(area, current.get((user.pk, area.code))) for area in ordered],
            units=units.get(user.pk, []),
        )
        for user in users
    ]
    return AssignmentTable(cycle=cycle, areas=ordered, rows=rows)


# --- the working-day calendar ----------------------------------------------------------------


@dataclass
class CalendarPage:
    """One year of the secretariat's calendar changes, beside the days the law sets."""

    year: int
    overrides: list[CalendarOverride]
    public_holidays: list[date]
    weekend_workdays: list[date]
    add_errors: list[str] = field(default_factory=list)
    add_posted: dict[str, str] = field(default_factory=dict)
    row_errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def years(self) -> tuple[int, int]:
        return self.year - 1, self.year + 1

    @property
    def kinds(self) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in CalendarOverride.Kind.choices]

    def rows(self) -> list[tuple[CalendarOverride, list[str]]]:
        return [(o, self.row_errors.get(o.day.isoformat(), [])) for o in self.overrides]


def calendar_year(raw: str, today: date) -> int:
    """The year asked for in the address, or this year (Vietnam's) when it is not one."""
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else today.year


def calendar_page(year: int) -> CalendarPage:
    """The year's days off and make-up working days: one query (the holidays are computed)."""
    overrides = list(
        CalendarOverride.objects.filter(day__year=year).select_related("created_by").order_by("day")
    )
    return CalendarPage(
        year=year,
        overrides=overrides,
        public_holidays=sorted(public_holidays(year)),
        weekend_workdays=sorted(weekend_workdays(year)),
    )
