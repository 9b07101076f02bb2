"""Two people run a transition on one case at the same moment, on real PostgreSQL."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection

from cases.errors import DomainError
from cases.models import Case
from tests.factories import build_world
from tests.helpers import fill_self_scores
from workflow import cycle_services, services
from workflow.models import AuditEntry


@pytest.fixture
def committed_world(transactional_db: Any) -> SimpleNamespace:
    w = build_world()
    cycle_services.open_cycle(w.cycle.pk, actor=w.secretariat)
    w.case_a = Case.objects.get(cycle=w.cycle, unit=w.unit_a)
    fill_self_scores(w.case_a)
    return w


def _race(n: int, action: Any) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = action(i)
        except Exception as exc:  # collected and asserted by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_heads_submitting_at_once_make_exactly_one_submission(
    committed_world: SimpleNamespace,
) -> None:
    w = committed_world
    results = _race(2, lambda i: services.run_transition(w.case_a.pk, "submit", actor=w.head_a))
    successes = [r for r in results if isinstance(r, Case)]
    refusals = [r for r in results if isinstance(r, DomainError)]
    assert len(successes) == 1, results
    assert len(refusals) == 1, results
    assert refusals[0].status_code == 409
    assert Case.objects.get(pk=w.case_a.pk).state == "submitted"
    assert AuditEntry.objects.filter(case=w.case_a, action="workflow.case.submit").count() == 1


def test_submit_and_recall_racing_leave_a_consistent_trail(
    committed_world: SimpleNamespace,
) -> None:
    w = committed_world
    services.run_transition(w.case_a.pk, "submit", actor=w.head_a)
    names = ["recall", "start_appraisal"]
    actors = [w.head_a, w.secretariat]
    results = _race(2, lambda i: services.run_transition(w.case_a.pk, names[i], actor=actors[i]))
    assert sum(isinstance(r, Case) for r in results) == 1, results
    state = Case.objects.get(pk=w.case_a.pk).state
    last = AuditEntry.objects.filter(case=w.case_a).latest("pk")
    assert last.target == state
    assert AuditEntry.objects.filter(case=w.case_a, action__startswith="workflow.case").count() == 2
