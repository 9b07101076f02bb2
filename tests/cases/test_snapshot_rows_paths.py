"""A case's snapshot is taken of its score rows, read one of three ways: through the model
rows (a page's, or a set the process does not hold yet), alone as plain values once the
process holds the set (a transition), or for a batch of cases (the sweep). The snapshot's
text, and so its hash, must not depend on the way: on PostgreSQL here and on SQLite (the
embedded default, whose decimals come back from the driver otherwise) in a subprocess.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from cases.models import Case, Score
from tests.helpers import not_on_sqlite_already, open_builtin_cycle, pytest_on_sqlite
from workflow import audit


@pytest.fixture
def cases(db: Any) -> list[int]:
    """Three communes of an open cycle, their rows scored with points of one and two
    decimals, notes and not-applicable marks."""
    cycle = open_builtin_cycle({"khoi_xa": 3})
    rng = random.Random(531)
    rows = list(Score.objects.filter(case__cycle=cycle).select_related("criterion"))
    for score in rows:
        points = score.criterion.max_points * Decimal(rng.choice([0, 25, 50, 75, 100])) / 100
        score.self_score = points.quantize(Decimal(rng.choice(["1", "0.1", "0.01"])))
        score.appraised_score = Decimal("1.5") if rng.random() < 0.3 else None
        score.note = rng.choice(["", "Đã rà soát", "Theo báo cáo số 12/BC-UBND"])
        score.not_applicable = score.criterion.not_applicable_allowed and rng.random() < 0.2
    Score.objects.bulk_update(rows, ["self_score", "appraised_score", "note", "not_applicable"])
    return list(Case.objects.filter(cycle=cycle).order_by("pk").values_list("pk", flat=True))


def _loaded(ids: list[int]) -> list[Case]:
    """The cases as the locking query reads them: their cycle and unit loaded with them."""
    return list(Case.objects.filter(pk__in=ids).select_related("cycle", "unit").order_by("pk"))


def test_a_snapshot_is_the_same_text_whichever_way_its_rows_were_read(cases: list[int]) -> None:
    through_models = []
    for case in _loaded(cases):
        case.score_rows()  # as a page or a set not held yet hands them over
        through_models.append(audit.case_snapshot(case).text)
    alone = []
    for case in _loaded(cases):
        alone.append(audit.case_snapshot(case).text)
        assert "_score_rows" not in case.__dict__  # read as plain values: the set is held
    batch = _loaded(cases)
    audit.preload_snapshots(batch)
    in_a_batch = [audit.case_snapshot(case).text for case in batch]

    assert alone == through_models
    assert in_a_batch == through_models
    assert len(set(through_models)) == len(cases)  # not vacuous: the rows differ


@not_on_sqlite_already
def test_a_snapshot_is_the_same_text_whichever_way_its_rows_were_read_on_sqlite() -> None:
    result = pytest_on_sqlite(
        f"{__file__}::test_a_snapshot_is_the_same_text_whichever_way_its_rows_were_read"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout
