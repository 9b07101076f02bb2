"""Results per unit group, worked out by hand on the small province of conftest.py."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from cases.models import Cycle, PublishedResult, RankingExclusion, Unit, UnitGroup, UnitLineage
from results.ranking import UnitResult, assign_ranks, classify, compute_results
from tests.results.province import make_cycle

D = Decimal


def _exclude(p: SimpleNamespace, code: str, reason: str) -> None:
    RankingExclusion.objects.create(
        case=p.cases[code], reason=reason, decided_by=p.leader, decided_at=timezone.now()
    )


def _table(results: Any, group: str) -> list[tuple[Any, ...]]:
    found = next(g for g in results.groups if g.code == group)
    return [(r.rank, r.unit_code, r.index, r.classification) for r in found.ranked]


def test_departments_are_ranked_by_index_with_shared_ranks_and_not_applicable_left_out(
    scored: SimpleNamespace,
) -> None:
    _exclude(scored, "S5", "Cung cấp tài liệu kiểm chứng không trung thực")

    results = compute_results(scored.cycle)

    # S1 and S3 both reach 94/100; S2 has 78 of the 90 points that apply to it (1.2 is not
    # applicable): 86.67; S4 has 45 + 1 bonus point = 46.
    assert _table(results, "khoi_so") == [
        (1, "S1", D("94.00"), "A"),
        (1, "S3", D("94.00"), "A"),
        (3, "S2", D("86.67"), "B"),
        (4, "S4", D("46.00"), "D"),
    ]


def test_communes_are_ranked_on_their_own_framework(scored: SimpleNamespace) -> None:
    results = compute_results(scored.cycle)

    assert [g.code for g in results.groups] == ["khoi_so", "khoi_xa"]
    assert _table(results, "khoi_xa") == [
        (1, "X1", D("84.00"), "B"),
        (2, "X2", D("80.00"), "B"),
        (3, "X3", D("60.00"), "C"),
    ]


def test_excluded_unit_is_listed_apart_with_the_reason_and_takes_no_rank(
    scored: SimpleNamespace,
) -> None:
    _exclude(scored, "S5", "Cung cấp tài liệu kiểm chứng không trung thực")

    so = compute_results(scored.cycle).groups[0]

    assert "S5" not in [r.unit_code for r in so.ranked]
    (s5,) = so.excluded
    assert (s5.unit_code, s5.rank, s5.index, s5.classification) == ("S5", None, D("99.00"), "")
    assert s5.exclusion_reason == "Cung cấp tài liệu kiểm chứng không trung thực"


def test_without_the_exclusion_the_best_unit_ranks_first(scored: SimpleNamespace) -> None:
    assert _table(compute_results(scored.cycle), "khoi_so")[0] == (1, "S5", D("99.00"), "A")


def test_area_component_indexes_leave_out_criteria_not_applicable(
    scored: SimpleNamespace,
) -> None:
    so = compute_results(scored.cycle).groups[0]
    s2 = next(r for r in so.ranked if r.unit_code == "S2")

    assert [a.code for a in so.areas] == ["1", "2"]  # the bonus content is not an area column
    area1, area2 = s2.areas
    # area 1: 18 + 8 of 30 applicable points; area 2: 25 + 10 + 17 of 60
    assert (area1.points, area1.applicable_max, area1.index) == (D(26), D(30), D("86.67"))
    assert (area2.points, area2.applicable_max, area2.index) == (D(52), D(60), D("86.67"))


def test_honesty_signal_counts_points_and_criteria_self_scored_above_appraisal(
    scored: SimpleNamespace,
) -> None:
    rows = {r.unit_code: r for r in compute_results(scored.cycle).groups[0].rows}

    s4 = rows["S4"].honesty
    # 1.1: 15 → 10, 2.1: 20 → 15, 2.2: 10 → 0; 1.2 agreed; bonus and survey not compared
    assert (s4.overclaimed_points, s4.overclaimed, s4.compared) == (D(20), 3, 4)
    assert s4.overclaimed_share == D("0.75")
    # self index: 15+5+20+10 self-assessed + 15 survey + 1 bonus = 66
    assert (s4.self_index, s4.index_gap) == (D("66.00"), D("20.00"))
    s3 = rows["S3"].honesty
    assert (s3.overclaimed_points, s3.overclaimed, s3.overclaimed_share) == (D(1), 1, D("0.25"))
    s2 = rows["S2"].honesty  # the criterion not applicable is not compared
    assert (s2.overclaimed_points, s2.overclaimed, s2.compared) == (D(0), 0, 3)


@pytest.mark.parametrize(
    ("indexes", "ranks"),
    [
        (["94", "94", "86.67", "46"], [1, 1, 3, 4]),
        (["80", "80", "80"], [1, 1, 1]),
        (["70", "60", "60", "60", "50"], [1, 2, 2, 2, 5]),
        (["90.01", "90.00"], [1, 2]),
    ],
)
def test_ties_share_a_rank_and_the_next_rank_skips(indexes: list[str], ranks: list[int]) -> None:
    rows = [
        UnitResult(
            case_id=n,
            unit_id=n,
            unit_code=f"U{n:02}",
            unit_name="",
            state="finalised",
            index=D(value),
            points=D(0),
            applicable_max=D(100),
            bonus=D(0),
            penalty=D(0),
            areas=[],
            honesty=None,  # type: ignore[arg-type]
        )
        for n, value in enumerate(indexes)
    ]
    assert [r.rank for r in assign_ranks(rows)] == ranks


@pytest.mark.parametrize(
    ("index", "group"),
    [
        ("100", "A"),
        ("90", "A"),
        ("89.99", "B"),
        ("70", "B"),
        ("69.99", "C"),
        ("50", "C"),
        ("49.99", "D"),
        ("0", "D"),
    ],
)
def test_classification_follows_the_cycle_thresholds(index: str, group: str) -> None:
    thresholds = Cycle._meta.get_field("group_thresholds").get_default()
    assert classify(D(index), thresholds)[0] == group


def test_a_cycle_with_its_own_bands_and_labels_classifies_by_them(scored: SimpleNamespace) -> None:
    scored.cycle.group_thresholds = [
        {"group": "Xuất sắc", "min": 85, "label": "Xuất sắc"},
        {"group": "Tốt", "min": 60, "label": "Tốt"},
        {"group": "Trung bình", "min": 0},
    ]
    scored.cycle.save(update_fields=["group_thresholds"])

    xa = compute_results(Cycle.objects.get(pk=scored.cycle.pk)).groups[1]

    assert [(r.unit_code, r.classification) for r in xa.ranked] == [
        ("X1", "Tốt"),
        ("X2", "Tốt"),
        ("X3", "Tốt"),
    ]
    assert xa.ranked[0].classification_label == "Tốt"


def _announce(cycle: Cycle, rows: list[tuple[str, str, int | None]]) -> None:
    """Last year's table as it was announced (set-up: rows written directly)."""
    for code, group_code, rank in rows:
        PublishedResult.objects.create(
            cycle=cycle, unit=Unit.objects.get(code=code), group_code=group_code, rank=rank
        )


