"""Drill: the worker is killed with SIGKILL in the middle of a deadline sweep.

Three hundred communes missed yesterday's self-assessment deadline. The worker's command
(`manage.py sweep_deadlines`, a process of its own on the test database, the real clock)
starts locking them; once a third are locked it is killed with SIGKILL (no clean-up of any
kind: an out-of-memory kill, a power cut of the worker's machine). The next run is killed as
soon as it has locked the rest, when it is on to the reminders. Then it runs to the end, and
once more. Afterwards:
- every case was locked exactly once (one audit entry each); a case being locked at a kill
  shows no trace of it (its transaction rolled back);
- each unit's head got the overdue reminder once, the secretariat the late summary once, each
  with its reminder log row (none without the other);
- the last run has nothing left to do; the audit chain verifies.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from bench.common import commune_province
from cases.models import Case, Cycle
from deadlines.calendar import local_date
from deadlines.models import ReminderLog
from deadlines.sweep import KIND_LATE_SUMMARY, KIND_OVERDUE
from notifications.models import Notification
from tests.drills.services import ROOT, production_env
from workflow.audit import verify_chain
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)

UNITS = 300
LOCK = "workflow.case.lock_at_cutoff"


def sweep_command() -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), "sweep_deadlines"]


def locked(cycle: Cycle) -> int:
    return Case.objects.filter(cycle=cycle, state=Case.State.SUBMITTED).count()


def test_a_sweep_killed_midway_is_finished_by_the_next_run_and_nothing_is_done_twice(
    tmp_path: Path,
) -> None:
    secretariat, cycle, units, heads = commune_province(UNITS, "Diễn tập dừng tiến trình")
    Cycle.objects.filter(pk=cycle.pk).update(
        self_assessment_due=local_date(timezone.now())
        - timedelta(days=1)  # the cutoff was last night
    )
    # Batches smaller than the province, so that a kill can land between two of them.
    env = production_env(TRANSITION_BATCH=str(UNITS // 3))

    def kill_when(condition: Callable[[], bool], log: Path) -> float:
        """Start the worker's sweep; SIGKILL it as soon as `condition` holds."""
        started = time.monotonic()
        with log.open("wb") as out:
            worker = subprocess.Popen(sweep_command(), cwd=ROOT, env=env, stdout=out, stderr=out)
        try:
            while not condition():
                assert worker.poll() is None, f"the sweep ended first: {log.read_text()}"
                assert time.monotonic() - started < 120, "the sweep is stuck"
                time.sleep(0.01)
            os.kill(worker.pid, signal.SIGKILL)
        finally:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
        assert worker.returncode == -signal.SIGKILL
        return time.monotonic() - started

    # Killed while locking: some cases locked, most not.
    first = kill_when(lambda: locked(cycle) >= UNITS // 3, tmp_path / "first.log")
    at_first_kill = locked(cycle)
    assert UNITS // 3 <= at_first_kill < UNITS
    # Killed again as soon as it has locked the rest: it is on to the reminders.
    second = kill_when(lambda: locked(cycle) == UNITS, tmp_path / "second.log")
    reminders_at_second_kill = ReminderLog.objects.count()

    reruns = []
    for _ in range(2):
        run_started = time.monotonic()
        done = subprocess.run(
            sweep_command(), cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        reruns.append((done.stdout.strip(), time.monotonic() - run_started))
    print(
        f"\nSweep drill: {UNITS} cases due; first run killed after {first:.1f} s with "
        f"{at_first_kill} locked; second killed after {second:.1f} s with all locked and "
        f"{reminders_at_second_kill} reminders logged; third run ({reruns[0][1]:.1f} s): "
        f"{reruns[0][0]}; fourth ({reruns[1][1]:.1f} s): {reruns[1][0]}"
    )

    # The third run sent what the killed runs left; the fourth found nothing to do.
    expected_sent = UNITS + 1 - reminders_at_second_kill
    assert re.search(rf"\blocked 0, .*; notifications {expected_sent}\b", reruns[0][0]), reruns
    assert re.search(r"\blocked 0, .*\bskipped 0; notifications 0$", reruns[1][0]), reruns
    # Every case locked once, each with one audit entry.
    assert Counter(Case.objects.filter(cycle=cycle).values_list("state", "is_late")) == {
        ("submitted", True): UNITS
    }
    entries = Counter(AuditEntry.objects.filter(action=LOCK).values_list("case_id", flat=True))
    assert entries == Counter(Case.objects.filter(cycle=cycle).values_list("pk", flat=True))
    # Each reminder once per occasion and recipient, and each with its log row.
    overdue = Counter(
        Notification.objects.filter(kind=KIND_OVERDUE).values_list("recipient_id", "case_id")
    )
    head_of_case = {
        case_id: head.pk
        for head, unit in zip(heads, units, strict=True)
        for case_id in Case.objects.filter(unit=unit).values_list("pk", flat=True)
    }
    assert overdue == Counter((head, case) for case, head in head_of_case.items())
    summaries = list(
        Notification.objects.filter(kind=KIND_LATE_SUMMARY).values_list("recipient_id", flat=True)
    )
    assert summaries == [secretariat.pk]
    logged = Counter(ReminderLog.objects.values_list("kind", "recipient_id", "case_id"))
    notified = Counter(
        Notification.objects.filter(kind__in=[KIND_OVERDUE, KIND_LATE_SUMMARY]).values_list(
            "kind", "recipient_id", "case_id"
        )
    )
    assert logged == notified
    checked, problem = verify_chain()
    assert problem == "" and checked == AuditEntry.objects.count()
