"""Totals and indexes, derived from score rows in one aggregate query, never stored.

The index of a case:

    index = (a·ks + s·kv + bonus − penalty) / (A·ks + S·kv) × 100,  clamped to 0 … 100

where a and A are the achieved and applicable maximum points of the self-assessed part,
s and S those of the survey part, ks = cycle self weight / framework self maximum and
kv = cycle survey weight / framework survey maximum. With the seeds' 70 + 30 framework and
weights this is simply achieved / applicable max × 100; criteria not applicable leave both
sums; with no survey part the appraised part is rescaled to 100. Bonus and penalty points
are capped by the framework. Area component index = area achieved / area applicable max.

Over-claiming (the honesty signal): over the applicable self-assessed leaves that carry both
a self and an appraised score (survey, bonus and penalty leaves are not self-assessed in
that sense), how many points the self scores exceeded the appraised ones (leaves scored
lower by the unit do not offset others) and on how many leaves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q, Sum

from cases.models import Case, Criterion, Framework, Method, Score

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


@dataclass
class CaseTotals:
    leaves: int = 0
    self_scored: int = 0
    appraised: int = 0
    self_part: Part = field(default_factory=Part)
    survey_part: Part = field(default_factory=Part)
    bonus_self: Decimal = ZERO
    bonus_appraised: Decimal = ZERO
    penalty_self: Decimal = ZERO
    penalty_appraised: Decimal = ZERO
    areas: dict[int, AreaTotals] = field(default_factory=dict)
    self_weight: Decimal = Decimal(70)
    survey_weight: Decimal = Decimal(30)
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

    def as_dict(self) -> dict[str, object]:
        return {
            "self_total": self.self_total,
            "appraised_total": self.appraised_total,
            "survey_total": self.survey_part.appraised_points,
            "applicable_max": self.self_part.applicable_max + self.survey_part.applicable_max,
            "self_index": self.self_index,
            "index": self.index,
            "leaves": self.leaves,
            "self_scored": self.self_scored,
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


def totals_for(cases: Iterable[Case]) -> dict[int, CaseTotals]:
    """Totals of many cases in two queries, whatever their number of criteria."""
    case_list = list(cases)
    if not case_list:
        return {}
    applicable = Q(not_applicable=False)
    compared = applicable & Q(self_score__isnull=False, appraised_score__isnull=False)
    over = applicable & Q(self_score__gt=F("appraised_score"))
    rows = (
        Score.objects.filter(case_id__in=[c.pk for c in case_list])
        .values("case_id", "criterion__area_id", "criterion__method")
        .annotate(
            n=Count("pk"),
            max_all=Sum("criterion__max_points"),
            max_applicable=Sum("criterion__max_points", filter=applicable),
            self_sum=Sum("self_score", filter=applicable),
            appraised_sum=Sum("appraised_score", filter=applicable),
            self_n=Count("pk", filter=Q(self_score__isnull=False) | Q(not_applicable=True)),
            appraised_n=Count(
                "pk", filter=Q(appraised_score__isnull=False) | Q(appraised_round__isnull=False)
            ),
            compared_n=Count("pk", filter=compared),
            over_n=Count("pk", filter=over),
            over_sum=Sum(F("self_score") - F("appraised_score"), filter=over),
        )
        .order_by()
    )
    frameworks = {c.pk: (c.cycle_id, c.unit.group_id) for c in case_list}
    caps = {
        (f.cycle_id, f.unit_group_id): f
        for f in Framework.objects.filter(cycle_id__in={c.cycle_id for c in case_list})
    }
    area_ids = set()
    result: dict[int, CaseTotals] = {}
    for case in case_list:
        result[case.pk] = CaseTotals(
            self_weight=case.cycle.self_weight, survey_weight=case.cycle.survey_weight
        )
    bonus: dict[int, list[Decimal]] = {}
    for row in rows:
        totals = result[row["case_id"]]
        method = row["criterion__method"]
        self_sum = row["self_sum"] or ZERO
        appraised_sum = row["appraised_sum"] or ZERO
        totals.leaves += row["n"]
        if method in (Method.BONUS, Method.PENALTY):
            acc = bonus.setdefault(row["case_id"], [ZERO, ZERO, ZERO, ZERO])
            offset = 0 if method == Method.BONUS else 2
            acc[offset] += self_sum
            acc[offset + 1] += appraised_sum
            totals.leaves -= row["n"]
            continue
        part = totals.survey_part if method == Method.SURVEY else totals.self_part
        part.max_points += row["max_all"] or ZERO
        part.applicable_max += row["max_applicable"] or ZERO
        part.self_points += self_sum
        part.appraised_points += appraised_sum
        if method != Method.SURVEY:
            totals.self_scored += row["self_n"]
            totals.compared += row["compared_n"]
            totals.overclaimed += row["over_n"]
            totals.overclaimed_points += row["over_sum"] or ZERO
        totals.appraised += row["appraised_n"]
        area_id = row["criterion__area_id"]
        area_ids.add(area_id)
        area = totals.areas.setdefault(area_id, AreaTotals(code="", title=""))
        area.max_points += row["max_all"] or ZERO
        area.applicable_max += row["max_applicable"] or ZERO
        area.self_points += self_sum
        area.appraised_points += appraised_sum
    for case_id, (bs, ba, ps, pa) in bonus.items():
        framework = caps.get(frameworks[case_id])
        bonus_cap = framework.bonus_cap if framework else ZERO
        penalty_cap = framework.penalty_cap if framework else ZERO
        totals = result[case_id]
        totals.bonus_self, totals.bonus_appraised = min(bs, bonus_cap), min(ba, bonus_cap)
        totals.penalty_self, totals.penalty_appraised = min(ps, penalty_cap), min(pa, penalty_cap)
    names = {
        a.pk: (a.code, a.title, a.position)
        for a in Criterion.objects.filter(pk__in=area_ids).only("code", "title", "position")
    }
    for totals in result.values():
        for area_id, area in totals.areas.items():
            area.code, area.title, _pos = names.get(area_id, ("", "", 0))
        totals.areas = dict(
            sorted(totals.areas.items(), key=lambda item: names.get(item[0], ("", "", 0))[2])
        )
    return result
