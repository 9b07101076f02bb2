"""Throughput of the transition service on PostgreSQL for 1,000 cases (submit, then
start_appraisal) against plain ORM updates of the same rows in the same run; then score saves
by 1 client and by 50 clients on 50 different cases at once.

Targets: the full transition (row lock, permission, guards, audit entry with the submit
snapshot, inbox rows and deliveries, push after commit) at no less than 0.10 of the
plain-update rate (the Word report of each sending is the worker's, timed apart); a score
save by 50 clients at once no slower per write than by one client, within 2x (the audit
chains are per case: writers of different cases do not wait for each other).

Both sides commit as production's PostgreSQL does (`make bench` starts it with its durable
defaults): each transaction waits for its WAL to reach the disk, which a one-statement update
pays as much as a transition. Each round is measured again with the commits not awaited
(`synchronous_commit` off for this connection): the work alone, as on the tests' server,
which runs without fsync.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

# bench.common, and the apps
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CpuMeter,
    add_cpu,
    bench_database,
    commune_province,
    database_tree,
    setup_django,
    spent_cpu,
    timed,
)

N_CASES = int(os.environ.get("BENCH_CASES", "1000"))
# Cases per round of the plain updates and the service measured side by side.
ROUND = int(os.environ.get("BENCH_ROUND", "200"))
WARM_UP = 20


def main() -> None:
    # As in production (docker-compose): e-mail is left to the notifier, not sent in-request.
    os.environ.setdefault("NOTIFY_EMAIL_INLINE_MAX", "0")
    setup_django()

    from cases.models import Case, Score
    from results.models import SubmittedReport
    from results.services import keep_missing_reports
    from workflow import events, services

    with bench_database():
        secretariat, cycle, units, heads = commune_province(N_CASES, "Bench")
        cases = list(Case.objects.filter(cycle=cycle).select_related("unit").order_by("pk"))
        head_of = {u.pk: h for h, u in zip(heads, units, strict=True)}
        leaves = Score.objects.filter(case=cases[0]).count()

        def plain(chunk: list[Any]) -> None:
            for case in chunk:
                Case.objects.filter(pk=case.pk).update(state="submitted")
                Case.objects.filter(pk=case.pk).update(state="appraising")

        def reset(chunk: list[Any]) -> None:
            Case.objects.filter(pk__in=[case.pk for case in chunk]).update(
                state="self_scoring", submitted_at=None
            )

        def service(chunk: list[Any]) -> None:
            for case in chunk:
                services.run_transition(case.pk, "submit", actor=head_of[case.unit_id])
                services.run_transition(case.pk, "start_appraisal", actor=secretariat)

        def core(chunk: list[Any]) -> None:
            """The same transitions with the apps above the workflow unsubscribed: what the
            lock, guards, state change and audit entry cost on their own."""
            saved = events._in_transaction[:], events._after_commit[:]
            events._in_transaction.clear()
            events._after_commit.clear()
            try:
                service(chunk)
            finally:
                events._in_transaction[:], events._after_commit[:] = saved

        # Warm-up of connections, caches and prepared statements, as a running worker is
        # warm: the plain updates on every case, the service on a few; then measure.
        plain(cases)
        reset(cases)
        service(cases[:WARM_UP])
        reset(cases[:WARM_UP])
        # In rounds, each on a slice of the cases: the plain updates, then the service, one
        # after the other, so that both meet the same moments of a shared machine. One short
        # baseline before one long run of the service gave from 0.08 to 0.12 on the same code.
        slices = [cases[i : i + ROUND] for i in range(0, N_CASES, ROUND)]
        durable = commits_durable()
        production, quick = _Rounds(), _Rounds()
        # The CPU each takes here and in the database: the work itself, beside the time.
        meter = CpuMeter(database_tree(), this="process")
        baseline_cpu: dict[str, float] = {}
        full_cpu: dict[str, float] = {}
        for chunk in slices:
            at = meter.read()
            plain_s = timed(partial(plain, chunk))
            add_cpu(baseline_cpu, spent_cpu(at, meter.read()))
            reset(chunk)
            at = meter.read()
            full_s = timed(partial(service, chunk))
            add_cpu(full_cpu, spent_cpu(at, meter.read()))
            production.add(plain_s, full_s)
            # The same slice with the commits not awaited: the work alone.
            reset(chunk)
            with commits_not_awaited():
                plain_s = timed(partial(plain, chunk))
                reset(chunk)
                quick.add(plain_s, timed(partial(service, chunk)))
        assert Case.objects.filter(cycle=cycle, state="appraising").count() == N_CASES
        # What the worker does after the sendings: write and keep each unit's report.
        kept_in = timed(lambda: keep_missing_reports(limit=N_CASES))
        assert SubmittedReport.objects.filter(case__cycle=cycle).count() == N_CASES
        reset(cases)
        bare = timed(partial(core, cases))
        n = 2 * N_CASES
        print(f"cases: {N_CASES}, leaves per case: {leaves}, transitions: {n}")
        baseline, full = production.plain, production.service
        print(f"plain ORM updates: {n / baseline:,.0f}/s ({baseline:.2f} s)")
        print(f"transition service, everything: {n / full:,.0f}/s ({full:.2f} s)")
        print(f"the worker keeping the {N_CASES} reports sent: {N_CASES / kept_in:,.0f}/s")
        print(
            f"transition service without notification/evidence subscribers: "
            f"{n / bare:,.0f}/s ({bare:.2f} s)"
        )
        commits = (
            "durable, as production"
            if durable
            else "NOT durable (this server does not flush each commit; `make bench` starts one that does)"
        )
        print(
            f"ratio service/plain, commits {commits}: {production.ratio():.3f} (target >= 0.10; "
            f"in rounds of {ROUND} cases: {production.each()}); without subscribers: "
            f"{baseline / bare:.2f}"
        )
        print(cpu_line(baseline_cpu, full_cpu, n))
        print(
            f"ratio service/plain, commits not awaited (the work alone): {quick.ratio():.3f} "
            f"(plain {n / quick.plain:,.0f}/s, service {n / quick.service:,.0f}/s; in rounds: "
            f"{quick.each()})"
        )
        concurrent_saves(cases, head_of)


def commits_durable() -> bool:
    """Whether this PostgreSQL flushes each commit to the disk before answering, as
    production's does (its defaults; `make bench` starts it so)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('fsync') = 'on' AND current_setting('synchronous_commit') <> 'off'"
        )
        return bool(cursor.fetchone()[0])


