"""A criteria set as a tree in memory: built from YAML, a workbook or the database, checked,
and saved in one insert per level.

Every way a set comes in (the YAML files beside this module, an Excel import, a copy) goes
through `problems()` and `save()`, so that a set is checked by one set of rules and stored in
one shape: the method's settings in `Criterion.config` in a canonical form (numbers as JSON
numbers in `thresholds`/`levels`, as text in `per_violation`/`points_each`, no empty `rule`),
which is what lets a set leave as a workbook and come back identical.

The rules: codes are unique; every leaf has a known method, and the settings its method
needs; no maximum is negative; a parent is worth the sum of its children, except a parent of
bonus and penalty items only, whose items are outside the sum (each item's maximum is the
set's cap).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cases.models import BONUS_PENALTY, Criterion, Cycle, Framework, Method, UnitGroup
from cases.scoring import LATE_WORKING_DAYS, fmt, says_working_days_late

BONUS_AREA_TITLE = "Điểm thưởng, điểm trừ"
# What a penalty item may count instead of the appraiser's figure: the late-submission
# deduction counts the case's working days late ("by hand" is simply no setting).
COUNTS = (LATE_WORKING_DAYS,)
_STEP = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:điểm\s*)?/")


def number(value: Decimal) -> int | float:
    """A setting's number as JSON keeps it: 1 not 1.0, 0.5 as 0.5."""
    value = Decimal(value).normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def text_number(value: Decimal | str | int | float) -> str:
    """A number kept as text (per violation, points each): "0.5", "1", never "1.0"."""
    value = Decimal(str(value)).normalize()
    return str(int(value)) if value == value.to_integral_value() else format(value, "f")


@dataclass
class Node:
    """One row of a set: an area, a criterion or a sub-criterion."""

    code: str
    title: str
    max_points: Decimal
    method: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    evidence_required: bool = False
    not_applicable_allowed: bool = False
    guidance: str = ""
    data_source: str = ""
    children: list[Node] = field(default_factory=list)
    row: int | None = None  # the workbook row it came from, to name it in a problem

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def outside_sum(self) -> bool:
        return self.method in BONUS_PENALTY

    def children_sum(self) -> Decimal:
        return sum((c.max_points for c in self.children if not c.outside_sum), Decimal(0))

    def sums(self) -> bool:
        """A parent is worth its children (a parent of bonus/penalty items only: always)."""
        if self.is_leaf or all(c.outside_sum for c in self.children):
            return True
        return self.children_sum() == self.max_points

    def as_dict(self) -> dict[str, Any]:
        """Everything a set says about the node, its children included (comparisons, API)."""
        return {
            "code": self.code,
            "title": self.title,
            "max_points": text_number(self.max_points),
            "method": self.method,
            "config": self.config,
            "evidence_required": self.evidence_required,
            "not_applicable_allowed": self.not_applicable_allowed,
            "guidance": self.guidance,
            "data_source": self.data_source,
            "children": [c.as_dict() for c in self.children],
        }


@dataclass
class Tree:
    areas: list[Node]
    # Codes an earlier version of the set used: never given to a new criterion, so that a
    # code keeps one meaning from year to year (comparisons, the workbook round trip).
    retired: frozenset[str] = frozenset()

    def walk(self) -> Iterator[tuple[Node, Node | None, int]]:
        """(node, parent, depth) in reading order."""
        stack: list[tuple[Node, Node | None, int]] = [(a, None, 0) for a in reversed(self.areas)]
        while stack:
            node, parent, depth = stack.pop()
            yield node, parent, depth
            stack.extend((c, node, depth + 1) for c in reversed(node.children))

    def total(self) -> Decimal:
        """The points of the whole set (bonus and penalty items aside)."""
        return sum((a.max_points for a in self.areas if not a.outside_sum), Decimal(0))

    def cap(self, method: str) -> Decimal:
        return max(
            (n.max_points for n, _p, _d in self.walk() if n.method == method), default=Decimal(0)
        )

    def as_list(self) -> list[dict[str, Any]]:
        return [a.as_dict() for a in self.areas]


@dataclass(frozen=True)
class Problem:
    """What is wrong with a node; `column` is the key of the workbook column it is in."""

    node: Node | None
    column: str
    message: str
    # "incomplete": a state an editor passes through (a parent that does not sum yet, a new
    # leaf without its method or settings); a set is saved from a file or scored only
    # without any, but edited step by step with them shown. "order": a code out of order
    # (`codes_out_of_order`), a notice that never stops a save, an import or a cycle.
    kind: str = "invalid"

    @property
    def incomplete(self) -> bool:
        return self.kind == "incomplete"


