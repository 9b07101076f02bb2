"""What the criteria-set pages show: the sets, and a set's tree as rows with its sums."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.frameworks import excel
from cases.frameworks.tree import Node, Problem, Tree
from cases.models import Framework, Method
from cases.users import User
from workflow import audit
from workflow.models import AuditEntry


@dataclass
class Row:
    """One node as the tree table draws it; a parent shows what its children sum to."""

    node: Node
    depth: int
    parent_code: str
    first: bool
    last: bool
    problems: list[str] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.node.code

    @property
    def sum(self) -> Decimal | None:
        return None if self.node.is_leaf else self.node.children_sum()

    @property
    def method_label(self) -> str:
        method = self.node.method
        return str(Method(method).label) if method in Method.values else method

    @property
    def settings(self) -> str:
        return excel.settings_text(self.node.method, self.node.config)


def tree_rows(tree: Tree, problems: Sequence[Problem] = ()) -> list[Row]:
    by_code: dict[str, list[str]] = {}
    for problem in problems:
        if problem.node is not None:
            by_code.setdefault(problem.node.code, []).append(problem.message)
    rows = []
    for node, parent, depth in tree.walk():
        siblings = parent.children if parent is not None else tree.areas
        rows.append(
            Row(
                node=node,
                depth=depth,
                parent_code=parent.code if parent is not None else "",
                first=siblings[0] is node,
                last=siblings[-1] is node,
                problems=by_code.get(node.code, []),
            )
        )
    return rows


def set_list() -> list[Framework]:
    return list(
        Framework.objects.select_related("cycle", "unit_group", "derived_from").order_by(
            "unit_group__code", "-version", "-pk"
        )
    )


CHANGE_WORDS = {
    "add": gettext_lazy("added"),
    "remove": gettext_lazy("removed"),
    "move": gettext_lazy("moved"),
    "change": gettext_lazy("changed"),
    "details": gettext_lazy("title or decision changed"),
    "renumber": gettext_lazy("codes renumbered in order"),
}


@dataclass(frozen=True)
class Change:
    at: datetime
    actor: User
    what: str
    code: str


def changes(framework: Framework) -> list[Change]:
    """Who did what to the set, newest first (its audit entries, one query)."""
    entries = (
        AuditEntry.objects.filter(object_type="cases.framework", object_id=str(framework.pk))
        .select_related("actor")
        .order_by("-at", "-pk")[:100]
    )
    out = []
    for entry in entries:
        if entry.action == audit.FRAMEWORK_IMPORTED:
            what = str(_("imported from “%(file)s”") % {"file": entry.data.get("filename", "")})
        elif entry.action == audit.FRAMEWORK_COPIED:
            what = str(_("made as a copy"))
        else:
            what = str(CHANGE_WORDS.get(str(entry.data.get("change")), entry.action))
        out.append(Change(entry.at, entry.actor, what, str(entry.data.get("code", ""))))
    return out
