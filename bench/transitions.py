"""Throughput of the transition service on PostgreSQL for 1,000 cases (submit, then
start_appraisal) against plain ORM updates of the same rows in the same run.

Target: the full transition (row lock, permission, guards, audit entry with the submit
snapshot, events queued) at no less than 1/4 of the plain-update rate.
"""

from __future__ import annotations

import os

from common import bench_database, commune_province, setup_django, timed

N_CASES = int(os.environ.get("BENCH_CASES", "1000"))


def main() -> None:
    # As in production (docker-compose): e-mail is left to the notifier, not sent in-request.
    os.environ.setdefault("NOTIFY_EMAIL_INLINE_MAX", "0")
    setup_django()

    from cases.models import Case, Score
    from workflow import events, services

    with bench_database():
        secretariat, cycle, units, heads = commune_province(N_CASES, "Bench")
        cases = list(Case.objects.filter(cycle=cycle).select_related("unit").order_by("pk"))
        head_of = {u.pk: h for h, u in zip(heads, units, strict=True)}
        leaves = Score.objects.filter(case=cases[0]).count()

        def plain() -> None:
            for case in cases:
                Case.objects.filter(pk=case.pk).update(state="submitted")
                Case.objects.filter(pk=case.pk).update(state="appraising")

        def reset() -> None:
            Case.objects.filter(cycle=cycle).update(state="self_scoring", submitted_at=None)

        def service() -> None:
            for case in cases:
                services.run_transition(case.pk, "submit", actor=head_of[case.unit_id])
                services.run_transition(case.pk, "start_appraisal", actor=secretariat)

        def core() -> None:
            """The same transitions with the apps above the workflow unsubscribed: what the
            lock, guards, state change and audit entry cost on their own."""
            saved = events._in_transaction[:], events._after_commit[:]
            events._in_transaction.clear()
            events._after_commit.clear()
            try:
                service()
            finally:
                events._in_transaction[:], events._after_commit[:] = saved

        plain()  # warm-up of connections and caches, then measure
        reset()
        baseline = timed(plain)
        reset()
        full = timed(service)
        assert Case.objects.filter(cycle=cycle, state="appraising").count() == N_CASES
        reset()
        bare = timed(core)
        n = 2 * N_CASES
        print(f"cases: {N_CASES}, leaves per case: {leaves}, transitions: {n}")
        print(f"plain ORM updates: {n / baseline:,.0f}/s ({baseline:.2f} s)")
        print(f"transition service, everything: {n / full:,.0f}/s ({full:.2f} s)")
        print(
            f"transition service without notification/evidence subscribers: "
            f"{n / bare:,.0f}/s ({bare:.2f} s)"
        )
        print(
            f"ratio service/plain: {baseline / full:.2f} (target >= 0.25); "
            f"without subscribers: {baseline / bare:.2f}"
        )


if __name__ == "__main__":
    main()
