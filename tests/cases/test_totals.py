"""Totals and indexes derived from scores, worked out by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from cases import frameworks
from cases.models import Case, Cycle, Score, Unit, UnitGroup
from cases.permissions import ensure_role_groups
from cases.totals import totals_for
from workflow import cycle_services

SMALL = {
    "id": "small",
    "bonus_penalty": {
        "bonus_cap": 2,
        "penalty_cap": 1,
        "items": [
            {"code": "3.1", "title": "Thưởng", "type": "bonus", "points_each": 1.5},
            {"code": "3.2", "title": "Trừ", "type": "penalty", "points": 0.5},
        ],
    },
    "areas": [
        {
            "code": "1",
            "title": "Chỉ đạo",
            "max_points": 10,
            "criteria": [
                {"code": "1.1", "title": "a", "max_points": 4, "method": "manual"},
                {
                    "code": "1.2",
                    "title": "b",
                    "max_points": 3,
                    "method": "manual",
                    "not_applicable_allowed": True,
                },
                {"code": "1.3", "title": "c (XHH)", "max_points": 3, "method": "survey"},
            ],
        },
        {
            "code": "2",
            "title": "Thể chế",
            "max_points": 10,
            "criteria": [
                {"code": "2.1", "title": "d", "max_points": 3, "method": "manual"},
                {"code": "2.2", "title": "e (XHH)", "max_points": 7, "method": "survey"},
            ],
        },
    ],
}


def _case(db: Any, **cycle: Any) -> Case:
    ensure_role_groups()
    sec = User.objects.create_user("s", is_superuser=True)
    group = UnitGroup.objects.create(code="g", name="g")
    Unit.objects.create(code="U", name="U", group=group)
    today = timezone.localdate()
    c = Cycle.objects.create(
        year=2026,
        title="t",
        authority="a",
        self_assessment_due=today,
        appraisal_due=today.replace(year=today.year + 1),
        **cycle,
    )
    frameworks.load(SMALL, cycle=c, unit_group=group)
    cycle_services.open_cycle(c.pk, actor=sec)
    return Case.objects.get()


def _set(case: Case, code: str, **fields: Any) -> None:
    Score.objects.filter(case=case, criterion__code=code).update(**fields)


def test_index_is_achieved_over_applicable_max_with_not_applicable_and_capped_bonus(
    db: Any,
) -> None:
    # Self part max 10 (1.1 + 1.2 + 2.1), survey max 10; weights 10 + 10 = the maxima.
    case = _case(db, self_weight=10, survey_weight=10)
    _set(case, "1.1", self_score=4, appraised_score=3, appraised_round=1)
    _set(case, "1.2", not_applicable=True, not_applicable_reason="x", appraised_round=1)
    _set(case, "2.1", self_score=3, appraised_score=3, appraised_round=1)
    _set(case, "1.3", appraised_score=Decimal("1.5"))
    _set(case, "2.2", appraised_score=7)
    _set(case, "3.1", self_score=3, appraised_score=3)  # two bonuses of 1.5, capped at 2
    _set(case, "3.2", appraised_score=Decimal("0.5"))
    totals = totals_for([case])[case.pk]
    # applicable max = 4 + 3 (self) + 3 + 7 (survey) = 17; achieved = 6 + 8.5 + 2 - 0.5 = 16
    assert totals.index == Decimal("94.12")
    assert totals.appraised_total == Decimal("16")
    assert totals.self_total == Decimal("9")  # 4 + 3 + bonus 2 (capped)
    areas = {a.code: a for a in totals.areas.values()}
    assert areas["1"].applicable_max == 7 and areas["1"].appraised_points == Decimal("4.5")
    assert areas["1"].index == Decimal("64.29")
    assert areas["2"].index == Decimal("100.00")
    assert totals.self_scored == 3 and totals.leaves == 5


def test_weights_rescale_the_parts(db: Any) -> None:
    # Self part (max 10) weighted 70, survey (max 10) weighted 30.
    case = _case(db, self_weight=70, survey_weight=30)
    for code in ("1.1", "1.2", "2.1"):
        _set(case, code, appraised_score=0, appraised_round=1)
    _set(case, "1.1", appraised_score=4)
    _set(case, "1.3", appraised_score=3)
    _set(case, "2.2", appraised_score=7)
    totals = totals_for([case])[case.pk]
    # (4 × 7 + 10 × 3) / (10 × 7 + 10 × 3) × 100 = 58
    assert totals.index == Decimal("58.00")


def test_without_a_survey_part_the_appraised_part_is_rescaled_to_100(db: Any) -> None:
    case = _case(db, self_weight=100, survey_weight=0)
    _set(case, "1.1", appraised_score=4)
    _set(case, "1.2", appraised_score=3)
    _set(case, "2.1", appraised_score=0)
    assert totals_for([case])[case.pk].index == Decimal("70.00")