def test_rank_change_follows_lineage_of_merged_and_renamed_units(
    scored: SimpleNamespace,
) -> None:
    p = scored
    _exclude(p, "S5", "Không trung thực")
    huyen = UnitGroup.objects.create(code="khoi_huyen", name="Khối huyện")
    old = {
        code: Unit.objects.create(code=code, name=code, group=group, is_active=False)
        for code, group in (
            ("XB", p.xa),
            ("XD", p.xa),
            ("XE", p.xa),
            ("XM", p.xa),
            ("H1", huyen),
        )
    }
    previous = make_cycle(2024, p.so, p.xa)
    Cycle.objects.filter(pk=previous.pk).update(status=Cycle.Status.PUBLISHED)
    _announce(
        previous,
        [
            ("S1", "khoi_so", 2),
            ("S2", "khoi_so", 1),
            ("S4", "khoi_so", 3),
            ("X3", "khoi_xa", 1),
            ("XB", "khoi_xa", 2),
            ("XD", "khoi_xa", 4),
            ("XE", "khoi_xa", 5),
            ("H1", "khoi_huyen", 1),
        ],
    )
    links = [
        ("XB", "X1"),  # X1 is the merger of XB (2nd) and XD (4th): best rank, 2nd
        ("XD", "X1"),
        ("XE", "XM"),  # XE was renamed XM, then XM renamed X2 (two steps back)
        ("XM", "X2"),
        ("H1", "X2"),  # a district of another block: its rank does not count for a commune
    ]
    every = {**p.units, **old}
    for before, after in links:
        UnitLineage.objects.create(predecessor=every[before], successor=every[after])
    # A merger decided for next year: X3 is still assessed on its own now and speaks for itself.
    UnitLineage.objects.create(predecessor=p.units["X3"], successor=p.units["X1"])

    results = compute_results(p.cycle)

    rows = {r.unit_code: r for _g, r in results.rows()}
    assert results.previous_cycle == previous
    changes = {
        code: (rows[code].rank, rows[code].previous_rank, rows[code].rank_change)
        for code in ("S1", "S2", "S3", "S4", "X1", "X2", "X3")
    }
    assert changes == {
        "S1": (1, 2, 1),  # up one place
        "S2": (3, 1, -2),  # down two
        "S3": (1, None, None),  # not ranked last year
        "S4": (4, 3, -1),
        "X1": (1, 2, 1),  # best of XB (2) and XD (4)
        "X2": (2, 5, 3),  # XE via XM; H1 (another block) ignored
        "X3": (3, 1, -2),
    }
    assert rows["X1"].previous_units == ["XB", "XD"]
    assert rows["X2"].previous_units == ["XE"]


def test_only_the_latest_published_cycle_of_the_same_authority_is_compared(
    scored: SimpleNamespace,
) -> None:
    p = scored
    older = make_cycle(2023, p.so, p.xa)
    draft = make_cycle(2024, p.so, p.xa)
    other = make_cycle(2024, p.so, p.xa, title="Another authority")
    Cycle.objects.filter(pk=other.pk).update(authority="UBND tỉnh Khác")
    Cycle.objects.filter(pk__in=[older.pk, other.pk]).update(status=Cycle.Status.PUBLISHED)
    _announce(older, [("S1", "khoi_so", 4)])
    _announce(other, [("S1", "khoi_so", 9)])

    results = compute_results(p.cycle)

    assert results.previous_cycle == older  # the 2024 draft was never published
    s1 = next(r for _g, r in results.rows() if r.unit_code == "S1")
    assert (s1.previous_rank, s1.rank, s1.rank_change) == (4, 2, 2)  # S5 (99) is first
    assert draft.status == Cycle.Status.DRAFT


def test_results_take_a_constant_number_of_queries(
    scored: SimpleNamespace, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(9):
        compute_results(scored.cycle)
