"""A frozen criteria set never changes, so a process reads its criteria once: the score rows
of every other case scored against it are read alone and given the criteria already held."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import models
from cases.models import Case, Criterion, Cycle, Score, ScoreRow
from tests.helpers import read_alone_with_criteria_held


def loaded(case: Case) -> Case:
    """The case as the locking query reads it: its cycle and unit loaded with it."""
    return Case.objects.select_related("cycle", "unit").get(pk=case.pk)


def facts(score: Score) -> tuple[Any, ...]:
    """A row with its criterion, the criterion's area and set, as a test compares them."""
    criterion = score.criterion
    area = criterion.area.code if criterion.area is not None else None
    return (
        score.pk,
        score.self_score,
        score.note,
        criterion.pk,
        criterion.code,
        criterion.config,
        area,
        criterion.framework.pk,
    )


def as_django_reads(case: Case) -> list[tuple[Any, ...]]:
    """The rows and their criteria as the joined read of Django gives them."""
    return [
        facts(s)
        for s in Score.objects.filter(case=case)
        .select_related("criterion__area", "criterion__framework")
        .order_by("criterion__position")
    ]


def as_read(rows: list[Score]) -> list[tuple[Any, ...]]:
    return [facts(s) for s in rows]


def test_the_second_case_of_a_frozen_set_reads_its_rows_alone_with_the_criteria_held(
    world: SimpleNamespace,
) -> None:
    Score.objects.filter(case=world.case_b).update(note="ghi chú của Sở Tài chính")
    seen = read_alone_with_criteria_held(
        Case.score_rows,
        loaded(world.case_a),
        loaded(world.case_b),
        facts,
        joined='"cases_criterion"."code"',
    )
    assert seen == as_django_reads(world.case_b)


def test_the_first_read_joins_the_criteria_as_before(world: SimpleNamespace) -> None:
    case = loaded(world.case_a)
    with CaptureQueriesContext(connection) as queries:
        seen = as_read(case.score_rows())
    assert len(queries) == 1
    assert '"cases_criterion"."code"' in queries[0]["sql"]
    assert seen == as_django_reads(world.case_a)


def test_a_draft_cycle_s_criteria_are_not_held(world: SimpleNamespace) -> None:
    """A set is frozen once its cycle left its draft: before, it may still be edited."""
    Cycle.objects.filter(pk=world.cycle.pk).update(status=Cycle.Status.DRAFT)
    loaded(world.case_a).score_rows()
    Criterion.objects.filter(framework__cycle=world.cycle).update(config={"levels": []})
    case_b = loaded(world.case_b)
    with CaptureQueriesContext(connection) as queries:
        rows = case_b.score_rows()
    assert '"cases_criterion"."code"' in queries[0]["sql"]
    assert {row.criterion.config["levels"] == [] for row in rows} == {True}


def test_a_case_read_without_its_cycle_and_unit_joins_its_criteria(
    world: SimpleNamespace,
) -> None:
    """Whether the set is frozen is known from the case's own cycle and unit, when loaded."""
    loaded(world.case_a).score_rows()
    case_b = Case.objects.get(pk=world.case_b.pk)
    with CaptureQueriesContext(connection) as queries:
        case_b.score_rows()
    assert len(queries) == 1
    assert '"cases_criterion"."code"' in queries[0]["sql"]


def test_a_row_whose_criterion_is_not_held_is_read_with_its_criteria(
    world: SimpleNamespace,
) -> None:
    loaded(world.case_a).score_rows()
    (key,) = models._FROZEN_CRITERIA
    held = models._FROZEN_CRITERIA[key]
    held.pop(next(iter(held)))  # as if the case had a row the others have not
    case_b = loaded(world.case_b)
    with CaptureQueriesContext(connection) as queries:
        seen = as_read(case_b.score_rows())
    assert len(queries) == 2  # alone, then joined
    assert seen == as_django_reads(world.case_b)


@pytest.mark.django_db
def test_the_process_keeps_a_bounded_number_of_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "_FROZEN_SETS_KEPT", 2)
    models._FROZEN_CRITERIA.update({(1, 1): {}, (2, 1): {}})
    case = SimpleNamespace(pk=0, cycle_id=3, unit=SimpleNamespace(group_id=1))
    monkeypatch.setattr(models, "_frozen_key", lambda _case: (3, 1))
    models._read_score_rows(case)  # type: ignore[arg-type]
    assert list(models._FROZEN_CRITERIA) == [(3, 1)]


