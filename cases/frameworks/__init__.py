"""Load a criteria framework (areas → criteria → sub-criteria) from its YAML description.

The YAML shape is the one of the province's criteria annex as we keep it (see the two files
beside this module). Loading checks that parents sum their children and that every leaf has
a known scoring method; bonus/penalty items become leaves of a last area with their caps.
Deduction rules written as text ("trừ 0.5/vi phạm") give the points per violation.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from cases.models import Criterion, Cycle, Framework, Method, UnitGroup

HERE = Path(__file__).resolve().parent
BUILTIN = {"khoi_so": HERE / "khoi-so.yaml", "khoi_xa": HERE / "khoi-xa.yaml"}
_STEP = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:điểm\s*)?/")


class FrameworkError(ValueError):
    pass


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def per_violation(rule: str) -> Decimal | None:
    match = _STEP.search(rule or "")
    return _dec(match.group(1).replace(",", ".")) if match else None


def read(path: Path) -> dict[str, Any]:
    # libyaml's safe loader when PyYAML has it: the same data, many times faster than the
    # pure-Python loader (which every world of the tests and every new cycle paid for).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)["framework"]


@transaction.atomic
def load(
    data: dict[str, Any], *, cycle: Cycle, unit_group: UnitGroup, title: str = ""
) -> Framework:
    bonus = data.get("bonus_penalty") or {}
    framework = Framework.objects.create(
        cycle=cycle,
        unit_group=unit_group,
        code=data.get("id", unit_group.code),
        title=title or f"{unit_group.name} {cycle.year}",
        bonus_cap=_dec(bonus.get("bonus_cap", 0)),
        penalty_cap=_dec(bonus.get("penalty_cap", 0)),
    )
    counter = iter(range(1, 100_000))
    nodes: list[Criterion] = []

    def add(
        node: dict[str, Any],
        parent: Criterion | None,
        area: Criterion | None,
        depth: int,
        na_allowed: bool,
    ) -> Criterion:
        children = node.get("sub") or node.get("criteria") or []
        na = na_allowed or bool(node.get("not_applicable_allowed"))
        method = node.get("method", "")
        config: dict[str, Any] = {}
        if not children:
            if method not in Method.values:
                raise FrameworkError(f"{node.get('code')}: unknown scoring method {method!r}")
            if method == Method.PERCENTAGE:
                config["thresholds"] = node.get("thresholds", [])
            if method == Method.GRADED:
                config["levels"] = node.get("levels", [])
            if method == Method.DEDUCTION:
                step = node.get("per_violation") or per_violation(node.get("rule", ""))
                if step:
                    config["per_violation"] = str(step)
            if node.get("rule"):
                config["rule"] = node["rule"]
            if node.get("data_source"):
                config["data_source"] = node["data_source"]
        criterion = Criterion.objects.create(
            framework=framework,
            parent=parent,
            area=area,
            code=str(node["code"]),
            title=node["title"],
            position=next(counter),
            depth=depth,
            max_points=_dec(node.get("max_points", 0)),
            method=method if not children else "",
            config=config,
            evidence_required=bool(node.get("evidence_required")) and not children,
            not_applicable_allowed=na,
            is_leaf=not children,
        )
        nodes.append(criterion)
        total = Decimal(0)
        for child in children:
            total += add(child, criterion, area or criterion, depth + 1, na).max_points
        if children and total != criterion.max_points:
            raise FrameworkError(
                f"{criterion.code}: children sum to {total}, not {criterion.max_points}"
            )
        return criterion

    for area in data["areas"]:
        add(area, None, None, 0, False)
    if bonus.get("items"):
        area = Criterion.objects.create(
            framework=framework,
            code=str(len(data["areas"]) + 1),
            title="Điểm thưởng, điểm trừ",
            position=next(counter),
            depth=0,
        )
        for item in bonus["items"]:
            is_bonus = item.get("type") == "bonus"
            each = (
                item.get("points_each") or item.get("points") or per_violation(item.get("rule", ""))
            )
            Criterion.objects.create(
                framework=framework,
                parent=area,
                area=area,
                code=str(item["code"]),
                title=item["title"],
                position=next(counter),
                depth=1,
                max_points=framework.bonus_cap if is_bonus else framework.penalty_cap,
                method=Method.BONUS if is_bonus else Method.PENALTY,
                config={"points_each": str(each or 0), "rule": item.get("rule", "")},
                evidence_required=bool(item.get("evidence_required")),
                is_leaf=True,
            )
    return framework


def load_builtin(level: str, *, cycle: Cycle, unit_group: UnitGroup) -> Framework:
    return load(read(BUILTIN[level]), cycle=cycle, unit_group=unit_group)
