"""Benchmark: the results of a cycle of 3,500 cases × 100 leaf criteria on PostgreSQL.

Times `results.ranking.compute_results` (totals, ranks, classification, per-area points, the
honesty signal, rank change through unit lineage) against a hand-written single SQL
statement computing the same totals, ranks and over-claiming in the same run, checks that
both agree case by case, and prints the figures. Target: within 2× the SQL baseline.

Self-contained: takes the server from DATABASE_URL (`make bench` provides one), creates its
own database, fills it with COPY, and drops it at the end.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = 3500
SELF_LEAVES = 78  # + 20 survey + bonus + penalty = 100 leaves
SURVEY_LEAVES = 20
AREAS = 8
RUNS = 5
EXCLUDED = 10
SEED = 20250701


def _database_urls() -> tuple[str, str, str]:
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("bench/results.py needs DATABASE_URL pointing at PostgreSQL (run `make bench`).")
    parts = urlsplit(base)
    name = f"par_bench_results_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    return admin, urlunsplit(parts._replace(path=f"/{name}")), name


def _framework() -> dict[str, Any]:
    """8 areas; 58 self-assessed leaves of 1 point and 20 of 0.6 (70), 20 survey of 1.5 (30)."""
    self_points = [Decimal(1)] * 58 + [Decimal("0.6")] * 20
    areas: list[dict[str, Any]] = [
        {"code": str(a + 1), "title": f"Lĩnh vực {a + 1}", "criteria": []} for a in range(AREAS)
    ]
    for n, points in enumerate(self_points):
        area = areas[n % AREAS]
        area["criteria"].append(
            {
                "code": f"{area['code']}.{len(area['criteria']) + 1}",
                "title": f"Tiêu chí {n + 1}",
                "max_points": str(points),
                "method": "manual",
                "not_applicable_allowed": n % 13 == 0,
            }
        )
    for n in range(SURVEY_LEAVES):
        area = areas[n % AREAS]
        area["criteria"].append(
            {
                "code": f"{area['code']}.{len(area['criteria']) + 1}",
                "title": f"Khảo sát {n + 1}",
                "max_points": "1.5",
                "method": "survey",
            }
        )
    for area in areas:
        area["max_points"] = str(sum(Decimal(c["max_points"]) for c in area["criteria"]))
    return {
        "id": "bench",
        "areas": areas,
        "bonus_penalty": {
            "bonus_cap": 2,
            "penalty_cap": 3,
            "items": [
                {"code": "9.1", "title": "Thưởng", "type": "bonus", "points_each": 1},
                {"code": "9.2", "title": "Trừ", "type": "penalty", "points_each": 0.5},
            ],
        },
    }


def _populate() -> Any:
    """Units, a published previous cycle with lineage, and the cycle under test."""
    from django.contrib.auth.models import User
    from django.db import connection

    from cases import frameworks
    from cases.models import (
        Case,
        Criterion,
        Cycle,
        PublishedResult,
        RankingExclusion,
        Unit,
        UnitGroup,
        UnitLineage,
    )

    rng = random.Random(SEED)
    actor = User.objects.create_user("bench")
    group = UnitGroup.objects.create(code="khoi_xa", name="Khối xã, phường, đặc khu")
    units = Unit.objects.bulk_create(
        [Unit(code=f"X{n:05}", name=f"Xã số {n}", group=group) for n in range(CASES)]
    )
    # Last year: 2,500 of today's units existed as such; 2,000 old communes merged in pairs
    # into the other 1,000 (the 2025 reorganisation).
    old = Unit.objects.bulk_create(
        [
            Unit(code=f"O{n:05}", name=f"Xã cũ {n}", group=group, is_active=False)
            for n in range(2000)
        ]
    )
    UnitLineage.objects.bulk_create(
        [UnitLineage(predecessor=old[n], successor=units[2500 + n // 2]) for n in range(2000)]
    )
    previous = Cycle.objects.create(
        year=2024,
        title="2024",
        authority="Bench",
        status=Cycle.Status.PUBLISHED,
        self_assessment_due="2025-03-31",
        appraisal_due="2025-05-10",
    )
    ranked_before = units[:2500] + old
    order = list(range(len(ranked_before)))
    rng.shuffle(order)
    PublishedResult.objects.bulk_create(
        [
            PublishedResult(
                cycle=previous, unit=ranked_before[i], group_code=group.code, rank=r + 1
            )
            for r, i in enumerate(order)
        ],
        batch_size=5000,
    )
    cycle = Cycle.objects.create(
        year=2025,
        title="2025",
        authority="Bench",
        status=Cycle.Status.RESULTS_SUBMITTED,
        self_assessment_due="2026-03-31",
        appraisal_due="2026-05-10",
    )
    frameworks.load(_framework(), cycle=cycle, unit_group=group)
    cases = Case.objects.bulk_create(
        [Case(cycle=cycle, unit=u, state=Case.State.FINALISED) for u in units], batch_size=5000
    )
    leaves = list(
        Criterion.objects.filter(framework__cycle=cycle, is_leaf=True).values_list(
            "pk", "method", "max_points", "not_applicable_allowed"
        )
    )
    assert len(leaves) == 100, len(leaves)
    t0 = time.perf_counter()
    columns = (
        "case_id, criterion_id, self_score, appraised_score, appraised_round, not_applicable, "
        "note, evidence_explanation, not_applicable_reason, not_applicable_decision, "
        "appraised_comment, version, updated_at"
    )
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY cases_score ({columns}) FROM STDIN") as copy,
    ):
        for case in cases:
            skill = rng.random()
            for pk, method, max_points, na_allowed in leaves:
                na = na_allowed and rng.random() < 0.05
                self_score = appraised = None
                if method == "survey":
                    appraised = _points(rng, max_points, skill)
                elif method in ("bonus", "penalty"):
                    self_score = appraised = Decimal(rng.choice([0, 0, 0, 1]))
                elif not na:
                    self_score = _points(rng, max_points, min(1.0, skill + 0.1))
                    cut = rng.random() < 0.2
                    appraised = _points(rng, self_score, 0.5) if cut else self_score
                copy.write_row(
                    (
                        case.pk,
                        pk,
                        self_score,
                        appraised,
                        None if method == "survey" else 1,
                        na,
                        "",
                        "",
                        "Không phát sinh" if na else "",
                        "confirmed" if na else "",
                        "",
                        0,
                        "2026-05-01 00:00:00+07",
                    )
                )
    loaded = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    RankingExclusion.objects.bulk_create(
        [
            RankingExclusion(
                case=c,
                reason="Không trung thực",
                decided_by=actor,
                decided_at="2026-05-01T00:00:00+07:00",
            )
            for c in rng.sample(cases, EXCLUDED)
        ]
    )
    return cycle, loaded


def _points(rng: random.Random, max_points: Decimal, skill: float) -> Decimal:
    value = Decimal(str(round(float(max_points) * min(1.0, rng.random() * 0.4 + skill * 0.7), 1)))
    return min(value, max_points)


SELF_PART = "method NOT IN ('survey', 'bonus', 'penalty')"
BASELINE_SQL = """
WITH per AS (
    SELECT s.case_id, cr.area_id, cr.method,
           COUNT(*) AS n,
           SUM(cr.max_points) AS max_all,
           SUM(cr.max_points) FILTER (WHERE NOT s.not_applicable) AS max_app,
           SUM(s.self_score) FILTER (WHERE NOT s.not_applicable) AS self_pts,
           SUM(s.appraised_score) FILTER (WHERE NOT s.not_applicable) AS appraised,
           COUNT(*) FILTER (WHERE s.self_score IS NOT NULL OR s.not_applicable) AS self_n,
           COUNT(*) FILTER (WHERE s.appraised_score IS NOT NULL OR s.appraised_round IS NOT NULL)
               AS appr_n,
           COUNT(*) FILTER (WHERE NOT s.not_applicable AND s.self_score IS NOT NULL
                            AND s.appraised_score IS NOT NULL) AS compared_n,
           SUM(s.self_score - s.appraised_score)
               FILTER (WHERE NOT s.not_applicable AND s.self_score > s.appraised_score) AS over_pts,
           COUNT(*) FILTER (WHERE NOT s.not_applicable AND s.self_score > s.appraised_score)
               AS over_n
    FROM cases_score s
    JOIN cases_criterion cr ON cr.id = s.criterion_id
    JOIN cases_case c ON c.id = s.case_id
    WHERE c.cycle_id = %(cycle)s
    GROUP BY s.case_id, cr.area_id, cr.method
), areas AS (
    SELECT case_id, jsonb_object_agg(area_id, COALESCE(appraised, 0)) AS area_points
    FROM (SELECT case_id, area_id, SUM(appraised) AS appraised FROM per
          WHERE method NOT IN ('bonus', 'penalty') GROUP BY case_id, area_id) a
    GROUP BY case_id
), parts AS (
    SELECT case_id,
        SUM(max_all) FILTER (WHERE {SELF_PART}) AS s_max,
        COALESCE(SUM(max_app) FILTER (WHERE {SELF_PART}), 0) AS s_app,
        COALESCE(SUM(self_pts) FILTER (WHERE {SELF_PART}), 0) AS s_self,
        COALESCE(SUM(appraised) FILTER (WHERE {SELF_PART}), 0) AS s_pts,
        SUM(max_all) FILTER (WHERE method = 'survey') AS v_max,
        COALESCE(SUM(max_app) FILTER (WHERE method = 'survey'), 0) AS v_app,
        COALESCE(SUM(appraised) FILTER (WHERE method = 'survey'), 0) AS v_pts,
        COALESCE(SUM(self_pts) FILTER (WHERE method = 'bonus'), 0) AS bonus_self,
        COALESCE(SUM(appraised) FILTER (WHERE method = 'bonus'), 0) AS bonus,
        COALESCE(SUM(self_pts) FILTER (WHERE method = 'penalty'), 0) AS penalty_self,
        COALESCE(SUM(appraised) FILTER (WHERE method = 'penalty'), 0) AS penalty,
        COALESCE(SUM(n) FILTER (WHERE method NOT IN ('bonus', 'penalty')), 0) AS leaves,
        COALESCE(SUM(self_n) FILTER (WHERE {SELF_PART}), 0) AS self_scored,
        COALESCE(SUM(appr_n) FILTER (WHERE method NOT IN ('bonus', 'penalty')), 0) AS appraised_n,
        COALESCE(SUM(compared_n) FILTER (WHERE {SELF_PART}), 0) AS compared,
        COALESCE(SUM(over_pts) FILTER (WHERE {SELF_PART}), 0) AS over_pts,
        COALESCE(SUM(over_n) FILTER (WHERE {SELF_PART}), 0) AS over_n
    FROM per GROUP BY case_id
), indexed AS (
    SELECT c.id AS case_id, u.group_id, (x.id IS NOT NULL) AS excluded,
        ROUND(GREATEST(0, LEAST(100,
            (p.s_pts * cy.self_weight / p.s_max + p.v_pts * cy.survey_weight / p.v_max
             + LEAST(p.bonus, f.bonus_cap) - LEAST(p.penalty, f.penalty_cap))
            / (p.s_app * cy.self_weight / p.s_max + p.v_app * cy.survey_weight / p.v_max) * 100
        )), 2) AS idx,
        ROUND(GREATEST(0, LEAST(100,
            (p.s_self * cy.self_weight / p.s_max + p.v_pts * cy.survey_weight / p.v_max
             + LEAST(p.bonus_self, f.bonus_cap) - LEAST(p.penalty_self, f.penalty_cap))
            / (p.s_app * cy.self_weight / p.s_max + p.v_app * cy.survey_weight / p.v_max) * 100
        )), 2) AS self_idx,
        p.leaves, p.self_scored, p.appraised_n, p.compared, p.over_pts, p.over_n,
        a.area_points
    FROM parts p
    JOIN cases_case c ON c.id = p.case_id
    JOIN cases_unit u ON u.id = c.unit_id
    JOIN cases_cycle cy ON cy.id = c.cycle_id
    JOIN cases_framework f ON f.cycle_id = c.cycle_id AND f.unit_group_id = u.group_id
    JOIN areas a ON a.case_id = p.case_id
    LEFT JOIN cases_rankingexclusion x ON x.case_id = c.id
)
SELECT case_id, idx, CASE WHEN excluded THEN NULL
       ELSE RANK() OVER (PARTITION BY group_id, excluded ORDER BY idx DESC) END AS rank,
       self_idx, leaves, self_scored, appraised_n, compared, over_pts, over_n, area_points
