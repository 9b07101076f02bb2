"""Dated worlds for the deadline tests: the cycle of `world` gets a self-assessment deadline
of 31/3/2026 and an appraisal deadline of 10/5/2026 (helpers in `tests.deadlines.helpers`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.deadlines.helpers import APPRAISAL_DUE, SELF_DUE, set_cycle


@pytest.fixture
def dated(world: SimpleNamespace) -> SimpleNamespace:
    set_cycle(world.cycle, year=2026, self_assessment_due=SELF_DUE, appraisal_due=APPRAISAL_DUE)
    return world