@contextlib.contextmanager
def commits_not_awaited() -> Iterator[None]:
    """Commits of this connection answered before their WAL reaches the disk."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


@dataclass
class _Rounds:
    """Seconds of the plain updates and of the service, summed over rounds."""

    plain: float = 0.0
    service: float = 0.0
    rounds: list[float] = field(default_factory=list)

    def add(self, plain_s: float, service_s: float) -> None:
        self.plain += plain_s
        self.service += service_s
        self.rounds.append(plain_s / service_s)

    def ratio(self) -> float:
        return self.plain / self.service

    def each(self) -> str:
        return ", ".join(f"{r:.3f}" for r in self.rounds)


def cpu_line(plain: dict[str, float], service: dict[str, float], n: int) -> str:
    """The CPU per transition of this process and of the database (what /proc lets read),
    and the ratio of their sums: what the work costs, without the time spent waiting for a
    core. A slow stretch of the machine still shows in it, as more CPU for the same work."""
    parts = ", ".join(
        f"{name} {plain[name] / n * 1000:.3f} / {service[name] / n * 1000:.3f} ms"
        for name in service
    )
    return (
        f"  CPU per transition, plain / service: {parts}; ratio of the whole "
        f"{sum(plain.values()) / sum(service.values()):.3f}"
    )


SAVES_PER_CLIENT = int(os.environ.get("BENCH_SAVES", "20"))
CLIENTS = 50


def concurrent_saves(cases: list[Any], head_of: dict[int, Any]) -> None:
    """Score saves through the service: one client alone, then 50 on 50 cases at once."""
    from django.db import connections

    from cases.models import Case, Method, Score
    from workflow import services

    Case.objects.filter(pk__in=[c.pk for c in cases]).update(state="self_scoring")
    codes = list(
        Score.objects.filter(case=cases[0])
        .exclude(criterion__method__in=[Method.SURVEY, Method.BONUS, Method.PENALTY])
        .values_list("criterion__code", flat=True)[:SAVES_PER_CLIENT]
    )

    def client(case: Any, errors: list[BaseException]) -> None:
        try:
            for i, code in enumerate(codes):
                services.set_self_score(
                    case.pk,
                    code,
                    actor=head_of[case.unit_id],
                    change=services.SelfScoreChange(note=f"lần {i}"),
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    errors: list[BaseException] = []
    start = time.perf_counter()
    client(cases[0], errors)
    alone = (time.perf_counter() - start) / len(codes)
    threads = [
        threading.Thread(target=client, args=(case, errors)) for case in cases[1 : CLIENTS + 1]
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    together = (time.perf_counter() - start) / (len(codes) * CLIENTS)
    assert not errors, errors[:3]
    print(
        f"score saves: 1 client {alone * 1000:.1f} ms per write; {CLIENTS} clients on "
        f"{CLIENTS} cases {together * 1000:.1f} ms per write (elapsed / writes); "
        f"ratio {together / alone:.2f} (target <= 2)"
    )


if __name__ == "__main__":
    main()
