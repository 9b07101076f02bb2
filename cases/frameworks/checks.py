"""Whether a saved criteria set can be scored: what opening a cycle asks of each set.

Parents sum their children; every leaf has a scoring method; no maximum is negative. The
bonus and penalty items are outside the sum: their maxima are the set's caps.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from cases.models import BONUS_PENALTY, Criterion, Framework, Method
from cases.scoring import fmt


def set_problems(framework: Framework) -> list[str]:
    """Every reason the set cannot be scored, in tree order; empty when it can (one query)."""
    nodes = list(
        Criterion.objects.filter(framework=framework)
        .order_by("position")
        .values("pk", "parent_id", "code", "title", "max_points", "method", "is_leaf")
    )
    if not any(n["is_leaf"] for n in nodes):
        return [_("The set has no criterion to score.")]
    children: dict[int, list[Any]] = {}
    for node in nodes:
        if node["parent_id"] is not None:
            children.setdefault(node["parent_id"], []).append(node)
    problems = []
    for node in nodes:
        label = f"{node['code']} “{node['title']}”"
        if node["max_points"] < 0:
            problems.append(
                _("%(node)s: the maximum cannot be negative (%(max)s).")
                % {"node": label, "max": fmt(node["max_points"])}
            )
        if node["is_leaf"] and node["method"] not in Method.values:
            problems.append(_("%(node)s: the scoring method is missing.") % {"node": label})
        parts = children.get(node["pk"], [])
        if node["is_leaf"] or not parts or all(p["method"] in BONUS_PENALTY for p in parts):
            continue
        total = sum((Decimal(p["max_points"]) for p in parts), Decimal(0))
        if total != node["max_points"]:
            problems.append(
                _("%(node)s is worth %(max)s points but its parts sum to %(sum)s.")
                % {"node": label, "max": fmt(node["max_points"]), "sum": fmt(total)}
            )
    return problems
