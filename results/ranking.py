"""The results a province announces: per unit group, index, rank, classification, areas.

Rules (what is announced: docs/domain.md "Results"):

- The index of a case is `cases.totals` (appraised part weighted plus survey part, criteria
  not applicable leave the maximum). It is ranked as published: rounded to two decimals.
- Ranks are per unit group, highest index first; equal indexes share a rank and the next
  rank skips (1, 1, 3). Units excluded from ranking by the leader, and units with no
  applicable criterion at all, get no rank and are listed apart with the reason.
- Classification (A/B/C/D or the cycle's own labels) is the band of `Cycle.group_thresholds`
  with the highest `min` reached by the figure the cycle's `group_basis` names: the total
  points of 100 (the default: docs/domain.md "Points and the index" defines the groups on
  "số điểm tổng cộng"), or the index rescaled for criteria not applicable. Excluded units
  are not classified.
- A unit the leader excluded (docs/domain.md "Results": "không đánh giá, xếp hạng") is not
  assessed in public either: once the cycle is published, and in the rows frozen at
  publication, its index, total and area figures are withheld; only the decision and the
  reason show.
- Change of rank is taken against the previous published cycle of the same authority
  (the latest earlier year), from the ranks frozen at its publication
  (`PublishedResult`), positive when the unit moved up.
- Unit lineage: a unit's sources in the previous cycle are the unit itself if it was
  ranked there, plus its predecessors (`UnitLineage`, followed back through several steps
  until a unit ranked in the previous cycle is met). A predecessor still assessed in this
  cycle speaks for itself and is not followed. Only sources ranked in the same unit group
  count. **A merged unit's previous rank is the best (smallest) rank among its sources**:
  it keeps whole ranks, and the change shown is the least flattering one a merger allows —
  a unit cannot claim to have climbed thirty places because one of the communes it
  absorbed was last. A split unit's parts each inherit the old unit's rank.
- Once a cycle is published its previous ranks are read from its own frozen rows, so later
  lineage edits never change what was announced.

Everything here is computed in a constant number of queries, whatever the number of cases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from cases.models import (
    Case,
    Criterion,
    Cycle,
    PublishedResult,
    RankingExclusion,
    UnitGroup,
    UnitLineage,
)
from cases.totals import AreaTotals, CaseTotals, totals_for_cycle


@dataclass
class AreaColumn:
    code: str
    title: str
    max_points: Decimal


# An area's figures in a unit's results: code, title, max_points, applicable_max, points
# (appraised) and index, computed when read.
AreaResult = AreaTotals


@dataclass
class Honesty:
    """How far the unit's self scores exceeded the appraised ones (secretariat and leader)."""

    compared: int
    overclaimed: int
    overclaimed_points: Decimal
    overclaimed_share: Decimal | None
    self_index: Decimal | None
    index_gap: Decimal | None


