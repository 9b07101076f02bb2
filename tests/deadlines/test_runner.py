"""The embedded default sweeps in a thread of the web process; the worker loops on its own."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from cases.models import Case
from deadlines import runner
from deadlines.calendar import local_date
from tests.deadlines.helpers import set_cycle

pytestmark = pytest.mark.django_db(transaction=True)


def test_no_sweep_thread_unless_the_settings_ask(world: SimpleNamespace, settings: Any) -> None:
    settings.SWEEP_IN_PROCESS = False
    assert runner.start_in_process_if_enabled() is None


def test_the_in_process_sweep_locks_overdue_cases_and_stops_cleanly(
    world: SimpleNamespace, settings: Any
) -> None:
    yesterday = local_date(timezone.now()) - timedelta(days=1)
    set_cycle(world.cycle, self_assessment_due=yesterday)
    settings.SWEEP_IN_PROCESS = True
    settings.SWEEP_INTERVAL = 0.2
    thread = runner.start_in_process_if_enabled()
    try:
        assert thread is not None and thread.is_alive()
        assert runner.start_in_process_if_enabled() is None  # one per process
        deadline = time.monotonic() + 20
        while Case.objects.filter(is_late=True).count() < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        runner.stop_in_process()
    assert not thread.is_alive()
    assert Case.objects.filter(is_late=True, state=Case.State.SUBMITTED).count() == 2


def test_the_worker_loop_survives_a_failing_pass(
    world: SimpleNamespace, monkeypatch: Any, caplog: Any
) -> None:
    calls: list[int] = []
    stop = threading.Event()
    real_sweep = runner.sweep

    def flaky() -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        stop.set()
        return real_sweep()

    monkeypatch.setattr(runner, "sweep", flaky)
    runner.run_forever(0.01, stop)
    assert len(calls) == 2
    assert "Deadline sweep failed" in caplog.text
