"""Fixtures of the results tests: the small province of `tests.results.province`, whose
figures are worked out by hand there."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests import sharing
from tests.results.province import SCORES_SO, SCORES_XA, build_province, put_scores


@pytest.fixture(scope="module")
def _province_of_the_module(
    request: pytest.FixtureRequest, django_db_blocker: Any
) -> Iterator[SimpleNamespace | None]:
    yield from sharing.once_per_module(request, django_db_blocker, "province", build_province)


@pytest.fixture
def province(_province_of_the_module: SimpleNamespace | None, db: Any) -> SimpleNamespace:
    """Given once to each module where every database test takes it (`tests.sharing`)."""
    if _province_of_the_module is not None:
        return copy.deepcopy(_province_of_the_module)
    return build_province()


@pytest.fixture
def scored(province: SimpleNamespace) -> SimpleNamespace:
    """The province with every score of the hand-worked table in place."""
    put_scores(province.cycle, SCORES_SO, province.appraiser)
    put_scores(province.cycle, SCORES_XA, province.appraiser)
    return province
