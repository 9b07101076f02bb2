"""Totals and indexes, derived from score rows in one aggregate query, never stored.

The index of a case:

    index = (a·ks + s·kv + bonus − penalty) / (A·ks + S·kv) × 100,  clamped to 0 … 100

where a and A are the achieved and applicable maximum points of the self-assessed part,
s and S those of the survey part, ks = cycle self weight / framework self maximum and
kv = cycle survey weight / framework survey maximum. With the usual 70 + 30 framework and
weights this is simply achieved / applicable max × 100; criteria not applicable leave both
sums; with no survey part the appraised part is rescaled to 100. Bonus and penalty points
are capped by the framework. Area component index = area achieved / area applicable max.

(docs/domain.md "Points and the index".) Over-claiming (the honesty signal): over the applicable self-assessed leaves that carry both
a self and an appraised score (survey, bonus and penalty leaves are not self-assessed in
that sense), how many points the self scores exceeded the appraised ones (leaves scored
lower by the unit do not offset others) and on how many leaves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connections
from django.db.models import BigIntegerField, Count, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Round

from cases.models import (
    BONUS_PENALTY,
    SCORE_ROW_COLUMNS,
    Case,
    Criterion,
    Cycle,
    Framework,
    Method,
    Score,
    ScoreRow,
)

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _q2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class AreaTotals:
    code: str
    title: str
    max_points: Decimal = ZERO
    applicable_max: Decimal = ZERO
    self_points: Decimal = ZERO
    appraised_points: Decimal = ZERO

    @property
    def points(self) -> Decimal:
        """The appraised points: what the results publish for the area."""
        return self.appraised_points

    @property
    def index(self) -> Decimal | None:
        if not self.applicable_max:
            return None
        return _q2(self.appraised_points / self.applicable_max * HUNDRED)

    @property
    def self_index(self) -> Decimal | None:
        if not self.applicable_max:
            return None
        return _q2(self.self_points / self.applicable_max * HUNDRED)


@dataclass
class Part:
    max_points: Decimal = ZERO
    applicable_max: Decimal = ZERO
    self_points: Decimal = ZERO
    appraised_points: Decimal = ZERO


# A value of `CaseTotals.as_dict()`: a figure, a count, the areas or the parts.
Figure = (
    Decimal
    | int
    | None
    | list[dict[str, str | Decimal | None]]
    | dict[str, dict[str, Decimal | None]]
)


@dataclass
class CaseTotals:
    leaves: int = 0
    self_scored: int = 0
    appraised: int = 0
    self_leaves: int = 0  # the leaves the unit scores (the "x/y" every page counts)
    self_appraised: int = 0  # of those, the ones the council has appraised
    self_part: Part = field(default_factory=Part)
    survey_part: Part = field(default_factory=Part)
    bonus_self: Decimal = ZERO
    bonus_appraised: Decimal = ZERO
    penalty_self: Decimal = ZERO
    penalty_appraised: Decimal = ZERO
    areas: dict[int | None, AreaTotals] = field(default_factory=dict)
    self_weight: Decimal = Decimal(70)
    survey_weight: Decimal = Decimal(30)
    survey_scored: int = 0  # survey leaves with an imported score
    bonus_leaves: int = 0  # bonus and penalty leaves
    compared: int = 0
    overclaimed: int = 0
    overclaimed_points: Decimal = ZERO

    @property
    def overclaimed_share(self) -> Decimal | None:
        """Share (0 … 1) of compared leaves whose self score exceeded the appraised one."""
        if not self.compared:
            return None
        return (Decimal(self.overclaimed) / Decimal(self.compared)).quantize(Decimal("0.0001"))

    def _index(self, self_points: Decimal, bonus: Decimal, penalty: Decimal) -> Decimal | None:
        ks = self.self_weight / self.self_part.max_points if self.self_part.max_points else ZERO
        kv = (
            self.survey_weight / self.survey_part.max_points
            if self.survey_part.max_points
            else ZERO
        )
        if not kv:  # no survey part: the self-assessed part is rescaled to 100
            ks = HUNDRED / self.self_part.max_points if self.self_part.max_points else ZERO
        denominator = self.self_part.applicable_max * ks + self.survey_part.applicable_max * kv
        if not denominator:
            return None
        achieved = self_points * ks + self.survey_part.appraised_points * kv + bonus - penalty
        index = achieved / denominator * HUNDRED
        return _q2(min(HUNDRED, max(ZERO, index)))

    @property
    def total(self) -> Decimal | None:
        """The appraised total on the 100-point scale, not rescaled for criteria not
        applicable: what the groups (A from 90 points …) are read against."""
        return self._total(
            self.self_part.appraised_points, self.bonus_appraised, self.penalty_appraised
        )

    @property
    def self_assessed_total(self) -> Decimal | None:
        """The same total with the unit's own scores (the survey part as imported)."""
        return self._total(self.self_part.self_points, self.bonus_self, self.penalty_self)

    def _total(self, self_points: Decimal, bonus: Decimal, penalty: Decimal) -> Decimal | None:
        ks = self.self_weight / self.self_part.max_points if self.self_part.max_points else ZERO
        kv = (
            self.survey_weight / self.survey_part.max_points
            if self.survey_part.max_points
            else ZERO
        )
        if not kv:
            ks = HUNDRED / self.self_part.max_points if self.self_part.max_points else ZERO
        if not (self.self_part.applicable_max or self.survey_part.applicable_max):
            return None
        achieved = self_points * ks + self.survey_part.appraised_points * kv + bonus - penalty
        return _q2(min(HUNDRED, max(ZERO, achieved)))

    @property
    def survey_points(self) -> Decimal | None:
        """The survey part once imported; None before (not a zero the unit earned)."""
        return self.survey_part.appraised_points if self.survey_scored else None

    def parts(self) -> dict[str, dict[str, Decimal | None]]:
        """Each part with its maximum, so that like is compared with like: the unit's own
        scores and the appraised ones both of the self-assessed maximum (70), the survey of
        its own (30)."""
        return {
            "self_assessed": {
                "points": self.self_part.self_points,
                "of": self.self_part.max_points,
            },
            "appraised": {
                "points": self.self_part.appraised_points,
                "of": self.self_part.max_points,
            },
            "survey": {"points": self.survey_points, "of": self.survey_part.max_points},
        }

    @property
    def index_final(self) -> bool:
        """The appraised index means something only once every leaf the unit scores is
        appraised and the survey imported: before, it would be the figure of a few rows."""
        survey_done = not self.survey_part.max_points or self.survey_scored > 0
        return self.self_appraised >= self.self_leaves and survey_done

    @property
    def index(self) -> Decimal | None:
        """The appraised index (what is ranked and published)."""
        return self._index(
            self.self_part.appraised_points, self.bonus_appraised, self.penalty_appraised
        )

    @property
    def self_index(self) -> Decimal | None:
        """The index the unit's own scores would give (survey part as imported)."""
        return self._index(self.self_part.self_points, self.bonus_self, self.penalty_self)

    @property
    def self_total(self) -> Decimal:
        return self.self_part.self_points + self.bonus_self - self.penalty_self

    @property
    def appraised_total(self) -> Decimal:
        return (
            self.self_part.appraised_points
            + self.survey_part.appraised_points
            + self.bonus_appraised
            - self.penalty_appraised
        )

    def as_dict(self) -> dict[str, Figure]:
        return {
            "parts": self.parts(),
            "total": self.total,
            "self_assessed_total": self.self_assessed_total,
            "self_total": self.self_total,
            "appraised_total": self.appraised_total,
            "survey_total": self.survey_part.appraised_points,
            "applicable_max": self.self_part.applicable_max + self.survey_part.applicable_max,
            "self_index": self.self_index,
            "index": self.index if self.index_final else None,
            "index_final": self.index_final,
            "leaves": self.leaves,
            "self_leaves": self.self_leaves,
            "self_scored": self.self_scored,
            "self_appraised": self.self_appraised,
            "appraised": self.appraised,
            "areas": [
                {
                    "code": a.code,
                    "title": a.title,
                    "max_points": a.max_points,
                    "applicable_max": a.applicable_max,
                    "self_points": a.self_points,
                    "appraised_points": a.appraised_points,
                    "index": a.index,
                }
                for a in self.areas.values()
            ],
        }


# How the aggregation runs (one statement, whatever the number of cases):
#  1. the ORM groups the score rows by (case, area, scoring method) with plain sums and
#     counts (`_leaf_groups`);
#  2. a portable outer statement sorts the groups into parts — 0 self-assessed, 1 survey,
#     2 bonus, 3 penalty — and folds them into one row per case (the parts, bonus,
#     penalty, counts) and one row per (case, area) (`_FOLD`).
# Points travel as whole hundredths (integers): exact on every backend, cheap to read back,
# and turned into the same two-decimal Decimals the columns hold.
SELF, SURVEY, BONUS, PENALTY = 0, 1, 2, 3
CENTS = ("max_all", "max_app", "self_sum", "appr_sum", "over_sum")


def _cents(expression: Any) -> Cast:
    return Cast(Round(expression * Value(100)), BigIntegerField())


def _leaf_groups(scores: QuerySet[Score]) -> QuerySet[Score, Any]:
    applicable = Q(not_applicable=False)
    over = applicable & Q(self_score__gt=F("appraised_score"))
    return (
        scores.values_list("case_id", "criterion__area_id", "criterion__method")
        .annotate(
            n=Count("pk"),
            max_all=_cents(Sum("criterion__max_points")),
            max_app=_cents(Sum("criterion__max_points", filter=applicable)),
            self_sum=_cents(Sum("self_score", filter=applicable)),
            appr_sum=_cents(Sum("appraised_score", filter=applicable)),
            self_n=Count("pk", filter=Q(self_score__isnull=False) | Q(not_applicable=True)),
            appr_n=Count(
                "pk", filter=Q(appraised_score__isnull=False) | Q(appraised_round__isnull=False)
            ),
            compared_n=Count(
                "pk", filter=applicable & Q(self_score__isnull=False, appraised_score__isnull=False)
            ),
            over_n=Count("pk", filter=over),
            over_sum=_cents(Sum(F("self_score") - F("appraised_score"), filter=over)),
        )
        .order_by()
    )


def _sum(expression: str) -> str:
    """A sum of whole numbers that stays a whole number (PostgreSQL widens it to numeric)."""
    return f"CAST(SUM({expression}) AS BIGINT)"


def _when(part: int, column: str) -> str:
    return _sum(f"CASE WHEN part = {part} THEN {column} END")


# Case rows (kind 0): the self-assessed part with its counts, the survey part, bonus and
# penalty. Area rows (kind 1): the scored leaves of one area, padded to the same width.
_CASE_COLUMNS = [
    *(_when(SELF, c) for c in ("n", "max_all", "max_app", "self_sum", "appr_sum")),
    *(_when(SELF, c) for c in ("self_n", "appr_n", "compared_n", "over_n", "over_sum")),
    *(_when(SURVEY, c) for c in ("n", "max_all", "max_app", "self_sum", "appr_sum", "appr_n")),
    _sum(f"CASE WHEN part IN ({BONUS}, {PENALTY}) THEN n END"),
    *(_when(BONUS, c) for c in ("self_sum", "appr_sum")),
    *(_when(PENALTY, c) for c in ("self_sum", "appr_sum")),
]
_AREA_COLUMNS = [_sum(c) for c in CENTS[:4]]
_PART = (
    f"CASE method WHEN '{Method.SURVEY}' THEN {SURVEY} WHEN '{Method.BONUS}' THEN {BONUS} "
    f"WHEN '{Method.PENALTY}' THEN {PENALTY} ELSE {SELF} END"
)
_FOLD = f"""
WITH g (case_id, area_id, method, n, {", ".join(CENTS[:4])}, self_n, appr_n, compared_n,
        over_n, over_sum) AS ({{groups}}),
p AS (SELECT g.*, {_PART} AS part FROM g)
SELECT 0, case_id, NULL, {", ".join(_CASE_COLUMNS)}
FROM p GROUP BY case_id
UNION ALL
SELECT 1, case_id, area_id, {", ".join(_AREA_COLUMNS)},
       {", ".join(["NULL"] * (len(_CASE_COLUMNS) - len(_AREA_COLUMNS)))}
FROM p WHERE part IN ({SELF}, {SURVEY}) GROUP BY case_id, area_id
"""


def _rows(scores: QuerySet[Score]) -> list[tuple[Any, ...]]:
    groups = _leaf_groups(scores)
    sql, params = groups.query.sql_with_params()
    with connections[groups.db].cursor() as cursor:
        cursor.execute(_FOLD.format(groups=sql), params)
        return cursor.fetchall()


class _Points(dict[int | None, Decimal]):
    """Hundredths → the two-decimal Decimal a SUM of the columns gives; nothing or zero is
    ZERO, as it always was here. Memoised: the same few values recur in every case."""

    def __missing__(self, cents: int | None) -> Decimal:
        value = self[cents] = Decimal(cents).scaleb(-2) if cents else ZERO
        return value


def totals_for(cases: Iterable[Case]) -> dict[int, CaseTotals]:
    """Totals of many cases in three queries, whatever their number of criteria."""
    case_list = list(cases)
    if not case_list:
        return {}
    setup = {
        c.pk: (c.cycle.self_weight, c.cycle.survey_weight, (c.cycle_id, c.unit.group_id))
        for c in case_list
    }
    scores = Score.objects.filter(case_id__in=list(setup))
    return _build(setup, scores, {c.cycle_id for c in case_list})


def totals_for_cycle(cycle: Cycle) -> dict[int, CaseTotals]:
    """Totals of every case of a cycle, without loading the cases (results of a whole cycle).

    The same figures as `totals_for(cycle.cases.all())`.
    """
    key = (cycle.self_weight, cycle.survey_weight)
    setup = {
        case_id: (*key, (cycle.pk, group_id))
        for case_id, group_id in Case.objects.filter(cycle=cycle).values_list(
            "pk", "unit__group_id"
        )
    }
    if not setup:
        return {}
    return _build(setup, Score.objects.filter(case__cycle=cycle), {cycle.pk})


def _build(
    setup: dict[int, tuple[Decimal, Decimal, tuple[int, int]]],
    scores: QuerySet[Score],
    cycle_ids: set[int],
) -> dict[int, CaseTotals]:
    """Sum the aggregate rows into each case's parts, areas and counts."""
    caps = {
        (f.cycle_id, f.unit_group_id): (f.bonus_cap, f.penalty_cap)
        for f in Framework.objects.filter(cycle_id__in=cycle_ids)
    }
    result = {
        case_id: CaseTotals(self_weight=self_weight, survey_weight=survey_weight)
        for case_id, (self_weight, survey_weight, _key) in setup.items()
    }
    area_ids = set()
    bonus: dict[int, list[Decimal]] = {}
    points = _Points()
    for kind, case_id, area_id, *v in _rows(scores):
        totals = result[case_id]
        if kind == 1:
            area_ids.add(area_id)
            totals.areas[area_id] = AreaTotals(
                "", "", points[v[0]], points[v[1]], points[v[2]], points[v[3]]
            )
            continue
        if v[0]:  # self-assessed leaves
            part = totals.self_part
            part.max_points += points[v[1]]
            part.applicable_max += points[v[2]]
            part.self_points += points[v[3]]
            part.appraised_points += points[v[4]]
            totals.leaves += v[0]
            totals.self_leaves += v[0]
            totals.self_scored += v[5]
            totals.appraised += v[6]
            totals.self_appraised += v[6]
            totals.compared += v[7]
            totals.overclaimed += v[8]
            totals.overclaimed_points += points[v[9]]
        if v[10]:  # survey leaves
            part = totals.survey_part
            part.max_points += points[v[11]]
            part.applicable_max += points[v[12]]
            part.self_points += points[v[13]]
            part.appraised_points += points[v[14]]
            totals.leaves += v[10]
            totals.appraised += v[15]
            totals.survey_scored += v[15]
        if v[16]:  # bonus and penalty leaves
            totals.bonus_leaves += v[16]
            bonus[case_id] = [points[v[17]], points[v[18]], points[v[19]], points[v[20]]]
    for case_id, (bs, ba, ps, pa) in bonus.items():
        bonus_cap, penalty_cap = caps.get(setup[case_id][2], (ZERO, ZERO))
        totals = result[case_id]
        totals.bonus_self, totals.bonus_appraised = min(bs, bonus_cap), min(ba, bonus_cap)
        totals.penalty_self, totals.penalty_appraised = min(ps, penalty_cap), min(pa, penalty_cap)
    names: dict[int | None, tuple[str, str, int]] = {
        pk: (code, title, position)
        for pk, code, title, position in Criterion.objects.filter(pk__in=area_ids).values_list(
            "pk", "code", "title", "position"
        )
    }
    for totals in result.values():
        for area_id, area in totals.areas.items():
            area.code, area.title, _pos = names.get(area_id, ("", "", 0))
        totals.areas = dict(
            sorted(totals.areas.items(), key=lambda item: names.get(item[0], ("", "", 0))[2])
        )
    return result


# What a criterion brings to the totals besides the points: (framework, bonus/penalty offset
# or None, survey?, area id, maximum, the area's code, title and position or None).
Facts = tuple[Framework, int | None, bool, int | None, Decimal, tuple[str, str, int] | None]
_FACTS = "_totals_facts"


