"""The two ways totals are computed must agree: the SQL fold (`totals_for`, used by lists,
results and rankings) and the in-memory one (`totals_from_scores`, used by the audit
snapshot at submit, finalise and publish). A snapshot that disagreed with the published
ranking would be a scandal, so both run on the real frameworks with random score tables,
on PostgreSQL here and on SQLite (the embedded default) in a subprocess.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from cases.models import Case, Method, Score
from cases.totals import totals_for, totals_from_scores
from tests.helpers import not_on_sqlite_already, open_builtin_cycle, pytest_on_sqlite

CASES_PER_LEVEL = 6


def _random_points(rng: random.Random, maximum: Decimal) -> Decimal | None:
    roll = rng.random()
    if roll < 0.15:
        return None
    if roll < 0.3:
        return maximum
    return (maximum * Decimal(rng.randint(0, 100)) / 100).quantize(Decimal("0.01"))


def _scramble(case: Case, rng: random.Random) -> None:
    """Self and appraised scores, not-applicable marks and survey points at random, including
    bonus and penalty claims above their caps."""
    rows = list(Score.objects.filter(case=case).select_related("criterion"))
    for score in rows:
        criterion = score.criterion
        score.not_applicable = criterion.not_applicable_allowed and rng.random() < 0.2
        score.self_score = _random_points(rng, criterion.max_points)
        score.appraised_score = _random_points(rng, criterion.max_points)
        score.appraised_round = 1 if score.appraised_score is not None else None
        if criterion.method in (Method.BONUS, Method.PENALTY) and rng.random() < 0.5:
            score.self_score = criterion.max_points * 3  # over the cap
    Score.objects.bulk_update(
        rows, ["not_applicable", "self_score", "appraised_score", "appraised_round"]
    )


@pytest.fixture
def province(db: Any) -> list[Case]:
    cycle = open_builtin_cycle({"khoi_so": CASES_PER_LEVEL, "khoi_xa": CASES_PER_LEVEL})
    return list(Case.objects.filter(cycle=cycle).select_related("cycle", "unit").order_by("pk"))


def test_the_sql_fold_and_the_snapshot_give_the_same_totals_for_random_score_tables(
    province: list[Case],
) -> None:
    rng = random.Random(20260331)
    for case in province:
        _scramble(case, rng)
    folded = totals_for(province)
    for case in province:
        in_memory = totals_from_scores(case, case.score_rows()).as_dict()
        assert folded[case.pk].as_dict() == in_memory, f"case {case.unit.code}"
    # Not vacuous: the tables differ from each other and some bonus claims hit the cap.
    indexes = {folded[c.pk].index for c in province}
    assert len(indexes) > len(province) // 2
    assert any(folded[c.pk].bonus_self > 0 for c in province)


@not_on_sqlite_already
def test_the_two_paths_agree_on_sqlite_as_well() -> None:
    """The embedded default runs the same fold on SQLite, whose decimal arithmetic differs."""
    result = pytest_on_sqlite(
        f"{__file__}::test_the_sql_fold_and_the_snapshot_give_the_same_totals_for_random_score_tables"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout
