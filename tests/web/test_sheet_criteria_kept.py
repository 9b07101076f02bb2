"""A frozen criteria set never changes: the score sheet reads its tree once per process, and
the sheets of the other cases scored against it read their score rows alone."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from cases.models import Case, Criterion, Cycle, Score
from tests.helpers import read_alone_with_criteria_held
from web.pages.sheet import case_scores
from web.shortcuts import case_page


def loaded(case: Case) -> Case:
    """The case as the pages read it: its cycle, unit and the unit's group with it."""
    return case_page().get(pk=case.pk)


def facts(score: Score) -> tuple[Any, ...]:
    """A row with its criterion and the criterion's headings and set, as a test compares them."""
    criterion = score.criterion
    parent, area = criterion.parent, criterion.area
    return (
        score.pk,
        score.note,
        criterion.code,
        criterion.title,
        parent.code if parent is not None else None,
        area.code if area is not None else None,
        criterion.framework.pk,
    )


def as_django_reads(case: Case) -> list[tuple[Any, ...]]:
    return [
        facts(s)
        for s in Score.objects.filter(case=case)
        .select_related("criterion__parent", "criterion__area", "criterion__framework")
        .order_by("criterion__position")
    ]


def test_the_second_sheet_of_a_frozen_set_reads_its_score_rows_alone(
    world: SimpleNamespace,
) -> None:
    Score.objects.filter(case=world.case_b).update(note="ghi chú của Sở Tài chính")
    seen = read_alone_with_criteria_held(
        case_scores, loaded(world.case_a), loaded(world.case_b), facts, joined='"cases_criterion"'
    )
    assert seen == as_django_reads(world.case_b)


def test_a_draft_cycle_s_tree_is_read_again_for_each_sheet(world: SimpleNamespace) -> None:
    """A set is frozen once its cycle left its draft: before, it may still be edited."""
    Cycle.objects.filter(pk=world.cycle.pk).update(status=Cycle.Status.DRAFT)
    case_scores(loaded(world.case_a))
    Criterion.objects.filter(framework__cycle=world.cycle, code="1.5").update(title="Tiêu chí mới")
    rows = case_scores(loaded(world.case_b))
    assert [s.criterion.title for s in rows if s.criterion.code == "1.5"] == ["Tiêu chí mới"]
    assert [facts(s) for s in rows] == as_django_reads(world.case_b)
