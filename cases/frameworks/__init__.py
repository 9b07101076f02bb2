"""Criteria sets (bộ tiêu chí): the YAML files beside this module, and the one way every set
is checked and stored (`tree`), read from and written to Excel (`excel`).

The YAML shape is the one of the province's criteria annex as we keep it (see the two files
beside this module). Loading goes through `tree.problems` and `tree.save`, as an Excel import
does: parents sum their children, every leaf has a known scoring method; bonus/penalty items
become leaves of a last area with their caps. Deduction rules written as text
("trừ 0.5/vi phạm") give the points per violation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cases.frameworks import tree
from cases.frameworks.tree import per_violation
from cases.models import Cycle, Framework, UnitGroup

HERE = Path(__file__).resolve().parent
BUILTIN = {"khoi_so": HERE / "khoi-so.yaml", "khoi_xa": HERE / "khoi-xa.yaml"}

__all__ = ["BUILTIN", "FrameworkError", "load", "load_builtin", "per_violation", "read"]


class FrameworkError(ValueError):
    pass


def read(path: Path) -> dict[str, Any]:
    # libyaml's safe loader when PyYAML has it: the same data, many times faster than the
    # pure-Python loader (which every world of the tests and every new cycle paid for).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)["framework"]


def load(
    data: dict[str, Any],
    *,
    cycle: Cycle | None,
    unit_group: UnitGroup,
    title: str = "",
) -> Framework:
    """Check and store a YAML set; refuse it whole, naming each problem by its code."""
    built = tree.from_yaml(data)
    found = tree.problems(built)
    if found:
        raise FrameworkError(
            "; ".join(f"{p.node.code}: {p.message}" if p.node else p.message for p in found)
        )
    year = f" {cycle.year}" if cycle is not None else ""
    return tree.save(
        built,
        unit_group=unit_group,
        cycle=cycle,
        code=data.get("id", unit_group.code),
        title=title or f"{unit_group.name}{year}",
    )


def load_builtin(level: str, *, cycle: Cycle | None, unit_group: UnitGroup) -> Framework:
    return load(read(BUILTIN[level]), cycle=cycle, unit_group=unit_group)