FROM indexed
""".replace("{SELF_PART}", SELF_PART)


def _baseline(cycle_id: int) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, {"cycle": cycle_id})
        return cursor.fetchall()


def _time(fns: dict[str, Callable[[], Any]]) -> tuple[dict[str, float], dict[str, Any]]:
    """Median seconds of each function, run in turn so that they share the machine's load."""
    results = {name: fn() for name, fn in fns.items()}  # warm caches and the connection
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(RUNS):
        for name, fn in fns.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, results


def main() -> int:
    admin_url, bench_url, name = _database_urls()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(
        DATABASE_URL=bench_url,
        DEBUG="false",
        SECRET_KEY="bench-only-secret-key-not-used-anywhere-else",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from cases.models import Case, Cycle
        from cases.totals import totals_for, totals_for_cycle
        from results.ranking import compute_results

        call_command("migrate", verbosity=0)
        t0 = time.perf_counter()
        cycle, loaded = _populate()
        print(
            f"data: {CASES} cases × 100 leaf criteria = {CASES * 100} score rows "
            f"(COPY {loaded:.1f} s, set-up {time.perf_counter() - t0:.1f} s)"
        )
        cycle = Cycle.objects.get(pk=cycle.pk)

        def cases() -> Any:
            return Case.objects.filter(cycle=cycle).select_related("cycle", "unit")

        medians, out = _time(
            {
                "results": lambda: compute_results(cycle),
                "cycle_totals": lambda: totals_for_cycle(cycle),
                "case_totals": lambda: totals_for(cases()),
                "sql": lambda: _baseline(cycle.pk),
            }
        )
        results, rows = out["results"], out["sql"]
        mine = {r.case_id: r for _g, r in results.rows()}
        totals = out["cycle_totals"]
        mismatches = 0
        for case_id, idx, rank, self_idx, *counts, over_pts, over_n, area_points in rows:
            row, case_totals = mine[case_id], totals[case_id]
            if isinstance(area_points, str):  # Django leaves jsonb as text for JSONField
                area_points = json.loads(area_points)
            areas = sorted(a.points for a in row.areas)
            ours = (
                row.index,
                row.rank,
                row.honesty.self_index,
                case_totals.leaves,
                case_totals.self_scored,
                case_totals.appraised,
                row.honesty.compared,
                row.honesty.overclaimed_points,
                row.honesty.overclaimed,
                areas,
            )
            theirs = (
                idx,
                rank,
                self_idx,
                *counts,
                over_pts,
                over_n,
                sorted(Decimal(str(v)) for v in area_points.values()),
            )
            mismatches += ours != theirs
        merged = sum(1 for r in mine.values() if len(r.previous_units) > 1)
        ours_s, sql_s = medians["results"], medians["sql"]
        ratio = ours_s / sql_s
        for line in (
            f"compute_results (totals, ranks, classes, areas, honesty, lineage): "
            f"{ours_s * 1000:.0f} ms (median of {RUNS})",
            f"  of which totals_for_cycle: {medians['cycle_totals'] * 1000:.0f} ms",
            f"totals_for over the cases loaded as objects (the case list's path): "
            f"{medians['case_totals'] * 1000:.0f} ms",
            f"single SQL aggregation baseline (same totals and counts, ranks, over-claiming): "
            f"{sql_s * 1000:.0f} ms (median of {RUNS})",
            f"ratio: {ratio:.2f}× the SQL baseline (target ≤ 2×: "
            f"{'met' if ratio <= 2 else 'MISSED'})",
            f"agreement: {len(rows) - mismatches}/{len(rows)} cases identical; "
            f"{merged} merged units ranked against their best predecessor",
        ):
            print(line)
        connection.close()
        return 1 if mismatches or len(rows) != CASES else 0
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up yet
            pass
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
