"""The results of a cycle as the pages show them: tables and charts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from cases.models import Cycle
from results.ranking import basis_figure, group_labels, group_name
from web import charts
from web.templatetags.par import pts

# --- results -------------------------------------------------------------------------------


@dataclass
class GroupView:
    """One unit group's results as the page shows them: the table and its chart."""

    group: Any
    chart: charts.BarChart
    area_codes: list[str]


def group_legend(cycle: Cycle) -> tuple[list[Decimal], list[charts.LegendItem]]:
    """The cycle's own group thresholds: the values where a group starts (drawn as dashed
    lines) and a legend naming each group with its band, e.g. "Nhóm A (tốt): từ 90 trở lên"."""
    bands = sorted(cycle.group_thresholds, key=lambda b: Decimal(str(b["min"])), reverse=True)
    legend = []
    upper: Decimal | None = None
    for band in bands:
        code = str(band["group"])
        name = group_name(code, str(band.get("label", "") or group_labels().get(code, "")))
        low = Decimal(str(band["min"]))
        if upper is None:
            text = _("%(group)s: %(min)s or more") % {"group": name, "min": pts(low)}
        elif low > 0:
            text = _("%(group)s: %(min)s to under %(max)s") % {
                "group": name,
                "min": pts(low),
                "max": pts(upper),
            }
        else:
            text = _("%(group)s: under %(max)s") % {"group": name, "max": pts(upper)}
        legend.append(charts.LegendItem(f"group-{code}", text))
        upper = low
    marks = [Decimal(str(b["min"])) for b in bands if Decimal(str(b["min"])) > 0]
    if marks:
        legend.append(charts.LegendItem("mark", _("Dashed line: where a group starts")))
    return sorted(marks), legend


def results_view(computed: Any) -> list[GroupView]:
    """Each group's ranking with a bar chart of the figure the groups are read against
    (the index, or the total of 100), coloured by group, with the cycle's thresholds drawn
    as guide lines and named in a legend."""
    cycle = computed.cycle
    marks, legend = group_legend(cycle)
    by_index = cycle.group_basis == Cycle.GroupBasis.INDEX
    description = _("Dashed lines mark where each group starts: %(values)s.") % {
        "values": ", ".join(pts(m) for m in reversed(marks))
    }
    views = []
    for group in computed.groups:
        ranked = group.ranked
        if by_index:
            title = _("Index of each unit: %(group)s") % {"group": group.name}
        else:
            title = _("Total points (of 100) of each unit: %(group)s") % {"group": group.name}
        chart = charts.bar_chart(
            [(f"{r.rank}. {r.unit_name}", basis_figure(r, cycle) or Decimal(0)) for r in ranked],
            title=title,
            maximum=Decimal(100),
            classes=[f"group-{r.classification}" for r in ranked],
            marks=marks,
            description=description if marks else "",
            legend=legend,
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
