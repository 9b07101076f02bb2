"""Deadline-day crunch: 1,000 units submit within a minute against a live server.

uvicorn (the production server, two workers) serves the product on PostgreSQL; 1,000 unit
heads each send their submit twice at once (a double click), from 50 concurrent clients.
Printed: throughput, p50/p95/max latency, statuses, whether it all fitted in one minute,
and the invariants: every case submitted exactly once (one audit entry each, no 5xx, the
duplicate refused with 409) and the audit chain intact. Figures, not asserted times.
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# bench.common, and the apps before this folder's scripts of the same names
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    bench_database,
    commune_province,
    free_port,
    server_env,
    setup_django,
)

N_UNITS = int(os.environ.get("BENCH_UNITS", "1000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "50"))


def main() -> None:
    setup_django()
    import requests
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from cases.models import Case
    from workflow.audit import verify_chain
    from workflow.models import AuditEntry

    with bench_database():
        _secretariat, cycle, units, heads = commune_province(N_UNITS, "Crunch")
        Token.objects.bulk_create([Token(user=h, key=secrets.token_hex(20)) for h in heads])
        token_of = dict(Token.objects.values_list("user_id", "key"))
        head_of = {u.pk: h.pk for h, u in zip(heads, units, strict=True)}
        jobs = [
            (case_id, token_of[head_of[unit_id]])
            for case_id, unit_id in Case.objects.filter(cycle=cycle).values_list("pk", "unit_id")
        ]
        audit_before = AuditEntry.objects.count()

        db = connection.settings_dict
        port = free_port()
        env = server_env(
            f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            DB_POOL_MAX_SIZE="10",
            NOTIFY_EMAIL_INLINE_MAX="0",  # the notifier service sends e-mail in production
        )
        server = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/uvicorn"),
                "config.asgi:application",
                "--host=127.0.0.1",
                f"--port={port}",
                "--workers=2",
                "--log-level=warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    time.sleep(0.1)
            else:
                raise SystemExit("the server did not start")
            local = __import__("threading").local()

            def submit(job: tuple[int, str]) -> tuple[int, float]:
                case_id, token = job
                session = getattr(local, "session", None)
                if session is None:
                    session = local.session = requests.Session()
                started = time.perf_counter()
                response = session.post(
                    f"{base}/api/v1/cases/{case_id}/transitions/submit/",
                    headers={"Authorization": f"Token {token}", "Accept-Language": "en"},
                    timeout=120,
                )
                return response.status_code, time.perf_counter() - started

            requests_sent = [job for job in jobs for _twice in range(2)]  # the double click
            started = time.perf_counter()
            with ThreadPoolExecutor(CLIENTS) as pool:
                results = list(pool.map(submit, requests_sent))
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)

        latencies = sorted(seconds for _status, seconds in results)
        statuses = Counter(status for status, _seconds in results)
        submitted = Case.objects.filter(cycle=cycle, state="submitted").count()
        entries = Counter(
            AuditEntry.objects.filter(action="workflow.case.submit").values_list(
                "case_id", flat=True
            )
        )
        checked, problem = verify_chain()
        print(f"units: {N_UNITS}, requests: {len(results)} (each submit twice), clients: {CLIENTS}")
        print(f"elapsed: {elapsed:.1f} s ({'within' if elapsed <= 60 else 'OVER'} one minute)")
        print(
            f"throughput: {len(results) / elapsed:,.0f} requests/s, "
            f"{submitted / elapsed:,.0f} submits/s"
        )
        print(
            f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {latencies[int(len(latencies) * 0.95) - 1] * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )
        print(f"statuses: {dict(sorted(statuses.items()))}")
        lost = N_UNITS - submitted
        doubled = sum(1 for n in entries.values() if n > 1)
        print(
            f"cases submitted: {submitted}/{N_UNITS}; lost: {lost}; doubled: {doubled}; "
            f"5xx: {sum(n for s, n in statuses.items() if s >= 500)}; "
            f"audit entries written: {AuditEntry.objects.count() - audit_before}"
        )
        print(f"audit chain: {problem or 'intact'} ({checked} entries)")
        if lost or doubled or any(s >= 500 for s in statuses) or problem:
            sys.exit(1)


if __name__ == "__main__":
    main()