def snapshot_facts(row: ScoreRow) -> tuple[Any, ...]:
    return (row.criterion.pk, row.criterion.code, *row[1:])


def test_a_submit_s_guards_and_snapshot_read_the_rows_as_values_with_the_criteria_held(
    world: SimpleNamespace,
) -> None:
    """Once the process holds the set, the rows a transition's guards and snapshot read come
    in one query of plain values, no model row built, the same as read through the models."""
    Score.objects.filter(case=world.case_b).update(note="ghi chú", self_score=Decimal("1.5"))
    held = {row.criterion_id: row.criterion for row in loaded(world.case_a).score_rows()}
    case_b = loaded(world.case_b)
    with CaptureQueriesContext(connection) as queries:
        rows = case_b.snapshot_rows()
        assert case_b.snapshot_rows() is rows  # read once per instance
    assert len(queries) == 1 and '"cases_criterion"."code"' not in queries[0]["sql"]
    assert "_score_rows" not in case_b.__dict__
    assert all(row.criterion is held[row.criterion.pk] for row in rows)
    through_models = loaded(world.case_b)
    through_models.score_rows()
    assert [snapshot_facts(r) for r in rows] == [
        snapshot_facts(r) for r in through_models.snapshot_rows()
    ]
    assert {row.note for row in rows} == {"ghi chú"}


def test_a_case_whose_set_is_not_held_reads_its_rows_through_the_models(
    world: SimpleNamespace,
) -> None:
    case = loaded(world.case_a)
    with CaptureQueriesContext(connection) as queries:
        rows = case.snapshot_rows()
    assert len(queries) == 1 and '"cases_criterion"."code"' in queries[0]["sql"]
    assert [snapshot_facts(r) for r in rows] == [
        (s.criterion_id, s.criterion.code, *(getattr(s, c) for c in models.SCORE_ROW_COLUMNS))
        for s in case.score_rows()
    ]


def batch_facts(case: Case) -> list[tuple[Any, ...]]:
    """The rows a batch's snapshot reads, with their criteria, as a test compares them."""
    rows = []
    for row in case.snapshot_rows():
        criterion = row.criterion
        area = criterion.area.code if criterion.area is not None else None
        rows.append(
            (row.self_score, row.note, criterion.pk, criterion.code, area, criterion.framework.pk)
        )
    return rows


def test_a_sweep_batch_reads_the_criteria_of_a_frozen_set_once_per_process(
    world: SimpleNamespace,
) -> None:
    """The sweep snapshots a batch of cases: its first batch reads the set's criteria with
    the rows, a later batch (or the next sweep) reads the rows alone."""
    Score.objects.filter(case=world.case_b).update(note="ghi chú của Sở Tài chính")
    first = loaded(world.case_a)
    with CaptureQueriesContext(connection) as queries:
        Case.load_snapshot_rows([first])
    assert len(queries) == 2  # the rows, then their criteria
    later = loaded(world.case_b)
    with CaptureQueriesContext(connection) as queries:
        Case.load_snapshot_rows([later])
    assert len(queries) == 1
    assert '"cases_criterion"' not in queries[0]["sql"]
    for case in (first, later):
        assert batch_facts(case) == [
            (row[1], row[2], row[3], row[4], row[6], row[7]) for row in as_django_reads(case)
        ]
    assert batch_facts(later)[0][1] == "ghi chú của Sở Tài chính"


def test_a_sweep_batch_of_a_draft_cycle_reads_its_criteria_each_time(
    world: SimpleNamespace,
) -> None:
    Cycle.objects.filter(pk=world.cycle.pk).update(status=Cycle.Status.DRAFT)
    Case.load_snapshot_rows([loaded(world.case_a)])
    assert not models._FROZEN_CRITERIA
    case_b = loaded(world.case_b)
    with CaptureQueriesContext(connection) as queries:
        Case.load_snapshot_rows([case_b])
    assert len(queries) == 2
