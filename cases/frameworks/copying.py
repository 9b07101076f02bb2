"""Copy a criteria set as a new version: the tree, points, methods and guidance, unchanged.

A set whose cases were scored stays as it was; whoever needs it changed, or needs it for
another cycle, works on a copy (`derived_from` keeps the lineage).
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from cases.models import Criterion, Cycle, Framework


def next_version(framework: Framework) -> int:
    """One above the highest version of the set's code in its unit group."""
    highest = Framework.objects.filter(
        unit_group_id=framework.unit_group_id, code=framework.code
    ).aggregate(v=Max("version"))["v"]
    return (highest or 0) + 1


@transaction.atomic
def copy_framework(source: Framework, *, cycle: Cycle | None = None) -> Framework:
    """A new version of `source`, bound to `cycle` (or to none), in one insert per level."""
    copy = Framework.objects.create(
        cycle=cycle,
        unit_group_id=source.unit_group_id,
        code=source.code,
        title=source.title,
        version=next_version(source),
        derived_from=source,
        decision_number=source.decision_number,
        decision_date=source.decision_date,
        decision_signer=source.decision_signer,
        bonus_cap=source.bonus_cap,
        penalty_cap=source.penalty_cap,
    )
    nodes = list(Criterion.objects.filter(framework=source).order_by("depth", "position"))
    new_ids: dict[int, int] = {}
    for depth in sorted({n.depth for n in nodes}):
        level = [n for n in nodes if n.depth == depth]
        created = Criterion.objects.bulk_create(
            [
                Criterion(
                    framework=copy,
                    parent_id=new_ids.get(n.parent_id) if n.parent_id else None,
                    area_id=new_ids.get(n.area_id) if n.area_id else None,
                    code=n.code,
                    title=n.title,
                    position=n.position,
                    depth=n.depth,
                    max_points=n.max_points,
                    method=n.method,
                    config=n.config,
                    evidence_required=n.evidence_required,
                    not_applicable_allowed=n.not_applicable_allowed,
                    guidance=n.guidance,
                    data_source=n.data_source,
                    is_leaf=n.is_leaf,
                )
                for n in level
            ]
        )
        if any(c.pk is None for c in created):  # backends that return no ids
            by_code = dict(
                Criterion.objects.filter(framework=copy, depth=depth).values_list("code", "pk")
            )
            new_ids.update({n.pk: by_code[n.code] for n in level})
        else:
            new_ids.update({n.pk: c.pk for n, c in zip(level, created, strict=True)})
    return copy
