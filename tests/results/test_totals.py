"""The aggregate totals agree with a plain sum over the score rows, for a framework with
every scoring method, criteria not applicable, survey, bonus and penalty points."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

from cases.models import Case, Framework, Score
from cases.totals import totals_for, totals_for_cycle

D = Decimal
OTHER = ("survey", "bonus", "penalty")


def _scramble(case: Case, seed: int) -> None:
    """Random but valid-looking scores: some not applicable, some never appraised."""
    rng = random.Random(seed)
    for score in Score.objects.filter(case=case).select_related("criterion"):
        top = int(score.criterion.max_points * 4) or 8  # bonus/penalty leaves: up to 2 points
        score.not_applicable = score.criterion.not_applicable_allowed and rng.random() < 0.3
        score.self_score = (
            None if score.criterion.method == "survey" else D(rng.randint(0, top)) / 4
        )
        score.appraised_score = None if rng.random() < 0.1 else D(rng.randint(0, top)) / 4
        score.appraised_round = 1 if score.appraised_score is not None else None
        score.save()


def _expected(case: Case) -> dict[str, Any]:
    """The documented formula, summed leaf by leaf in Python."""
    rows = list(Score.objects.filter(case=case).select_related("criterion"))
    framework = Framework.objects.get(cycle=case.cycle, unit_group=case.unit.group)
    part = {"self": [D(0)] * 4, "survey": [D(0)] * 4}  # max, applicable max, self, appraised
    bonus = [D(0)] * 4
    overclaimed_points, overclaimed, compared = D(0), 0, 0
    for s in rows:
        method, top = s.criterion.method, s.criterion.max_points
        applicable = not s.not_applicable
        self_pts = (s.self_score or 0) if applicable else 0
        appr_pts = (s.appraised_score or 0) if applicable else 0
        if method in ("bonus", "penalty"):
            k = 0 if method == "bonus" else 2
            bonus[k] += self_pts
            bonus[k + 1] += appr_pts
            continue
        p = part["survey" if method == "survey" else "self"]
        p[0] += top
        p[1] += top if applicable else 0
        p[2] += self_pts
        p[3] += appr_pts
        claimed, appraised = s.self_score, s.appraised_score
        if method != "survey" and applicable and claimed is not None and appraised is not None:
            compared += 1
            if claimed > appraised:
                overclaimed_points += claimed - appraised
                overclaimed += 1
    ks = case.cycle.self_weight / part["self"][0]
    kv = case.cycle.survey_weight / part["survey"][0]
    b = min(bonus[1], framework.bonus_cap) - min(bonus[3], framework.penalty_cap)
    index = (
        (part["self"][3] * ks + part["survey"][3] * kv + b)
        / (part["self"][1] * ks + part["survey"][1] * kv)
        * 100
    )
    index = min(D(100), max(D(0), index)).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    return {
        "index": index,
        "appraised_total": part["self"][3] + part["survey"][3] + b,
        "applicable_max": part["self"][1] + part["survey"][1],
        "over": (overclaimed_points, overclaimed, compared),
    }


def _actual(totals: Any) -> dict[str, Any]:
    return {
        "index": totals.index,
        "appraised_total": totals.appraised_total,
        "applicable_max": totals.self_part.applicable_max + totals.survey_part.applicable_max,
        "over": (totals.overclaimed_points, totals.overclaimed, totals.compared),
    }


def test_totals_agree_with_a_leaf_by_leaf_sum(world: SimpleNamespace) -> None:
    _scramble(world.case_a, 1)
    _scramble(world.case_b, 2)
    cases = list(Case.objects.filter(cycle=world.cycle).select_related("cycle", "unit"))

    by_case = totals_for(cases)
    by_cycle = totals_for_cycle(world.cycle)

    for case in cases:
        expected = _expected(case)
        assert _actual(by_case[case.pk]) == expected
        assert _actual(by_cycle[case.pk]) == expected
        assert by_case[case.pk].as_dict() == by_cycle[case.pk].as_dict()
        areas = by_case[case.pk].areas.values()
        assert [a.code for a in areas] == [str(n) for n in range(1, 9)]
        assert sum(a.applicable_max for a in areas) == expected["applicable_max"]


def test_totals_take_three_queries_whatever_the_number_of_cases(
    world: SimpleNamespace, django_assert_num_queries: Any
) -> None:
    cases = list(Case.objects.filter(cycle=world.cycle).select_related("cycle", "unit"))
    with django_assert_num_queries(3):
        totals_for(cases)
    with django_assert_num_queries(4):
        totals_for_cycle(world.cycle)