@dataclass
class UnitResult:
    case_id: int
    unit_id: int
    unit_code: str
    unit_name: str
    state: str
    index: Decimal | None
    points: Decimal | None
    applicable_max: Decimal | None
    bonus: Decimal | None
    penalty: Decimal | None
    areas: list[AreaResult]
    honesty: Honesty
    total: Decimal | None = None  # the appraised total of 100, not rescaled
    appraised_points: Decimal | None = None  # the appraised self-assessed part
    self_max: Decimal | None = None  # the maximum of the self-assessed part
    survey_max: Decimal | None = None  # the maximum of the survey part
    withheld: bool = False  # excluded by decision: no figure is published
    final: bool = True  # every leaf appraised and the survey imported (CaseTotals.index_final)
    follow_up_by: str = ""  # who must clarify the responsibility (private)
    follow_up_due: date | None = None
    rank: int | None = None
    classification: str = ""
    classification_label: str = ""
    excluded: bool = False
    exclusion_reason: str = ""
    previous_rank: int | None = None
    previous_units: list[str] = field(default_factory=list)
    self_points: Decimal | None = Decimal(0)  # the self-assessed part, as the unit scored it
    survey_points: Decimal | None = Decimal(0)  # the survey part

    @property
    def group_name(self) -> str:
        return group_name(self.classification, self.classification_label)

    @property
    def rank_change(self) -> int | None:
        """Places gained since the previous cycle (negative: places lost)."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


@dataclass
class GroupResults:
    code: str
    name: str
    areas: list[AreaColumn]
    ranked: list[UnitResult]
    excluded: list[UnitResult]

    @property
    def rows(self) -> list[UnitResult]:
        return [*self.ranked, *self.excluded]


@dataclass
class CycleResults:
    cycle: Cycle
    previous_cycle: Cycle | None
    groups: list[GroupResults]

    @property
    def basis_label(self) -> str:
        """What the groups are read against, as the results state it."""
        if self.cycle.group_basis == Cycle.GroupBasis.INDEX:
            return _("Groups by the index, rescaled for criteria not applicable.")
        return _("Groups by total points (of 100).")

    def rows(self) -> Iterable[tuple[GroupResults, UnitResult]]:
        for group in self.groups:
            for row in group.rows:
                yield group, row


def group_labels() -> dict[str, str]:
    """The groups' usual names (docs/domain.md), when a cycle's thresholds give none."""
    return {"A": _("good"), "B": _("fairly good"), "C": _("average"), "D": _("weak")}


def classify(index: Decimal | None, thresholds: list[dict[str, Any]]) -> tuple[str, str]:
    """The (code, label) of the band the figure reaches: the highest `min` not above it."""
    if index is None:
        return "", ""
    for band in sorted(thresholds, key=lambda b: Decimal(str(b["min"])), reverse=True):
        if index >= Decimal(str(band["min"])):
            code = str(band["group"])
            return code, str(band.get("label", "") or group_labels().get(code, ""))
    return "", ""


def group_name(code: str, label: str) -> str:
    """ "Nhóm A (tốt)": the group as official tables name it."""
    if not code:
        return ""
    if label:
        return _("Group %(code)s (%(label)s)") % {"code": code, "label": label}
    return _("Group %(code)s") % {"code": code}


def basis_figure(row: UnitResult, cycle: Cycle) -> Decimal | None:
    return row.index if cycle.group_basis == Cycle.GroupBasis.INDEX else row.total


def withhold(row: UnitResult) -> None:
    """An excluded unit is neither assessed nor ranked: no figure of it is published."""
    row.withheld = True
    row.index = row.total = None
    row.points = row.applicable_max = row.bonus = row.penalty = None
    row.self_points = row.survey_points = row.appraised_points = None
    row.areas = []


def assign_ranks(rows: list[UnitResult]) -> list[UnitResult]:
    """Sort by index (highest first, then unit code) and rank with shared ties: 1, 1, 3."""
    ordered = sorted(rows, key=lambda r: (-(r.index or 0), r.unit_code))
    previous_index: Decimal | None = None
    rank = 0
    for position, row in enumerate(ordered, start=1):
        if row.index != previous_index:
            rank, previous_index = position, row.index
        row.rank = rank
    return ordered


def previous_cycle_of(cycle: Cycle) -> Cycle | None:
    """The latest earlier published cycle of the same authority."""
    return (
        Cycle.objects.filter(
            authority=cycle.authority, year__lt=cycle.year, status=Cycle.Status.PUBLISHED
        )
        .order_by("-year", "-pk")
        .first()
    )


def _previous_ranks(
    cycle: Cycle, previous: Cycle | None, units: dict[int, str]
) -> dict[int, tuple[int | None, list[str]]]:
    """unit id → (previous rank, codes of the units it was taken from), by the lineage rule.

    `units` maps the units assessed in this cycle to their group code.
    """
    if cycle.status == Cycle.Status.PUBLISHED:
        frozen = PublishedResult.objects.filter(cycle=cycle).values_list(
            "unit_id", "previous_rank", "previous_units"
        )
        if frozen:
            return {unit_id: (rank, codes) for unit_id, rank, codes in frozen}
    if previous is None:
        return {}
    ranked: dict[int, tuple[int, str, str]] = {
        unit_id: (rank, group_code, code)
        for unit_id, rank, group_code, code in PublishedResult.objects.filter(
            cycle=previous, rank__isnull=False
        ).values_list("unit_id", "rank", "group_code", "unit__code")
        if rank is not None
    }
    predecessors: dict[int, list[int]] = {}
    for successor_id, predecessor_id in UnitLineage.objects.values_list(
        "successor_id", "predecessor_id"
    ):
        predecessors.setdefault(successor_id, []).append(predecessor_id)

    def sources(unit_id: int) -> set[int]:
        found = {unit_id} if unit_id in ranked else set()
        stack, seen = list(predecessors.get(unit_id, ())), {unit_id}
        while stack:
            current = stack.pop()
            if current in seen or current in units:  # assessed now: speaks for itself
                continue
            seen.add(current)
            if current in ranked:
                found.add(current)
            else:
                stack.extend(predecessors.get(current, ()))
        return found

    out: dict[int, tuple[int | None, list[str]]] = {}
    for unit_id, group_code in units.items():
        same_group = [ranked[s] for s in sources(unit_id) if ranked[s][1] == group_code]
        if same_group:
            best = min(rank for rank, _group, _code in same_group)
            out[unit_id] = (best, sorted(code for _rank, _group, code in same_group))
    return out


def _unit_result(case: tuple[Any, ...], totals: CaseTotals) -> UnitResult:
    case_id, unit_id, unit_code, unit_name, _group_id, state = case
    index = totals.index
    self_index = totals.self_index
    return UnitResult(
        case_id=case_id,
        unit_id=unit_id,
        unit_code=unit_code,
        unit_name=unit_name,
        state=state,
        index=index,
        final=totals.index_final,
        total=totals.total,
        appraised_points=totals.self_part.appraised_points,
        self_max=totals.self_part.max_points,
        survey_max=totals.survey_part.max_points,
        points=totals.appraised_total,
        self_points=totals.self_part.self_points,
        survey_points=totals.survey_part.appraised_points,
        applicable_max=totals.self_part.applicable_max + totals.survey_part.applicable_max,
        bonus=totals.bonus_appraised,
        penalty=totals.penalty_appraised,
        areas=list(totals.areas.values()),
        honesty=Honesty(
            compared=totals.compared,
            overclaimed=totals.overclaimed,
            overclaimed_points=totals.overclaimed_points,
            overclaimed_share=totals.overclaimed_share,
            self_index=self_index,
            index_gap=(self_index - index)
            if self_index is not None and index is not None
            else None,
        ),
    )


def compute_results(cycle: Cycle, *, withhold_excluded: bool | None = None) -> CycleResults:
    """The results of every unit group of the cycle, as they stand now.

    The figures of units excluded by decision are withheld once the cycle is published
    (or when `withhold_excluded` says so: the rows frozen at publication)."""
    if withhold_excluded is None:
        withhold_excluded = cycle.status == Cycle.Status.PUBLISHED
    cases = list(
        Case.objects.filter(cycle=cycle)
        .order_by("unit__code")
        .values_list("pk", "unit_id", "unit__code", "unit__name", "unit__group_id", "state")
    )
    totals = totals_for_cycle(cycle)
    exclusions: dict[int, str] = {}
    follow_ups: dict[int, tuple[str, date | None]] = {}
    for case_id, reason, by, due in RankingExclusion.objects.filter(case__cycle=cycle).values_list(
        "case_id", "reason", "follow_up_by", "follow_up_due"
    ):
        exclusions[case_id] = reason
        follow_ups[case_id] = (by, due)
    groups = {g.pk: g for g in UnitGroup.objects.filter(pk__in={c[4] for c in cases})}
    columns: dict[int, list[AreaColumn]] = {}
    for group_id, code, title, max_points in (
        Criterion.objects.filter(framework__cycle=cycle, parent__isnull=True, max_points__gt=0)
        .order_by("position")
        .values_list("framework__unit_group_id", "code", "title", "max_points")
    ):
        columns.setdefault(group_id, []).append(AreaColumn(code, title, max_points))
    previous = previous_cycle_of(cycle)
    previous_ranks = _previous_ranks(cycle, previous, {c[1]: groups[c[4]].code for c in cases})

    by_group: dict[int, list[UnitResult]] = {}
    for case in cases:
        row = _unit_result(case, totals[case[0]])
        if case[0] in exclusions:
            row.excluded, row.exclusion_reason = True, exclusions[case[0]]
            row.follow_up_by, row.follow_up_due = follow_ups[case[0]]
            if withhold_excluded:
                withhold(row)
        row.previous_rank, row.previous_units = previous_ranks.get(row.unit_id, (None, []))
        by_group.setdefault(case[4], []).append(row)

    result = []
    for group_id, rows in sorted(by_group.items(), key=lambda item: groups[item[0]].code):
        for row in rows:
            if row.index is None and not row.excluded and not row.withheld:
                row.excluded = True
                row.exclusion_reason = _("No criterion applies to this unit: it cannot be ranked.")
            elif not row.final and not row.excluded and cycle.status != Cycle.Status.PUBLISHED:
                # A provisional ranking shows no index a few appraised rows would make.
                row.excluded = True
                row.exclusion_reason = _(
                    "Not appraised in full yet (or the survey not imported): no index yet."
                )
                row.index = row.total = None
        ranked = assign_ranks([r for r in rows if not r.excluded])
        for row in ranked:
            row.classification, row.classification_label = classify(
                basis_figure(row, cycle), cycle.group_thresholds
            )
        apart = sorted((r for r in rows if r.excluded), key=lambda r: r.unit_code)
        group = groups[group_id]
        result.append(
            GroupResults(
                code=group.code,
                name=group.name,
                areas=columns.get(group_id, []),
                ranked=ranked,
                excluded=apart,
            )
        )
    return CycleResults(cycle=cycle, previous_cycle=previous, groups=result)


def snapshot_rows(results: CycleResults) -> list[PublishedResult]:
    """The rows frozen at publication (not saved: the caller does it in its transaction)."""
    return [
        PublishedResult(
            cycle=results.cycle,
            unit_id=row.unit_id,
            group_code=group.code,
            rank=row.rank,
            index=row.index,
            classification=row.classification,
            excluded=row.excluded,
            exclusion_reason=row.exclusion_reason,
            areas=[
                {"code": a.code, "points": str(a.points), "index": _str(a.index)} for a in row.areas
            ],
            previous_rank=row.previous_rank,
            previous_units=row.previous_units,
        )
        for group, row in results.rows()
    ]


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
