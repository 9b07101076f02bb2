"""The results of a cycle as the pages show them: tables and charts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from web import charts

# --- results -------------------------------------------------------------------------------


@dataclass
class GroupView:
    """One unit group's results as the page shows them: the table and its chart."""

    group: Any
    chart: charts.BarChart
    area_codes: list[str]


def results_view(computed: Any) -> list[GroupView]:
    """Each group's ranking with a bar chart of indexes, coloured by classification, with
    the cycle's thresholds drawn as guide lines."""
    thresholds = [
        Decimal(str(band["min"]))
        for band in computed.cycle.group_thresholds
        if Decimal(str(band["min"])) > 0
    ]
    views = []
    for group in computed.groups:
        ranked = group.ranked
        chart = charts.bar_chart(
            [(f"{r.rank}. {r.unit_name}", r.index or Decimal(0)) for r in ranked],
            title=_("Index of each unit: %(group)s") % {"group": group.name},
            maximum=Decimal(100),
            classes=[f"group-{r.classification}" for r in ranked],
            marks=thresholds,
        )
        views.append(GroupView(group, chart, [a.code for a in group.areas]))
    return views


def unit_result(computed: Any, unit_code: str) -> tuple[Any, Any] | None:
    """(group, row) of one unit in the results, or None."""
    for group, row in computed.rows():
        if row.unit_code == unit_code:
            return group, row
    return None


def area_chart(row: Any) -> charts.BarChart:
    """A unit's index per area (0 – 100): where it did well and where it lost points."""
    return charts.bar_chart(
        [(f"{a.code}. {a.title}", a.index or Decimal(0)) for a in row.areas if a.applicable_max],
        title=_("Index per area: %(unit)s") % {"unit": row.unit_name},
        maximum=Decimal(100),
    )
