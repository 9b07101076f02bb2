"""The years side by side: a unit's published results across cycles, and the province's.

Public, like published results: only what was announced is shown (`results.history`).
"""

from __future__ import annotations

from decimal import Decimal

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from cases.models import Cycle, Unit
from results import history
from results.ranking import group_labels, group_name
from web import charts


def unit(request: HttpRequest, code: str) -> HttpResponse:
    found = Unit.objects.filter(code__iexact=code).first()
    if found is None:
        raise Http404(_("There is no unit with this code."))
    years = history.unit_history(found)
    seen = sorted({y.classification for y in years if y.index is not None and y.classification})
    legend = [
        charts.LegendItem(f"group-{c}", group_name(c, group_labels().get(c, ""))) for c in seen
    ]
    chart = charts.bar_chart(
        [(f"{y.year} – {y.unit_name}", y.index) for y in years if y.index is not None],
        title=_("Index of %(unit)s over the years") % {"unit": found.name},
        maximum=Decimal(100),
        classes=[f"group-{y.classification}" for y in years if y.index is not None],
        legend=legend,
    )
    codes = sorted({c for y in years for c in y.areas}, key=lambda c: (len(c), c))
    context = {"unit": found, "years": years, "chart": chart, "codes": codes}
    return render(request, "web/history_unit.html", context)


def province(request: HttpRequest) -> HttpResponse:
    latest = Cycle.objects.filter(status=Cycle.Status.PUBLISHED).order_by("-year", "-pk").first()
    authority = latest.authority if latest else ""
    years = history.province_history(authority)
    chart = charts.bar_chart(
        [(str(y.year), y.average_index) for y in years if y.average_index is not None],
        title=_("Average index of the ranked units"),
        maximum=Decimal(100),
    )
    codes = sorted({c for y in years for c in y.areas}, key=lambda c: (len(c), c))
    context = {"authority": authority, "years": years, "chart": chart, "codes": codes}
    return render(request, "web/history_province.html", context)
