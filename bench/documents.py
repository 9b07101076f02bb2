"""Benchmark: the appraisal report and the results annex for 3,500 units × 100 criteria.

Each document is timed against writing the same rows to a plain `.xlsx` with openpyxl
(`Workbook().append`, then `save`) in the same run, from the same data: the ranking
(`compute_results`, timed apart and shared by both) and, for the appraisal report, the same
queries (per-area parts, adjustments, explanation rounds). Each measurement runs in a forked
child process, so that its peak memory (the child's VmHWM less its resident size at the
start) is its own. Targets: within 3× the openpyxl baseline, memory growth under 256 MB.

The data are bench/results.py's: 3,500 communes, 100 leaf criteria each, random self and
appraised scores, a previous published cycle with mergers. Needs PostgreSQL (`make bench`).
"""

from __future__ import annotations

import io
import os
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import results as data  # noqa: E402  (the populated province of the results bench)

TIME_TARGET = 3.0
MEMORY_TARGET_MB = 256


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _measure(fn: Callable[[], bytes]) -> tuple[float, float, int]:
    """(seconds, peak memory growth in MB, bytes written) of `fn` in a forked child."""
    from django.db import connections

    connections.close_all()  # the child opens its own connection
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        start_rss = _rss_kb("VmRSS")
        start = time.perf_counter()
        size = len(fn())
        seconds = time.perf_counter() - start
        growth = (_rss_kb("VmHWM") - start_rss) / 1024
        os.write(write, f"{seconds} {growth} {size}".encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    took, grew, made = answer.split()
    return float(took), float(grew), int(made)


def _plain_xlsx(rows: list[list[Any]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def main() -> int:
    admin_url, bench_url, name = data._database_urls()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(DATABASE_URL=bench_url, DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.utils import translation

        from cases.models import Case, Cycle
        from results import documents
        from results.ranking import compute_results

        translation.activate("vi")
        call_command("migrate", verbosity=0)
        t0 = time.perf_counter()
        cycle, _loaded = data._populate()
        Case.objects.filter(cycle=cycle).update(state=Case.State.FINALISED)
        cycle = Cycle.objects.get(pk=cycle.pk)
        print(
            f"data: {data.CASES} units × 100 leaf criteria "
            f"(set-up {time.perf_counter() - t0:.1f} s)"
        )
        start = time.perf_counter()
        results = compute_results(cycle)
        ranking_s = time.perf_counter() - start
        print(f"compute_results (shared by every document and baseline): {ranking_s:.2f} s")

        def report_rows() -> list[list[Any]]:
            parts = documents._area_parts(cycle)
            adjustments = documents._adjustments(cycle)
            changes = documents._round_changes(cycle)
            rows: list[list[Any]] = []
            for _group, row in results.rows():
                for area in row.areas:
                    own, appraised, survey = parts.get((row.case_id, area.code), (0, 0, 0))
                    rows.append(
                        [
                            row.unit_name,
                            area.code,
                            area.title,
                            area.applicable_max,
                            own,
                            appraised,
                            appraised - own,
                            survey,
                        ]
                    )
                for a in adjustments.get(row.case_id, []):
                    rows.append(
                        [row.unit_name, a.code, a.title, a.self_score, a.appraised, a.comment]
                    )
                if changes.get(row.case_id):
                    rows.append([row.unit_name, "; ".join(changes[row.case_id])])
            for group in results.groups:
                rows += [documents._ranking_line(r) for r in group.ranked]
            return rows

        def annex_rows() -> list[list[Any]]:
            return [
                documents._annex_line(group, row)
                for group in results.groups
                for row in group.ranked
            ] + [[r.unit_name, r.exclusion_reason] for g in results.groups for r in g.excluded]

        runs = {
            "appraisal report (.docx)": lambda: documents.appraisal_report(cycle, results=results),
            "  baseline: same rows, plain openpyxl": lambda: _plain_xlsx(report_rows()),
            "results annex (.docx)": lambda: documents.results_annex_docx(results),
            "results annex (.xlsx, print set-up)": lambda: documents.results_annex_xlsx(results),
            "  baseline: same rows, plain openpyxl ": lambda: _plain_xlsx(annex_rows()),
        }
        figures = {label: _measure(fn) for label, fn in runs.items()}
        for label, (seconds, growth, size) in figures.items():
            print(f"{label}: {seconds:.2f} s, peak memory +{growth:.0f} MB, {size / 1e6:.1f} MB")
        failed = False
        for document, baseline in (
            ("appraisal report (.docx)", "  baseline: same rows, plain openpyxl"),
            ("results annex (.docx)", "  baseline: same rows, plain openpyxl "),
            ("results annex (.xlsx, print set-up)", "  baseline: same rows, plain openpyxl "),
        ):
            ratio = figures[document][0] / figures[baseline][0]
            growth = figures[document][1]
            met = ratio <= TIME_TARGET and growth < MEMORY_TARGET_MB
            failed |= not met
            print(
                f"{document.strip()}: {ratio:.2f}× the openpyxl baseline "
                f"(target ≤ {TIME_TARGET:.0f}×), memory +{growth:.0f} MB "
                f"(target < {MEMORY_TARGET_MB} MB): {'met' if met else 'MISSED'}"
            )
        return 1 if failed else 0
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