def canonical_config(method: str, config: dict[str, Any]) -> dict[str, Any]:
    """The settings a method uses, in the one shape every source stores."""
    out: dict[str, Any] = {}
    if method == Method.PERCENTAGE:
        out["thresholds"] = [
            {"min": number(Decimal(str(b["min"]))), "points": number(Decimal(str(b["points"])))}
            for b in config.get("thresholds") or []
        ]
    if method == Method.GRADED:
        out["levels"] = [
            {"label": str(level["label"]), "points": number(Decimal(str(level["points"])))}
            for level in config.get("levels") or []
        ]
    if method == Method.DEDUCTION and config.get("per_violation") not in (None, ""):
        out["per_violation"] = text_number(config["per_violation"])
    if method in BONUS_PENALTY:
        out["points_each"] = text_number(config.get("points_each") or 0)
    if method == Method.PENALTY and config.get("counts") is not None:
        # "" counted by the appraiser; an unknown value is a problem (`problems`)
        out["counts"] = str(config["counts"])
    if config.get("rule"):
        out["rule"] = str(config["rule"])
    return out


def problems(tree: Tree) -> list[Problem]:
    """Every reason the set cannot be saved, in reading order."""
    found: list[Problem] = []
    seen: dict[str, Node] = {}
    if not tree.areas:
        found.append(Problem(None, "", _("The set has no criterion.")))
    for node, _parent, _depth in tree.walk():
        if node.code in seen:
            other = seen[node.code]
            found.append(
                Problem(
                    node,
                    "code",
                    _("the code %(code)s is used twice%(where)s.")
                    % {
                        "code": node.code,
                        "where": _(" (also in row %(row)s)") % {"row": other.row}
                        if other.row
                        else "",
                    },
                )
            )
        seen.setdefault(node.code, node)
        if not node.title.strip():
            found.append(Problem(node, "title", _("the content is missing.")))
        if node.max_points < 0:
            found.append(
                Problem(
                    node,
                    "max_points",
                    _("the maximum cannot be negative (%(max)s).") % {"max": fmt(node.max_points)},
                )
            )
        if node.is_leaf:
            found.extend(_leaf_problems(node))
        elif node.method:
            found.append(
                Problem(
                    node,
                    "method",
                    _("it has sub-criteria: its points are their sum, it has no method."),
                )
            )
        if not node.sums():
            found.append(
                Problem(
                    node,
                    "max_points",
                    _("the maximum is %(max)s points but the parts sum to %(sum)s.")
                    % {"max": fmt(node.max_points), "sum": fmt(node.children_sum())},
                    "incomplete",
                )
            )
    return found


def codes_out_of_order(tree: Tree) -> list[Problem]:
    """The nodes whose code does not follow from their place, in reading order: a code that
    is not its parent's plus one part (1.2.1 under 1.3; an area coded 1.5), or that is out
    of order among its siblings' (1.2 above 1.1). Edits keep the codes in use, so a set being
    edited may show either until it is renumbered: a notice, never a refusal. Of siblings
    out of order, the fewest whose moving would leave the others in order are named.
    """
    found: list[Problem] = []
    groups: list[tuple[Node | None, list[Node]]] = [(None, tree.areas)]
    groups += [(node, node.children) for node, _p, _d in tree.walk() if node.children]
    for parent, siblings in groups:
        prefix = f"{parent.code}." if parent is not None else ""
        placed: list[Node] = []
        for node in siblings:
            rest = node.code[len(prefix) :] if node.code.startswith(prefix) else ""
            if rest and "." not in rest:
                placed.append(node)
            elif parent is None:
                found.append(
                    Problem(
                        node,
                        "code",
                        _("it is an area, but its code has more than one part."),
                        "order",
                    )
                )
            else:
                found.append(
                    Problem(
                        node,
                        "code",
                        _("it is a part of %(parent)s, but its code is not %(parent)s.x.")
                        % {"parent": parent.code},
                        "order",
                    )
                )
        shown = ", ".join(n.code for n in siblings)
        for node in _out_of_sequence(placed, len(prefix)):
            message = (
                _("its code is out of order among the parts of %(parent)s (shown: %(order)s).")
                % {"parent": parent.code, "order": shown}
                if parent is not None
                else _("its code is out of order among the areas (shown: %(order)s).")
                % {"order": shown}
            )
            found.append(Problem(node, "code", message, "order"))
    position = {id(node): index for index, (node, _p, _d) in enumerate(tree.walk())}
    found.sort(key=lambda p: position[id(p.node)])
    return found


_ROMAN = re.compile(r"M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def _roman(numeral: str) -> int:
    values = [_ROMAN_VALUES[c] for c in numeral]
    return sum(-v if v < after else v for v, after in zip(values, [*values[1:], 0], strict=True))


def _out_of_sequence(siblings: list[Node], cut: int) -> list[Node]:
    """The siblings outside the longest run whose last code parts ascend (the earlier rows
    kept when runs tie). The parts compare as numbers (1, 2 … 10), as Roman numerals when
    all are (I, II … IX), otherwise as numbers before text."""
    parts = [n.code[cut:] for n in siblings]
    keys: list[tuple[int, int, str]]
    if parts and all(p.isdigit() for p in parts):
        keys = [(0, int(p), "") for p in parts]
    elif parts and all(_ROMAN.fullmatch(p) for p in parts):
        keys = [(0, _roman(p), "") for p in parts]
    else:
        keys = [(0, int(p), "") if p.isdigit() else (1, 0, p.casefold()) for p in parts]
    # Longest ascending run, O(n²): a parent's parts are a few dozen at most.
    length = [1] * len(keys)
    before: list[int | None] = [None] * len(keys)
    for i in range(len(keys)):
        for j in range(i):
            if keys[j] < keys[i] and length[j] + 1 > length[i]:
                length[i], before[i] = length[j] + 1, j
    if not keys:
        return []
    end: int | None = length.index(max(length))
    kept: set[int] = set()
    while end is not None:
        kept.add(end)
        end = before[end]
    return [node for index, node in enumerate(siblings) if index not in kept]


def _leaf_problems(node: Node) -> list[Problem]:
    if not node.method:
        return [Problem(node, "method", _("the scoring method is missing."), "incomplete")]
    if node.method not in Method.values:
        return [
            Problem(
                node,
                "method",
                _("unknown scoring method “%(method)s”; the methods are: %(names)s.")
                % {"method": node.method, "names": ", ".join(str(m.label) for m in Method)},
            )
        ]
    cfg = node.config
    if cfg.get("counts") and cfg["counts"] not in COUNTS:
        return [
            Problem(
                node,
                "settings",
                _("a penalty item counts “%(known)s” or nothing, not “%(counts)s”.")
                % {"known": ", ".join(COUNTS), "counts": cfg["counts"]},
            )
        ]
    if node.method == Method.PERCENTAGE and not cfg.get("thresholds"):
        return [
            Problem(
                node,
                "settings",
                _("give the bands: “≥ rate%: points”, one per line."),
                "incomplete",
            )
        ]
    if node.method == Method.GRADED and not cfg.get("levels"):
        return [
            Problem(
                node,
                "settings",
                _("give the levels: “level: points”, one per line."),
                "incomplete",
            )
        ]
    top = max(
        [Decimal(str(x["points"])) for x in cfg.get("thresholds", []) + cfg.get("levels", [])],
        default=Decimal(0),
    )
    if top > node.max_points:
        return [
            Problem(
                node,
                "settings",
                _("a setting gives %(points)s points, more than the maximum %(max)s.")
                % {"points": fmt(top), "max": fmt(node.max_points)},
            )
        ]
    return []


# --- reading -------------------------------------------------------------------------------


def from_yaml(data: dict[str, Any]) -> Tree:
    """The tree of a YAML set (the shape of the files beside this module). "Not applicable"
    allowed on a node holds for everything under it; bonus and penalty items become the
    leaves of a last area."""

    def node(item: dict[str, Any], na_allowed: bool) -> Node:
        children = item.get("sub") or item.get("criteria") or []
        na = na_allowed or bool(item.get("not_applicable_allowed"))
        method = "" if children else str(item.get("method", ""))
        config: dict[str, Any] = {}
        if not children:
            config = {
                "thresholds": item.get("thresholds", []),
                "levels": item.get("levels", []),
                "per_violation": item.get("per_violation") or per_violation(item.get("rule", "")),
                "rule": item.get("rule", ""),
            }
        return Node(
            code=str(item["code"]),
            title=str(item["title"]),
            max_points=_dec(item.get("max_points", 0)),
            method=method,
            config=canonical_config(method, config) if method in Method.values else config,
            evidence_required=bool(item.get("evidence_required")) and not children,
            not_applicable_allowed=na,
            guidance=str(item.get("guidance", "")),
            data_source=str(item.get("data_source", "")),
            children=[node(child, na) for child in children],
        )

    areas = [node(area, False) for area in data.get("areas") or []]
    bonus = data.get("bonus_penalty") or {}
    if bonus.get("items"):
        items = []
        for item in bonus["items"]:
            method = Method.BONUS if item.get("type") == "bonus" else Method.PENALTY
            each = (
                item.get("points_each") or item.get("points") or per_violation(item.get("rule", ""))
            )
            items.append(
                Node(
                    code=str(item["code"]),
                    title=str(item["title"]),
                    max_points=_dec(
                        bonus.get("bonus_cap" if method == Method.BONUS else "penalty_cap", 0)
                    ),
                    method=method,
                    config=canonical_config(
                        method,
                        {
                            "points_each": each or 0,
                            "rule": item.get("rule", ""),
                            "counts": _counts(method, item),
                        },
                    ),
                    evidence_required=bool(item.get("evidence_required")),
                    guidance=str(item.get("guidance", "")),
                )
            )
        areas.append(
            Node(
                code=str(len(areas) + 1),
                title=BONUS_AREA_TITLE,
                max_points=Decimal(0),
                children=items,
            )
        )
    return Tree(areas)


def _counts(method: str, item: dict[str, Any]) -> str | None:
    """What a YAML penalty item counts: its `counts` key, or else what its rule's words say
    (the sets written before the key, such as the province's sample, name the late-submission
    deduction only as "… điểm/ngày làm việc trễ")."""
    if method != Method.PENALTY:
        return None
    if item.get("counts") is not None:
        return str(item["counts"])
    return LATE_WORKING_DAYS if says_working_days_late(str(item.get("rule", ""))) else ""


def from_framework(framework: Framework) -> Tree:
    """The saved tree of a set (one query)."""
    by_id: dict[int, Node] = {}
    areas: list[Node] = []
    for c in Criterion.objects.filter(framework=framework).order_by("position"):
        node = Node(
            code=c.code,
            title=c.title,
            max_points=c.max_points,
            method=c.method,
            config=c.config or {},
            evidence_required=c.evidence_required,
            not_applicable_allowed=c.not_applicable_allowed,
            guidance=c.guidance,
            data_source=c.data_source,
        )
        by_id[c.pk] = node
        parent = by_id.get(c.parent_id) if c.parent_id else None
        (parent.children if parent is not None else areas).append(node)
    return Tree(areas)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def per_violation(rule: str) -> Decimal | None:
    """The points a deduction rule written as text takes per violation ("trừ 0.5/vi phạm")."""
    match = _STEP.search(rule or "")
    return _dec(match.group(1).replace(",", ".")) if match else None


# --- saving --------------------------------------------------------------------------------


@transaction.atomic
def save(
    tree: Tree,
    *,
    unit_group: UnitGroup,
    cycle: Cycle | None = None,
    code: str,
    title: str,
    version: int = 1,
    derived_from: Framework | None = None,
    decision_number: str = "",
    decision_date: Any = None,
    decision_signer: str = "",
) -> Framework:
    """Store a checked tree as a set: the set, then one insert per level of the tree."""
    framework = Framework.objects.create(
        cycle=cycle,
        unit_group=unit_group,
        code=code,
        title=title,
        version=version,
        derived_from=derived_from,
        decision_number=decision_number,
        decision_date=decision_date,
        decision_signer=decision_signer,
        bonus_cap=tree.cap(Method.BONUS),
        penalty_cap=tree.cap(Method.PENALTY),
    )
    _insert(framework, tree)
    return framework


@transaction.atomic
def replace(framework: Framework, tree: Tree) -> None:
    """Store an edited tree in place of the set's criteria (a set no case is scored against:
    its rows are written anew)."""
    Criterion.objects.filter(framework=framework).delete()
    framework.bonus_cap, framework.penalty_cap = tree.cap(Method.BONUS), tree.cap(Method.PENALTY)
    framework.save(update_fields=["bonus_cap", "penalty_cap"])
    _insert(framework, tree)


def _insert(framework: Framework, tree: Tree) -> None:
    """One INSERT per level of the tree, parents first."""
    saved: dict[int, Criterion] = {}  # id(node) → its row
    levels: dict[int, list[tuple[Node, Node | None, Node, int]]] = {}
    area_of: dict[int, Node] = {}
    for position, (node, parent, depth) in enumerate(tree.walk(), start=1):
        area = node if parent is None else area_of[id(parent)]
        area_of[id(node)] = area
        levels.setdefault(depth, []).append((node, parent, area, position))
    for depth in sorted(levels):
        rows = [
            Criterion(
                framework=framework,
                parent=saved[id(parent)] if parent is not None else None,
                area=saved[id(area)] if parent is not None else None,
                code=node.code,
                title=node.title,
                position=position,
                depth=depth,
                max_points=node.max_points,
                method=node.method if node.is_leaf else "",
                config=node.config if node.is_leaf else {},
                evidence_required=node.evidence_required and node.is_leaf,
                not_applicable_allowed=node.not_applicable_allowed,
                guidance=node.guidance,
                data_source=node.data_source,
                is_leaf=node.is_leaf,
            )
            for node, parent, area, position in levels[depth]
        ]
        created = Criterion.objects.bulk_create(rows)
        if any(c.pk is None for c in created):  # a backend that returns no ids
            ids = dict(
                Criterion.objects.filter(framework=framework, depth=depth).values_list("code", "pk")
            )
            for c in created:
                c.pk = ids[c.code]
        for (node, _p, _a, _pos), row in zip(levels[depth], created, strict=True):
            saved[id(node)] = row


# --- editing -------------------------------------------------------------------------------


class EditError(ValueError):
    """An edit that names a node the tree does not have, or cannot be made."""


def find(tree: Tree, code: str) -> tuple[Node, Node | None]:
    """The node with this code and its parent."""
    for node, parent, _depth in tree.walk():
        if node.code == code:
            return node, parent
    raise EditError(_("The set has no criterion %(code)s.") % {"code": code})


def _siblings(tree: Tree, parent: Node | None) -> list[Node]:
    return parent.children if parent is not None else tree.areas


def renumber(tree: Tree) -> dict[str, str]:
    """Codes follow the order: the areas 1, 2, 3 …, their children 1.1, 1.2 … Only when the
    secretariat asks (an edit keeps the codes in use); returns {old: new} of those changed."""
    changed: dict[str, str] = {}

    def number_children(prefix: str, children: list[Node]) -> None:
        for index, child in enumerate(children, start=1):
            code = f"{prefix}{index}"
            if child.code != code:
                changed[child.code] = code
            child.code = code
            number_children(f"{code}.", child.children)

    number_children("", tree.areas)
    return changed


def _next_code(tree: Tree, parent: Node | None) -> str:
    """The code after the highest one under `parent` in this set and its earlier versions."""
    prefix = f"{parent.code}." if parent is not None else ""
    used = {n.code for n in _siblings(tree, parent)} | tree.retired
    numbers = [
        int(code[len(prefix) :])
        for code in used
        if code.startswith(prefix) and code[len(prefix) :].isdigit()
    ]
    return f"{prefix}{max(numbers, default=0) + 1}"


def _recode(node: Node, code: str) -> None:
    """`node` under its new code, its parts re-prefixed (the code places a row in the tree)."""
    old = node.code
    for part, _p, _d in Tree([node]).walk():
        part.code = code + part.code[len(old) :] if part.code.startswith(old) else part.code


def add(tree: Tree, parent_code: str, node: Node) -> Node:
    """Append `node` under `parent_code` ("" for a new area), coded after the codes in use;
    a leaf that gets a child becomes a parent and loses its method."""
    parent = find(tree, parent_code)[0] if parent_code else None
    if parent is not None and parent.is_leaf:
        parent.method, parent.config, parent.evidence_required = "", {}, False
    node.code = _next_code(tree, parent)
    _siblings(tree, parent).append(node)
    return node


def remove(tree: Tree, code: str) -> Node:
    """Take the node out; the others keep their codes (a gap shows where it was)."""
    node, parent = find(tree, code)
    _siblings(tree, parent).remove(node)
    return node


def move(tree: Tree, code: str, *, step: int = 0, parent_code: str | None = None) -> Node:
    """Move a node `step` places among its siblings (codes kept: the order is shown by the
    rows), or to the end of another parent's children ("" = make it an area), where it
    takes the next code there, its parts with it."""
    node, parent = find(tree, code)
    siblings = _siblings(tree, parent)
    if parent_code is not None:
        target = find(tree, parent_code)[0] if parent_code else None
        if target is node or (
            target is not None and any(n is target for n, _p, _d in Tree([node]).walk())
        ):
            raise EditError(_("A criterion cannot be moved under itself."))
        siblings.remove(node)
        if target is not None and target.is_leaf:
            target.method, target.config, target.evidence_required = "", {}, False
        _recode(node, _next_code(tree, target))
        _siblings(tree, target).append(node)
    else:
        index = siblings.index(node)
        new = min(max(index + step, 0), len(siblings) - 1)
        siblings.insert(new, siblings.pop(index))
    return node
