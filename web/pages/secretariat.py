"""The secretariat's tools for one cycle: the survey import and the appraisers' assignments.

Read models only: the writes are `workflow.survey.import_survey` and
`workflow.cycle_services.create_assignment` / `delete_assignment`, which check the
permission, audit and (for assignments) sync the case permissions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from cases.models import Cycle, Method, Score, SurveyImport

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
        Score.objects.filter(case__cycle=cycle, criterion__method=Method.SURVEY)
        .values_list("criterion__code", "criterion__title", "criterion__max_points")
        .distinct()
        .order_by("criterion__code")
    ):
        criteria.setdefault(code, SurveyCriterion(code, title, max_points))
    counts = Score.objects.filter(case__cycle=cycle, criterion__method=Method.SURVEY).aggregate(
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
