"""Benchmark: one deadline sweep over 10,000 cases in mixed states, then a second one.

Run by `make bench` (PostgreSQL from DATABASE_URL). Creates its own database beside the one
DATABASE_URL names, migrates it, bulk-loads a national-scale year and drops it at the end.

The data: 80 assessment cycles of 125 units each (one case per unit, 10,000 cases), 56 leaf
criteria per case (560,000 score rows), a staff member and a head per unit, two appraisers
per cycle: two past years of a national installation (46 cycles, finished) and the 34
provinces of the current year, each at its own point of the year when the sweep runs:

    40 + 6 cycles   past years: published, or finalised in a still-open cycle
    4 provinces     self-assessment due in 20 days: self-scoring, nothing due yet
    2 provinces     due in 3 days (T-3): 80 % still self-scoring are reminded
    1 province      due today (the morning reminder): 60 % still self-scoring
    1 province      cutoff passed last night: 5 % never submitted (locked now, overdue
                    reminders, a summary to the secretariat); appraisal opens
                    automatically, so every case starts appraisal now
    1 province      the same with a manual appraisal start: 5 % locked now
    8 provinces     cutoff passed last night and no unit submitted: the 1,000 cases fall
                    due at once (locked now, each with its snapshot; overdue reminders)
    8 provinces     submitted, waiting for the secretariat to start appraisal
    6 provinces     appraising, appraisal due in 3 days (T-3 to appraisers); 4 cases each
                    whose answer window closed (expired now), 6 answering by tomorrow (T-1)
    3 provinces     finalised

The baseline is the plain read of those 10,000 cases (`list(Case.objects.all())`) in the
same run. Targets: first sweep ≤ 10× the baseline, the second (which must send nothing)
≤ 2×. The baseline is the best of three reads before and three after the sweeps; each
sweep is timed once, with the process warmed up as a worker is (URLconf loaded).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# As in production (docker-compose): the worker's sweep leaves e-mail to the notifier.
os.environ.setdefault("NOTIFY_EMAIL_INLINE_MAX", "0")

TRIALS = 3
CYCLES = 80
UNITS = 125
AREAS = 8
LEAVES_PER_AREA = 7


def _admin_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench/sweep.py needs PostgreSQL: run it with `make bench`.")
    return url


def _admin(admin_url: str, sql: str) -> None:
    """Run a statement on the database DATABASE_URL names (not on the one benchmarked)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def _use_database(name: str) -> None:
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = name


