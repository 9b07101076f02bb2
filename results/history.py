"""The years side by side: a unit's and the province's published results across cycles.

Read only from what was announced (`PublishedResult`, frozen at each publication), so a later
change of units, lineage or frameworks never rewrites a past year. A unit's history follows
its lineage backwards (`UnitLineage`, through several steps): a commune formed by a merger
shows the years of the communes it continues, each under its own name. A unit excluded from
the ranking in a year shows that year without an index, a group or area figures.

The province's view averages the area indexes of the ranked units of each published cycle
and names the areas whose average fell since the previous cycle.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from cases import sheets
from cases.cells import keep_texts
from cases.models import Cycle, PublishedResult, Unit, UnitLineage

CENT = Decimal("0.01")


@dataclass
class Year:
    """One published line of a unit (or of one of its predecessors)."""

    cycle_id: int
    year: int
    title: str
    unit_code: str
    unit_name: str
    group_code: str
    rank: int | None
    index: Decimal | None
    classification: str
    excluded: bool
    areas: dict[str, Decimal | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cycle": {"id": self.cycle_id, "year": self.year, "title": self.title},
            "unit": {"code": self.unit_code, "name": self.unit_name},
            "unit_group": self.group_code,
            "rank": self.rank,
            "index": _s(self.index),
            "group": self.classification or None,
            "excluded": self.excluded,
            "areas": [{"code": code, "index": _s(v)} for code, v in self.areas.items()],
        }


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def lineage_of(unit: Unit) -> list[int]:
    """The unit and every unit it continues, however many mergers or renamings back."""
    predecessors: dict[int, list[int]] = {}
    for successor_id, predecessor_id in UnitLineage.objects.values_list(
        "successor_id", "predecessor_id"
    ):
        predecessors.setdefault(successor_id, []).append(predecessor_id)
    found, stack = [unit.pk], list(predecessors.get(unit.pk, ()))
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.append(current)
        stack.extend(predecessors.get(current, ()))
    return found


def unit_history(unit: Unit) -> list[Year]:
    """Every published year of the unit and of the units it continues, oldest first."""
    rows = (
        PublishedResult.objects.filter(
            unit_id__in=lineage_of(unit), cycle__status=Cycle.Status.PUBLISHED
        )
        .select_related("cycle", "unit")
        .order_by("cycle__year", "cycle_id", "unit__code")
    )
    years = []
    for row in rows:
        excluded = row.excluded
        years.append(
            Year(
                cycle_id=row.cycle_id,
                year=row.cycle.year,
                title=row.cycle.title,
                unit_code=row.unit.code,
                unit_name=row.unit.name,
                group_code=row.group_code,
                rank=row.rank,
                index=None if excluded else row.index,
                classification="" if excluded else row.classification,
                excluded=excluded,
                areas={} if excluded else {a["code"]: _d(a.get("index")) for a in row.areas or []},
            )
        )
    return years


def _d(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


@dataclass
class ProvinceYear:
    cycle_id: int
    year: int
    title: str
    ranked: int
    average_index: Decimal | None
    groups: dict[str, int]
    areas: dict[str, Decimal | None]
    area_change: dict[str, Decimal | None] = field(default_factory=dict)

    @property
    def fallen_areas(self) -> list[str]:
        return [
            code for code, change in self.area_change.items() if change is not None and change < 0
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "cycle": {"id": self.cycle_id, "year": self.year, "title": self.title},
            "ranked_units": self.ranked,
            "average_index": _s(self.average_index),
            "groups": self.groups,
            "areas": [
                {
                    "code": code,
                    "average_index": _s(value),
                    "change": _s(self.area_change.get(code)),
                }
                for code, value in self.areas.items()
            ],
            "fallen_areas": self.fallen_areas,
        }


def _mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(CENT, rounding=ROUND_HALF_UP)


def province_history(authority: str) -> list[ProvinceYear]:
    """Each published cycle of the authority, oldest first: averages, groups, areas."""
    cycles = list(
        Cycle.objects.filter(authority=authority, status=Cycle.Status.PUBLISHED).order_by(
            "year", "pk"
        )
    )
    per_cycle: dict[int, list[tuple[Decimal | None, str, list[dict[str, Any]]]]] = {}
    for cycle_id, index, classification, areas in PublishedResult.objects.filter(
        cycle__in=cycles, excluded=False, rank__isnull=False
    ).values_list("cycle_id", "index", "classification", "areas"):
        per_cycle.setdefault(cycle_id, []).append((index, classification, areas or []))
    years: list[ProvinceYear] = []
    for cycle in cycles:
        rows = per_cycle.get(cycle.pk, [])
        groups: dict[str, int] = {}
        by_area: dict[str, list[Decimal]] = {}
        for _index, classification, areas in rows:
            if classification:
                groups[classification] = groups.get(classification, 0) + 1
            for area in areas:
                value = _d(area.get("index"))
                if value is not None:
                    by_area.setdefault(area["code"], []).append(value)
        year = ProvinceYear(
            cycle_id=cycle.pk,
            year=cycle.year,
            title=cycle.title,
            ranked=len(rows),
            average_index=_mean([i for i, _c, _a in rows if i is not None]),
            groups=dict(sorted(groups.items())),
            areas={code: _mean(values) for code, values in sorted(by_area.items(), key=_natural)},
        )
        if years:
            before = years[-1].areas
            changes: dict[str, Decimal | None] = {}
            for code, value in year.areas.items():
                previous = before.get(code)
                changes[code] = None if value is None or previous is None else value - previous
            year.area_change = changes
        years.append(year)
    return years


def _natural(item: tuple[str, Any]) -> tuple[int, str]:
    code = item[0]
    return (int(code), code) if code.isdigit() else (10**6, code)


def history_xlsx(
    title: str, unit_years: list[Year] | None, province: list[ProvinceYear] | None
) -> bytes:
    """The years side by side as a workbook set up to print."""
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)  # a new workbook opens on its one worksheet
    sheet.title = _("Years")[:31]
    sheets.title_row(sheet, title)
    sheet.append([])
    if unit_years is not None:
        codes = sorted({c for y in unit_years for c in y.areas}, key=lambda c: _natural((c, None)))
        header = sheets.header_row(
            sheet,
            [_("Year"), _("Unit"), _("Rank"), _("Index (%)"), _("Group"), *codes],
        )
        for line in unit_years:
            sheet.append(
                [
                    line.year,
                    line.unit_name,
                    line.rank,
                    line.index if not line.excluded else _("not ranked"),
                    line.classification,
                    *(line.areas.get(c) for c in codes),
                ]
            )
        widths = [8, 32, 8, 10, 8] + [9] * len(codes)
    else:
        years = province or []
        codes = sorted({c for y in years for c in y.areas}, key=lambda c: _natural((c, None)))
        header = sheets.header_row(
            sheet,
            [_("Year"), _("Ranked units"), _("Average index"), *codes, _("Areas that fell")],
        )
        for province_year in years:
            sheet.append(
                [
                    province_year.year,
                    province_year.ranked,
                    province_year.average_index,
                    *(province_year.areas.get(c) for c in codes),
                    ", ".join(province_year.fallen_areas),
                ]
            )
        widths = [8, 10, 10] + [9] * len(codes) + [16]
    sheets.format_table(sheet, header + 1)
    sheets.widths(sheet, widths)
    sheets.print_setup(sheet, title=title, header_rows=(header, header))
    keep_texts(workbook)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
