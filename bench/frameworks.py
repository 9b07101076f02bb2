"""Storing a criteria set: one INSERT per level of the tree against one INSERT per node.

Every set is stored through `cases.frameworks.tree.save` (the YAML files, an Excel import, a
copy as a new version, each test world and each demo cycle). The baseline in the same run
stores the same tree node by node, as the loader used to. Printed: the median time of each
over several runs for the department set of the demo and for a set of 2,000 nodes, the
statements each sends, and the ratio. Figures, not asserted times.
"""

from __future__ import annotations

import statistics
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

# bench.common, and the apps before this folder's scripts of the same names
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database, setup_django, timed

RUNS = 7


def main() -> None:
    setup_django()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from cases import frameworks
    from cases.frameworks import tree
    from cases.models import Criterion, Framework, UnitGroup

    def node_by_node(built: Any, group: Any) -> None:
        """The baseline: the set, then each node with its own INSERT, in reading order."""
        framework = Framework.objects.create(unit_group=group, code="base", title="base")
        rows: dict[int, Criterion] = {}
        area_of: dict[int, Criterion] = {}
        for position, (node, parent, depth) in enumerate(built.walk(), start=1):
            row = Criterion.objects.create(
                framework=framework,
                parent=rows[id(parent)] if parent is not None else None,
                area=area_of[id(parent)] if parent is not None else None,
                code=node.code,
                title=node.title,
                position=position,
                depth=depth,
                max_points=node.max_points,
                method=node.method,
                config=node.config,
                is_leaf=node.is_leaf,
            )
            rows[id(node)] = row
            area_of[id(node)] = area_of[id(parent)] if parent is not None else row

    def wide(n_areas: int, per_area: int) -> Any:
        areas = [
            tree.Node(
                code=str(a),
                title=f"Lĩnh vực {a}",
                max_points=Decimal(per_area),
                children=[
                    tree.Node(
                        code=f"{a}.{c}",
                        title=f"Tiêu chí {a}.{c}",
                        max_points=Decimal(1),
                        method="manual",
                    )
                    for c in range(1, per_area + 1)
                ],
            )
            for a in range(1, n_areas + 1)
        ]
        return tree.Tree(areas)

    with bench_database():
        group = UnitGroup.objects.create(code="khoi_so", name="Khối sở")
        sets = {
            "demo department set": tree.from_yaml(frameworks.read(frameworks.BUILTIN["khoi_so"])),
            "2,000 nodes": wide(40, 49),
        }
        for name, built in sets.items():
            nodes = sum(1 for _ in built.walk())
            results = {}
            for label, store in (
                ("node by node", lambda b=built: node_by_node(b, group)),
                (
                    "one INSERT per level",
                    lambda b=built: tree.save(b, unit_group=group, code="x", title="x"),
                ),
            ):
                times = []
                for _run in range(RUNS):
                    connection.queries_log.clear()  # its 9,000 entries hold one run at most
                    with transaction.atomic():
                        with CaptureQueriesContext(connection) as queries:
                            times.append(timed(store))
                        transaction.set_rollback(True)
                results[label] = (statistics.median(times), len(queries.captured_queries))
            base, new = results["node by node"], results["one INSERT per level"]
            print(f"{name} ({nodes} nodes):")
            for label, (seconds, statements) in results.items():
                print(f"  {label:22} {seconds * 1000:8.1f} ms  {statements:5} statements")
            print(f"  ratio (node by node / per level): {base[0] / new[0]:.1f}×")


if __name__ == "__main__":
    main()
