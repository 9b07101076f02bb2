"""Which codes of a criteria set stand out of order: one rule for the editor, the import
preview and the API. A notice, never a refusal: edits keep the codes in use until the
secretariat renumbers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from cases import frameworks
from cases.frameworks import tree
from cases.frameworks.tree import Node, Tree


def n(code: str, *children: Node) -> Node:
    return Node(code, f"Nội dung {code}", Decimal(0), children=list(children))


def named(built: Tree) -> list[tuple[str, str]]:
    with translation.override("en"):
        return [(p.node.code, p.message) for p in tree.codes_out_of_order(built) if p.node]


@pytest.mark.parametrize("level", sorted(frameworks.BUILTIN))
def test_the_shipped_sets_are_in_order(level: str) -> None:
    built = tree.from_yaml(frameworks.read(frameworks.BUILTIN[level]))
    assert named(built) == []


def test_a_part_above_the_one_its_code_follows_is_named() -> None:
    built = Tree([n("1", n("1.2"), n("1.1"), n("1.3"))])
    assert named(built) == [
        ("1.1", "its code is out of order among the parts of 1 (shown: 1.2, 1.1, 1.3).")
    ]


def test_of_rows_out_of_order_the_fewest_are_named() -> None:
    """1.4 moved to the top: 1.4 is out of place, not the three that follow it."""
    moved_up = Tree([n("1", n("1.4"), n("1.1"), n("1.2"), n("1.3"))])
    assert [code for code, _m in named(moved_up)] == ["1.4"]
    moved_down = Tree([n("1", n("1.2"), n("1.3"), n("1.4"), n("1.1"))])
    assert [code for code, _m in named(moved_down)] == ["1.1"]


def test_gaps_left_by_removed_criteria_are_in_order() -> None:
    assert named(Tree([n("1", n("1.1"), n("1.3"), n("1.10")), n("3"), n("12")])) == []


def test_areas_out_of_order_are_named() -> None:
    assert named(Tree([n("1"), n("3"), n("2")])) == [
        ("2", "its code is out of order among the areas (shown: 1, 3, 2).")
    ]


def test_a_code_that_does_not_follow_from_its_parent_is_named() -> None:
    built = Tree(
        [
            n("1", n("1.1", n("1.2.1")), n("1.2.1.1")),
            n("2.1"),
        ]
    )
    assert named(built) == [
        ("1.2.1", "it is a part of 1.1, but its code is not 1.1.x."),
        ("1.2.1.1", "it is a part of 1, but its code is not 1.x."),
        ("2.1", "it is an area, but its code has more than one part."),
    ]


def test_roman_numerals_and_letters_are_read_as_a_province_writes_them() -> None:
    in_order = Tree([n("I"), n("II"), n("IV"), n("V"), n("IX"), n("X")])
    assert named(in_order) == []
    letters = Tree([n("1", n("1.a"), n("1.c"), n("1.b"))])
    assert [code for code, _m in named(letters)] == ["1.b"]
    assert [code for code, _m in named(Tree([n("IX"), n("V")]))] == ["V"]


def test_the_notice_is_in_vietnamese_by_default() -> None:
    built = Tree([n("1", n("1.2"), n("1.1"))])
    with translation.override("vi"):
        (problem,) = tree.codes_out_of_order(built)
    assert (
        problem.message
        == "mã không theo thứ tự giữa các mục con của 1 (thứ tự đang hiển thị: 1.2, 1.1)."
    )
    assert problem.kind == "order" and problem.column == "code"


def test_a_set_out_of_order_is_still_a_set_that_can_be_saved_and_scored() -> None:
    built = tree.from_yaml(frameworks.read(frameworks.BUILTIN["khoi_so"]))
    built.areas[0].children.reverse()
    assert tree.codes_out_of_order(built) != []
    assert tree.problems(built) == []
