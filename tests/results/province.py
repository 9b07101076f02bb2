"""A small province whose results are worked out by hand in the tests.

Two unit groups with their own small frameworks (loaded from dicts), 70 self-assessed + 30
survey points each, so that with the usual weights (docs/domain.md) the index is simply achieved / applicable
maximum × 100 and every figure can be checked on paper.

Departments (khoi_so), 100 points:
  area 1 (40): 1.1 manual 20 · 1.2 manual 10 (may be not applicable) · 1.3 survey 10
  area 2 (60): 2.1 manual 30 · 2.2 yes/no 10 · 2.3 survey 20
  area 3: bonus 3.1 (1 point each, capped at 2)
Communes (khoi_xa), 100 points:
  area 1 (50): 1.1 manual 35 · 1.2 survey 15
  area 2 (50): 2.1 manual 35 · 2.2 survey 15
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.utils import timezone

from cases import frameworks
from cases.models import Case, Cycle, Score, Unit, UnitGroup
from cases.permissions import AUDITOR, LEADER, SECRETARIAT, ensure_role_groups
from tests.factories import make_user, seat_support_team
from workflow import cycle_services

AUTHORITY = "UBND tỉnh Thử nghiệm"

FRAMEWORK_SO: dict[str, Any] = {
    "id": "so-test",
    "areas": [
        {
            "code": "1",
            "title": "Chỉ đạo, điều hành",
            "max_points": 40,
            "criteria": [
                {"code": "1.1", "title": "Kế hoạch", "max_points": 20, "method": "manual"},
                {
                    "code": "1.2",
                    "title": "Văn bản xin lỗi",
                    "max_points": 10,
                    "method": "manual",
                    "not_applicable_allowed": True,
                },
                {"code": "1.3", "title": "Đánh giá (XHH)", "max_points": 10, "method": "survey"},
            ],
        },
        {
            "code": "2",
            "title": "Thủ tục hành chính",
            "max_points": 60,
            "criteria": [
                {"code": "2.1", "title": "Hồ sơ đúng hạn", "max_points": 30, "method": "manual"},
                {"code": "2.2", "title": "Công khai TTHC", "max_points": 10, "method": "yes_no"},
                {"code": "2.3", "title": "Hài lòng (XHH)", "max_points": 20, "method": "survey"},
            ],
        },
    ],
    "bonus_penalty": {
        "bonus_cap": 2,
        "penalty_cap": 3,
        "items": [{"code": "3.1", "title": "Sáng kiến", "type": "bonus", "points_each": 1}],
    },
}

FRAMEWORK_XA: dict[str, Any] = {
    "id": "xa-test",
    "areas": [
        {
            "code": "1",
            "title": "Chỉ đạo, điều hành",
            "max_points": 50,
            "criteria": [
                {"code": "1.1", "title": "Kế hoạch", "max_points": 35, "method": "manual"},
                {"code": "1.2", "title": "Đánh giá (XHH)", "max_points": 15, "method": "survey"},
            ],
        },
        {
            "code": "2",
            "title": "Chính quyền số",
            "max_points": 50,
            "criteria": [
                {"code": "2.1", "title": "Văn bản điện tử", "max_points": 35, "method": "manual"},
                {"code": "2.2", "title": "Thuận tiện (XHH)", "max_points": 15, "method": "survey"},
            ],
        },
    ],
}

# unit code → {criterion: (self score, appraised score)}; "na" = not applicable.
SCORES_SO: dict[str, dict[str, Any]] = {
    # 20+10+9+27+10+18 = 94 → 94.00, A
    "S1": {"1.1": (20, 20), "1.2": (10, 10), "1.3": 9, "2.1": (27, 27), "2.2": (10, 10), "2.3": 18},
    # 1.2 not applicable: 18+8+25+10+17 = 78 of 90 → 86.67, B
    "S2": {"1.1": (18, 18), "1.2": "na", "1.3": 8, "2.1": (25, 25), "2.2": (10, 10), "2.3": 17},
    # the same 94 as S1: shares rank 1
    "S3": {"1.1": (20, 20), "1.2": (10, 10), "1.3": 9, "2.1": (28, 27), "2.2": (10, 10), "2.3": 18},
    # 10+5+5+15+0+10 = 45, plus 1 bonus point → 46.00, D; self-scored 20 points too high
    "S4": {
        "1.1": (15, 10),
        "1.2": (5, 5),
        "1.3": 5,
        "2.1": (20, 15),
        "2.2": (10, 0),
        "2.3": 10,
        "3.1": (1, 1),
    },
    # 99, but excluded from the ranking by the leader
    "S5": {
        "1.1": (20, 20),
        "1.2": (10, 10),
        "1.3": 10,
        "2.1": (30, 29),
        "2.2": (10, 10),
        "2.3": 20,
    },
}
SCORES_XA: dict[str, dict[str, Any]] = {
    "X1": {"1.1": (30, 30), "1.2": 12, "2.1": (30, 30), "2.2": 12},  # 84 → B, rank 1
    "X2": {"1.1": (35, 35), "1.2": 15, "2.1": (20, 20), "2.2": 10},  # 80 → B, rank 2
    "X3": {"1.1": (20, 20), "1.2": 10, "2.1": (20, 20), "2.2": 10},  # 60 → C, rank 3
}


def make_cycle(year: int, so: UnitGroup, xa: UnitGroup, *, title: str = "") -> Cycle:
    cycle = Cycle.objects.create(
        year=year,
        title=title or f"Chỉ số CCHC năm {year}",
        authority=AUTHORITY,
        self_assessment_due=date(year + 1, 3, 31),
        appraisal_due=date(year + 1, 5, 10),
    )
    frameworks.load(FRAMEWORK_SO, cycle=cycle, unit_group=so)
    frameworks.load(FRAMEWORK_XA, cycle=cycle, unit_group=xa)
    return cycle


def put_scores(cycle: Cycle, table: dict[str, dict[str, Any]], by: Any) -> None:
    """Test set-up shortcut: write self, appraised and survey scores straight into the rows."""
    now = timezone.now()
    for unit_code, scores in table.items():
        case = Case.objects.get(cycle=cycle, unit__code=unit_code)
        for code, value in scores.items():
            rows = Score.objects.filter(case=case, criterion__code=code)
            if value == "na":
                rows.update(
                    not_applicable=True,
                    not_applicable_reason="Không phát sinh",
                    appraised_round=1,
                    appraised_by=by,
                    appraised_at=now,
                )
            elif isinstance(value, tuple):
                rows.update(
                    self_score=Decimal(value[0]),
                    appraised_score=Decimal(value[1]),
                    appraised_comment="" if value[0] == value[1] else "Điều chỉnh",
                    appraised_round=1,
                    appraised_by=by,
                    appraised_at=now,
                )
            else:  # survey
                rows.update(appraised_score=Decimal(value))


def finalise_all(cycle: Cycle) -> None:
    Case.objects.filter(cycle=cycle).update(state=Case.State.FINALISED, finalised_at=timezone.now())


def build_province() -> SimpleNamespace:
    """Eight units in two groups, one open 2025 cycle with the frameworks above, a user per
    role; no scores yet (`put_scores` writes the table's)."""
    ensure_role_groups()
    so = UnitGroup.objects.create(code="khoi_so", name="Khối sở")
    xa = UnitGroup.objects.create(code="khoi_xa", name="Khối xã, phường")
    p = SimpleNamespace(so=so, xa=xa)
    p.units = {
        code: Unit.objects.create(code=code, name=name, group=group)
        for code, name, group in (
            ("S1", "Sở Tư pháp", so),
            ("S2", "Sở Tài chính", so),
            ("S3", "Sở Y tế", so),
            ("S4", "Sở Xây dựng", so),
            ("S5", "Sở Công Thương", so),
            ("X1", "Xã An Phú", xa),
            ("X2", "Xã Tân Hòa", xa),
            ("X3", "Phường Bắc Sơn", xa),
        )
    }
    p.secretariat = make_user("secretariat", SECRETARIAT)
    p.leader = make_user("leader", LEADER)
    p.auditor = make_user("auditor", AUDITOR)
    p.outsider = make_user("outsider")
    p.staff_s1 = make_user("s1.staff")
    p.appraiser = make_user("appraiser1")
    p.appraiser2 = make_user("appraiser2")
    p.cycle = make_cycle(2025, so, xa)
    cycle_services.add_membership(p.staff_s1, p.units["S1"], "staff", actor=p.secretariat)
    seat_support_team(p.cycle, [p.appraiser, p.appraiser2], actor=p.secretariat)
    cycle_services.assign_appraiser(p.cycle, p.appraiser, "1", actor=p.secretariat)
    cycle_services.assign_appraiser(p.cycle, p.appraiser2, "2", actor=p.secretariat)
    cycle_services.open_cycle(p.cycle.pk, actor=p.secretariat)
    p.cycle.refresh_from_db()
    p.cases = {c.unit.code: c for c in Case.objects.filter(cycle=p.cycle).select_related("unit")}
    return p
