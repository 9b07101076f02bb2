"""Copy a criteria set as a new version: the tree, points, methods and guidance, unchanged.

A set whose cases were scored stays as it was; whoever needs it changed, or needs it for
another cycle, works on a copy (`derived_from` keeps the lineage). The copy is stored the
way every set is (`tree.save`).
"""

from __future__ import annotations

from django.db.models import Max

from cases.frameworks import tree
from cases.models import Cycle, Framework


def next_version(unit_group_id: int, code: str) -> int:
    """One above the highest version of the set's code in its unit group."""
    highest = Framework.objects.filter(unit_group_id=unit_group_id, code=code).aggregate(
        v=Max("version")
    )["v"]
    return (highest or 0) + 1


def copy_framework(source: Framework, *, cycle: Cycle | None = None) -> Framework:
    """A new version of `source`, bound to `cycle` (or to none), in one insert per level."""
    return tree.save(
        tree.from_framework(source),
        cycle=cycle,
        unit_group=source.unit_group,
        code=source.code,
        title=source.title,
        version=next_version(source.unit_group_id, source.code),
        derived_from=source,
        decision_number=source.decision_number,
        decision_date=source.decision_date,
        decision_signer=source.decision_signer,
    )