def main() -> None:
    """Load once into a database of our own; time each trial on a fresh copy of it."""
    admin_url = _admin_url()
    base = f"bench_sweep_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    copies: list[str] = []
    _admin(admin_url, f'CREATE DATABASE "{base}"')
    os.environ["DATABASE_URL"] = urlunsplit(urlsplit(admin_url)._replace(path=f"/{base}"))
    try:
        import django
        from django.core.management import call_command

        from bench.common import as_production
        from deadlines.calendar import VN

        as_production()
        django.setup()
        call_command("migrate", verbosity=0)
        now = datetime.combine(datetime.now(VN).date(), dtime(9, 0), tzinfo=VN)
        started = time.perf_counter()
        load(now)
        print(f"data loaded in {time.perf_counter() - started:.1f} s")
        trials = []
        for n in range(TRIALS):
            copies.append(f"{base}_t{n}")
            _use_database(base)  # no session may stay on a template while it is copied
            _use_database(copies[-1])
            _admin(
                admin_url, f'CREATE DATABASE "{copies[-1]}" TEMPLATE "{base}" STRATEGY FILE_COPY'
            )
            trials.append(trial(now))
        report(trials)
    finally:
        from django.db import connections

        connections.close_all()
        for name in [*copies, base]:
            _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load(now: datetime) -> None:
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction

    from cases.models import (
        AppraiserAssignment,
        Case,
        Criterion,
        Cycle,
        Framework,
        Membership,
        Method,
        Unit,
        UnitGroup,
    )
    from cases.permissions import SECRETARIAT, sync_case_permissions
    from deadlines.calendar import end_of_day
    from workflow.models import Clarification

    today = now.date()
    S = Case.State
    plan = (
        ["published"] * 40
        + ["finalised"] * 6
        + ["far"] * 4
        + ["soon"] * 2
        + ["today"]
        + ["cutoff_auto", "cutoff_manual"]
        + ["cutoff_missed"] * 8
        + ["waiting"] * 8
        + ["appraising"] * 6
        + ["finalised"] * 3
    )
    assert len(plan) == CYCLES
    with transaction.atomic():
        group = UnitGroup.objects.create(code="khoi_so", name="Khối sở")
        secretariat = User.objects.create(username="secretariat.bench", password="!")
        secretariat.groups.add(Group.objects.get(name=SECRETARIAT))
        users = User.objects.bulk_create(
            [
                User(username=f"p{p:02d}u{u:03d}.{role}", password="!")
                for p in range(CYCLES)
                for u in range(UNITS)
                for role in ("staff", "head")
            ]
            + [
                User(username=f"p{p:02d}.appraiser{k}", password="!")
                for p in range(CYCLES)
                for k in (1, 2)
            ],
            batch_size=5000,
        )
        by_name = {u.username: u.pk for u in users}
        units = Unit.objects.bulk_create(
            [
                Unit(code=f"P{p:02d}U{u:03d}", name=f"Đơn vị {u} tỉnh {p}", group=group)
                for p in range(CYCLES)
                for u in range(UNITS)
            ],
            batch_size=5000,
        )
        Membership.objects.bulk_create(
            [
                Membership(user_id=by_name[f"{unit.code.lower()}.{role}"], unit=unit, role=role)
                for unit in units
                for role in ("staff", "head")
            ],
            batch_size=5000,
        )
        cycles = []
        for p, kind in enumerate(plan):
            self_due = {
                "far": today + timedelta(days=20),
                "soon": today + timedelta(days=3),
                "today": today,
                "cutoff_auto": today - timedelta(days=1),
                "cutoff_manual": today - timedelta(days=1),
                "cutoff_missed": today - timedelta(days=1),
                "waiting": today - timedelta(days=10),
                "appraising": today - timedelta(days=40),
            }.get(kind, today - timedelta(days=120 if p < 46 else 60))
            if p < 46:
                self_due -= timedelta(days=365 * (1 + p % 2))
            appraisal_due = (
                today + timedelta(days=3) if kind == "appraising" else self_due + timedelta(days=60)
            )
            cycles.append(
                Cycle(
                    year=self_due.year,
                    title=f"Chỉ số CCHC {self_due.year} – {p}",
                    authority=f"UBND tỉnh {p}",
                    status=Cycle.Status.PUBLISHED if kind == "published" else Cycle.Status.OPEN,
                    self_assessment_due=self_due,
                    appraisal_due=appraisal_due,
                    auto_start_appraisal=kind == "cutoff_auto",
                    opened_at=now - timedelta(days=150),
                )
            )
        cycles = Cycle.objects.bulk_create(cycles)
        frameworks = Framework.objects.bulk_create(
            [Framework(cycle=c, unit_group=group, code=f"f{c.pk}", title=c.title) for c in cycles]
        )
        areas = Criterion.objects.bulk_create(
            [
                Criterion(
                    framework=f, code=str(a), title=f"Lĩnh vực {a}", position=a * 100, max_points=7
                )
                for f in frameworks
                for a in range(1, AREAS + 1)
            ]
        )
        methods = [
            Method.MANUAL,
            Method.YES_NO,
            Method.MANUAL,
            Method.DEDUCTION,
            Method.MANUAL,
            Method.MANUAL,
            Method.SURVEY,
        ]
        Criterion.objects.bulk_create(
            [
                Criterion(
                    framework_id=area.framework_id,
                    parent=area,
                    area=area,
                    code=f"{area.code}.{i}",
                    title=f"Tiêu chí {area.code}.{i}",
                    position=area.position + i,
                    depth=1,
                    max_points=1,
                    method=methods[i - 1],
                    is_leaf=True,
                )
                for area in areas
                for i in range(1, LEAVES_PER_AREA + 1)
            ],
            batch_size=5000,
        )
        appraisers = []
        for p, cycle in enumerate(cycles):
            for k, codes in ((1, range(1, 5)), (2, range(5, AREAS + 1))):
                appraisers += [
                    AppraiserAssignment(
                        cycle=cycle, user_id=by_name[f"p{p:02d}.appraiser{k}"], area_code=str(a)
                    )
                    for a in codes
                ]
        AppraiserAssignment.objects.bulk_create(appraisers)

        cases = []
        for p, kind in enumerate(plan):
            cycle = cycles[p]
            for u in range(UNITS):
                if kind in ("far", "soon", "today"):
                    scoring = {"far": True, "soon": u % 5 != 0, "today": u % 5 < 3}[kind]
                    state = S.SELF_SCORING if scoring else S.SUBMITTED
                elif kind == "cutoff_missed":
                    state = S.SELF_SCORING
                elif kind.startswith("cutoff"):
                    state = S.SELF_SCORING if u % 20 == 0 else S.SUBMITTED
                elif kind == "waiting":
                    state = S.SUBMITTED
                elif kind == "appraising":
                    state = S.EXPLANATION if u < 10 else S.APPRAISING
                else:
                    state = S.PUBLISHED if kind == "published" else S.FINALISED
                cases.append(
                    Case(
                        cycle=cycle,
                        unit=units[p * UNITS + u],
                        state=state,
                        submitted_at=None if state == S.SELF_SCORING else now - timedelta(days=2),
                    )
                )
        cases = Case.objects.bulk_create(cases, batch_size=5000)
        with connection.cursor() as cursor:
            # Every case gets its score rows; self scores where the unit has scored, and
            # appraised scores for half the criteria of cases under appraisal.
            cursor.execute(
                """
                INSERT INTO cases_score (case_id, criterion_id, value, self_score, note,
                    evidence_explanation, not_applicable, not_applicable_reason,
                    not_applicable_decision, appraised_score, appraised_comment,
                    appraised_round, version, updated_at)
                SELECT c.id, cr.id, NULL,
                    CASE WHEN cr.method <> 'survey' THEN 0.5 END, '', '', false, '', '',
                    CASE WHEN c.state IN ('finalised', 'published')
                           OR (c.state IN ('appraising', 'explanation') AND mod(cr.position, 2) = 0)
                         THEN 0.5 END,
                    '',
                    CASE WHEN c.state IN ('finalised', 'published')
                           OR (c.state IN ('appraising', 'explanation') AND mod(cr.position, 2) = 0)
                         THEN 1 END,
                    0, now()
                FROM cases_case c
                JOIN cases_framework f ON f.cycle_id = c.cycle_id
                JOIN cases_criterion cr ON cr.framework_id = f.id AND cr.is_leaf
                """
            )
        questions = []
        for p, kind in enumerate(plan):
            if kind != "appraising":
                continue
            appraiser = by_name[f"p{p:02d}.appraiser1"]
            leaf = Criterion.objects.get(framework=frameworks[p], code="1.1")
            for u in range(10):
                case = cases[p * UNITS + u]
                # Four windows closed last night, six close at the end of tomorrow.
                due = (
                    end_of_day(today - timedelta(days=1))
                    if u < 4
                    else end_of_day(today + timedelta(days=1))
                )
                questions.append(
                    Clarification(
                        case=case,
                        criterion=leaf,
                        round=1,
                        question="Đề nghị giải trình.",
                        asked_by_id=appraiser,
                        asked_at=now - timedelta(days=7),
                        due_at=due,
                    )
                )
        Clarification.objects.bulk_create(questions)
        # The object permissions the services derive from memberships and assignments (a
        # notification reaches only who may see its case): those of the open cycles.
        sync_case_permissions(Case.objects.filter(cycle__status=Cycle.Status.OPEN))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@contextmanager
