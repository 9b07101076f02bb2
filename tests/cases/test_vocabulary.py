"""The questions the models answer once for everyone: which criteria are a case's, which of
them it scores, and how a person is named."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from cases import frameworks
from cases.models import Case, Criterion, Cycle, Framework, Score, Unit, UnitGroup
from cases.users import display_name, display_name_from


def _tree(title: str) -> dict[str, Any]:
    """One area of two scored criteria, the same codes in every set: only the set tells
    them apart."""
    return {
        "id": title,
        "areas": [
            {
                "code": "1",
                "title": title,
                "max_points": 5,
                "criteria": [
                    {"code": "1.1", "title": "a", "max_points": 2, "method": "manual"},
                    {"code": "1.2", "title": "b", "max_points": 3, "method": "manual"},
                ],
            }
        ],
    }


def _cycle(year: int) -> Cycle:
    today = timezone.localdate()
    return Cycle.objects.create(
        year=year,
        title=f"Chỉ số CCHC {year}",
        authority="UBND tỉnh Thử nghiệm",
        self_assessment_due=today,
        appraisal_due=today,
    )


def test_a_case_reads_the_set_of_its_own_cycle_and_unit_group_only(db: Any) -> None:
    departments = UnitGroup.objects.create(code="khoi_so", name="Khối sở")
    communes = UnitGroup.objects.create(code="khoi_xa", name="Khối xã")
    this_year, last_year = _cycle(2026), _cycle(2025)
    own = frameworks.load(_tree("own"), cycle=this_year, unit_group=departments)
    frameworks.load(_tree("communes'"), cycle=this_year, unit_group=communes)
    frameworks.load(_tree("last year's"), cycle=last_year, unit_group=departments)
    case = Case.objects.create(
        cycle=this_year, unit=Unit.objects.create(code="STP", name="Sở Tư pháp", group=departments)
    )

    tree = Criterion.objects.of_case(case)
    leaves = Criterion.objects.leaves_of(case)

    assert sorted(tree.values_list("code", flat=True)) == ["1", "1.1", "1.2"]
    assert sorted(leaves.values_list("code", flat=True)) == ["1.1", "1.2"]
    assert set(tree.values_list("framework", flat=True)) == {own.pk}
    assert Framework.objects.count() == 3


def test_a_score_row_is_found_by_its_leaf_code_and_an_area_code_finds_none(db: Any) -> None:
    departments = UnitGroup.objects.create(code="khoi_so", name="Khối sở")
    cycle = _cycle(2026)
    frameworks.load(_tree("own"), cycle=cycle, unit_group=departments)
    unit = Unit.objects.create(code="STP", name="Sở Tư pháp", group=departments)
    case = Case.objects.create(cycle=cycle, unit=unit)
    for criterion in Criterion.objects.of_case(case):  # rows for the area too: only a leaf counts
        Score.objects.create(case=case, criterion=criterion)

    assert Score.objects.of_leaf(case, "1.2").get().criterion.title == "b"
    assert not Score.objects.of_leaf(case, "1").exists()
    assert not Score.objects.of_leaf(case, "9.9").exists()


def test_a_person_is_named_by_full_name_else_by_username_from_a_user_or_its_columns() -> None:
    named = User(username="an.nv", first_name="Nguyễn Văn", last_name="An")
    only_last = User(username="binh", last_name="Bình")
    unnamed = User(username="stp.staff")

    assert display_name(named) == "Nguyễn Văn An"
    assert display_name(only_last) == "Bình"
    assert display_name(unnamed) == "stp.staff"
    for user in (named, only_last, unnamed):
        assert display_name_from(user.first_name, user.last_name, user.username) == (
            display_name(user)
        )
        assert display_name(user) == (user.get_full_name() or user.username)
