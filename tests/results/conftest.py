"""Fixtures of the results tests: the small province of `tests.results.province`, whose
figures are worked out by hand there."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tests.results.province import SCORES_SO, SCORES_XA, build_province, put_scores


@pytest.fixture
def province(db: Any) -> SimpleNamespace:
    return build_province()


@pytest.fixture
def scored(province: SimpleNamespace) -> SimpleNamespace:
    """The province with every score of the hand-worked table in place."""
    put_scores(province.cycle, SCORES_SO, province.appraiser)
    put_scores(province.cycle, SCORES_XA, province.appraiser)
    return province