def _counted() -> Iterator[list[int]]:
    """The statements sent (BEGIN and COMMIT aside), counted as they go, on this thread's
    connection and on those opened meanwhile (the sweep's second, `cases.batches`). Django's
    CaptureQueriesContext keeps the text of each with its values written in, which a worker
    never does: with parameters bound on the server it formats every value of the bulk
    INSERTs, and that would be timed."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    sent: list[int] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append(1)  # one call, safe from two threads at once
        return execute(sql, params, many, context)

    def also(sender: Any, connection: Any, **_kwargs: Any) -> None:
        connection.execute_wrappers.append(count)

    connection_created.connect(also)
    try:
        with connection.execute_wrapper(count):
            yield sent
    finally:
        connection_created.disconnect(also)


def _best(runs: int, work: Callable[[], object]) -> tuple[float, float]:
    """The best elapsed time of `runs` runs, and the best time this process spent on the CPU
    (on a machine others load too, the elapsed time of a long run suffers most)."""
    from bench.common import timed_with_cpu

    best, best_cpu = float("inf"), float("inf")
    for _ in range(runs):
        elapsed, cpu = timed_with_cpu(work)
        best, best_cpu = min(best, elapsed), min(best_cpu, cpu)
    return best, best_cpu


@dataclass
class Trial:
    baseline: float
    baseline_cpu: float
    first: float
    first_cpu: float
    second: float
    first_queries: int
    second_queries: int
    first_report: str
    second_report: str
    notifications: int


def trial(now: datetime) -> Trial:
    """Baseline reads around a first and a second sweep, on a fresh copy of the data."""
    from django.urls import reverse

    from cases.models import Case
    from deadlines.sweep import sweep
    from notifications.models import Notification

    # A worker has its URLconf loaded (the links in notifications) after its first pass; load
    # it here so that the import of the API modules is not timed as sweep work.
    reverse("case-list")
    assert Case.objects.count() == CYCLES * UNITS
    before = _best(3, lambda: list(Case.objects.all()))
    started, cpu = time.perf_counter(), time.process_time()
    with _counted() as first_queries:
        first = sweep(now)
    first_time, first_cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    with _counted() as second_queries:
        second = sweep(now)
    second_time = time.perf_counter() - started
    after = _best(3, lambda: list(Case.objects.all()))
    if second.sent or second.locked or second.expired or second.started:
        sys.exit(f"FAIL: the second sweep did something: {second}")
    return Trial(
        baseline=min(before[0], after[0]),
        baseline_cpu=min(before[1], after[1]),
        first=first_time,
        first_cpu=first_cpu,
        second=second_time,
        first_queries=len(first_queries),
        second_queries=len(second_queries),
        first_report=str(first),
        second_report=str(second),
        notifications=Notification.objects.count(),
    )


def report(trials: list[Trial]) -> None:
    base = min(t.baseline for t in trials)
    first = min(t.first for t in trials)
    second = min(t.second for t in trials)
    last = trials[-1]
    print(f"{CYCLES * UNITS} cases; best of {len(trials)} trials, each on a fresh copy of the data")
    print(f"baseline read of the cases: {base * 1000:8.1f} ms")
    print(
        f"first sweep:                {first * 1000:8.1f} ms  ratio {first / base:5.1f}x "
        f"(target <= 10x), {last.first_queries} statements"
    )
    print(f"  did: {last.first_report}")
    base_cpu = min(t.baseline_cpu for t in trials)
    first_cpu = min(t.first_cpu for t in trials)
    print(
        f"  CPU time of this process: baseline {base_cpu * 1000:.1f} ms, first sweep "
        f"{first_cpu * 1000:.1f} ms, ratio {first_cpu / base_cpu:5.1f}x (the database's work "
        "is not in it; shows how much of the elapsed ratio is the machine's load)"
    )
    print(
        f"second sweep:               {second * 1000:8.1f} ms  ratio {second / base:5.1f}x "
        f"(target <= 2x), {last.second_queries} statements"
    )
    print(f"  did: {last.second_report}")
    print(
        "per trial (baseline / first / second ms): "
        + "; ".join(
            f"{t.baseline * 1000:.0f} / {t.first * 1000:.0f} / {t.second * 1000:.0f}"
            for t in trials
        )
    )


if __name__ == "__main__":
    main()
