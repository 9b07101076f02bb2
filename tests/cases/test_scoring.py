"""Scoring methods, one table each: what a declared figure earns and which points are valid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from cases.errors import InvalidInput
from cases.models import Criterion
from cases.scoring import allowed_points, check_points, points_from_value, resolve_self_score


def leaf(method: str, max_points: str = "2", **config: Any) -> Criterion:
    return Criterion(
        code="9.9",
        title="t",
        method=method,
        max_points=Decimal(max_points),
        config=config,
        is_leaf=True,
    )


THRESHOLDS = [
    {"min": 100, "points": 3.0},
    {"min": 98, "points": 2.5},
    {"min": 95, "points": 2.0},
    {"min": 90, "points": 1.0},
    {"min": 0, "points": 0},
]


@pytest.mark.parametrize(
    ("rate", "points"),
    [("100", "3.0"), ("99.99", "2.5"), ("98", "2.5"), ("95", "2"), ("94.9", "1"), ("0", "0")],
)
def test_percentage_thresholds_give_the_highest_band_reached(rate: str, points: str) -> None:
    criterion = leaf("percentage_threshold", "3", thresholds=THRESHOLDS)
    assert points_from_value(criterion, Decimal(rate)) == Decimal(points)


@pytest.mark.parametrize(
    ("violations", "points"), [(0, "2"), (1, "1.5"), (3, "0.5"), (4, "0"), (10, "0")]
)
def test_deduction_per_violation_stops_at_zero(violations: int, points: str) -> None:
    criterion = leaf("deduction", "2", per_violation="0.5")
    assert points_from_value(criterion, Decimal(violations)) == Decimal(points)


def test_yes_no_gives_all_or_nothing() -> None:
    criterion = leaf("yes_no", "1.5")
    assert points_from_value(criterion, Decimal(1)) == Decimal("1.5")
    assert points_from_value(criterion, Decimal(0)) == 0
    with pytest.raises(InvalidInput):
        check_points(criterion, Decimal("0.5"))


def test_graded_levels_give_the_level_points() -> None:
    criterion = leaf(
        "graded",
        "1",
        levels=[
            {"label": "a", "points": 0},
            {"label": "b", "points": 0.5},
            {"label": "c", "points": 1},
        ],
    )
    assert points_from_value(criterion, Decimal(1)) == Decimal("0.5")
    assert allowed_points(criterion) == [Decimal(0), Decimal("0.5"), Decimal(1)]


def test_bonus_is_capped_at_the_item_maximum() -> None:
    criterion = leaf("bonus", "2", points_each="1.0")
    assert points_from_value(criterion, Decimal(5)) == Decimal(2)


def test_manual_points_accept_any_value_in_range_with_two_decimals() -> None:
    criterion = leaf("manual", "1.5")
    assert check_points(criterion, Decimal("1.25")) == Decimal("1.25")
    with pytest.raises(InvalidInput):
        check_points(criterion, Decimal("1.255"))
    with pytest.raises(InvalidInput):
        check_points(criterion, Decimal("1.51"))


def test_a_figure_and_points_that_disagree_are_refused() -> None:
    criterion = leaf("percentage_threshold", "3", thresholds=THRESHOLDS)
    with pytest.raises(InvalidInput, match="3"):
        resolve_self_score(criterion, points="3", value="96")
    assert resolve_self_score(criterion, value="96") == (Decimal("2.00"), Decimal("96"))


def test_a_vietnamese_decimal_comma_is_understood() -> None:
    assert resolve_self_score(leaf("manual", "2"), points="1,5")[0] == Decimal("1.5")


def test_survey_criteria_are_never_self_scored() -> None:
    with pytest.raises(InvalidInput):
        resolve_self_score(leaf("survey"), points="1")