def _facts(criterion: Criterion) -> Facts:
    """Read once per criterion instance, like the case's score rows (`Case.score_rows`): the
    snapshots of a batch share one instance per criterion among their cases, so 57,000 rows
    read a few hundred criteria (bench/sweep.py)."""
    known: Facts | None = criterion.__dict__.get(_FACTS)
    if known is None:
        method, area = criterion.method, criterion.area
        known = criterion.__dict__[_FACTS] = (
            criterion.framework,
            (0 if method == Method.BONUS else 2) if method in BONUS_PENALTY else None,
            method == Method.SURVEY,
            criterion.area_id,
            criterion.max_points,
            (area.code, area.title, area.position) if area is not None else None,
        )
    return known


def totals_from_scores(case: Case, scores: Iterable[Score | ScoreRow]) -> CaseTotals:
    """The same totals from score rows already loaded with their criterion, its area and its
    framework (model rows, or the plain rows of a snapshot): the transition service
    snapshots a case without aggregating again.

    The rows are summed per (area, part) into plain locals first and folded into the parts
    and areas at the end: the sweep snapshots 57,000 rows, and adding each one to two
    objects' attributes was most of a snapshot's time (bench/sweep.py). The Decimals add up
    exactly, so the sums, their digits included, are those of adding row by row; a zero
    score (`or ZERO` as ever) adds nothing to a sum that starts at ZERO, so is not added."""
    totals = CaseTotals(self_weight=case.cycle.self_weight, survey_weight=case.cycle.survey_weight)
    bonus = [ZERO, ZERO, ZERO, ZERO]
    bonus_leaves = 0
    framework = None
    areas: dict[int | None, tuple[str, str, int]] = {}
    # (area, survey?) -> [maximum, applicable maximum, self points, appraised points, leaves,
    # judged, self-scored], in the order the rows first name them.
    groups: dict[tuple[int | None, bool], list[Any]] = {}
    for row in scores:
        if type(row) is not ScoreRow:
            row = ScoreRow(row.criterion, *(getattr(row, c) for c in SCORE_ROW_COLUMNS))
        criterion, _value, self_score, _note, not_applicable = row[:5]
        appraised_score = row[7]
        facts = criterion.__dict__.get(_FACTS) or _facts(criterion)
        framework, offset, survey, area_id, max_points, area_name = facts
        if area_name is not None:
            areas[area_id] = area_name
        if offset is not None:
            bonus_leaves += 1
            if not not_applicable:
                if self_score:
                    bonus[offset] += self_score
                if appraised_score:
                    bonus[offset + 1] += appraised_score
            continue
        sums = groups.get((area_id, survey))
        if sums is None:
            sums = groups[area_id, survey] = [ZERO, ZERO, ZERO, ZERO, 0, 0, 0]
        sums[0] += max_points
        if not not_applicable:
            sums[1] += max_points
            if self_score:
                sums[2] += self_score
            if appraised_score:
                sums[3] += appraised_score
        sums[4] += 1
        if appraised_score is not None or row[9] is not None:
            sums[5] += 1
        if self_score is not None or not_applicable:
            sums[6] += 1
    totals.bonus_leaves = bonus_leaves
    for (area_id, survey), (most, applicable, own, appraised, n, judged, scored) in groups.items():
        part = totals.survey_part if survey else totals.self_part
        area = totals.areas.get(area_id)
        if area is None:
            area = totals.areas[area_id] = AreaTotals("", "")
        for target in (part, area):
            target.max_points += most
            target.applicable_max += applicable
            target.self_points += own
            target.appraised_points += appraised
        totals.leaves += n
        totals.appraised += judged
        if survey:
            totals.survey_scored += judged
        else:
            totals.self_leaves += n
            totals.self_appraised += judged
            totals.self_scored += scored
    bonus_cap = framework.bonus_cap if framework else ZERO
    penalty_cap = framework.penalty_cap if framework else ZERO
    totals.bonus_self, totals.bonus_appraised = min(bonus[0], bonus_cap), min(bonus[1], bonus_cap)
    totals.penalty_self = min(bonus[2], penalty_cap)
    totals.penalty_appraised = min(bonus[3], penalty_cap)
    for area_id, area in totals.areas.items():
        area.code, area.title, _pos = areas.get(area_id, ("", "", 0))
    totals.areas = dict(sorted(totals.areas.items(), key=lambda i: areas.get(i[0], ("", "", 0))[2]))
    return totals
