"""Server time of two heavy pages against a bare Django view returning the same rows.

- the score sheet of a case with 100 criteria and 300 evidence files, as the unit's head
  sees it;
- the secretariat's cycle overview of 3,500 cases.

Each page is requested through the whole stack (middleware, session, permissions,
templates) with Django's test client, as is its baseline: a bare view behind the same
sign-in that runs the plain queries for the same rows (the sheet: the criteria headings
and the leaves' scores, and the files; the overview: every case with its progress) and
returns them as JSON, without permission checks, deadlines or markup. Both are requested
in turn, after a warm-up, and the medians compared. Target: each page within 3x its
baseline.
The number of queries is printed for a small and a large size: it must not grow.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

# bench.common, and the apps before this folder's scripts of the same names
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database, manual_framework, setup_django

N_CASES = int(os.environ.get("BENCH_CASES", "3500"))
N_LEAVES = 100
N_FILES = 300
REPEAT = int(os.environ.get("BENCH_REPEAT", "15"))
TARGET = 3.0

# Production settings for the timing: no debug bookkeeping in templates or queries.
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-used-anywhere-else")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the test client speaks plain HTTP
os.environ.setdefault("STATIC_HASHED", "false")  # no collectstatic for this run
# The evidence files of this run go to a folder of its own, removed at the end.
WORK = tempfile.mkdtemp(prefix="bench-pages-")
os.environ["EVIDENCE_LOCAL_DIR"] = WORK
os.environ["MINIO_ENDPOINT"] = ""


def main() -> None:
    setup_django()
    from django.contrib.auth.decorators import login_required
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.db.models import Count, Q
    from django.http import HttpRequest, JsonResponse
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import path
    from django.utils import timezone

    import config.urls
    from cases import frameworks
    from cases.models import Case, Criterion, Cycle, Membership, Score, Unit, UnitGroup
    from cases.permissions import SECRETARIAT, ensure_role_groups, sync_case_permissions
    from evidence.models import EvidenceLink
    from workflow import cycle_services

    # --- the bare views: the same rows, plain queries, JSON --------------------------------

    @login_required
    def bare_sheet(request: HttpRequest, pk: int) -> JsonResponse:
        case = Case.objects.select_related("unit", "cycle").get(pk=pk)
        headings = list(
            Criterion.objects.of_case(case)
            .filter(is_leaf=False)
            .values("code", "title", "max_points", "position")
        )
        rows = list(
            Score.objects.filter(case=case)
            .order_by("criterion__position")
            .values(
                "criterion__code",
                "criterion__title",
                "criterion__max_points",
                "self_score",
                "note",
                "evidence_explanation",
                "version",
            )
        )
        files = list(
            EvidenceLink.objects.filter(case=case).values(
                "pk",
                "criterion_id",
                "version",
                "note",
                "document_id",
                "document__filename",
                "document__size",
                "document__uploaded_at",
            )
        )
        return JsonResponse(
            {"unit": case.unit.name, "headings": headings, "rows": rows, "files": files},
            safe=False,
        )

    @login_required
    def bare_overview(request: HttpRequest, pk: int) -> JsonResponse:
        cases = list(
            Case.objects.filter(cycle_id=pk)
            .order_by("unit__group__code", "unit__code")
            .values(
                "pk",
                "unit__code",
                "unit__name",
                "unit__group__name",
                "state",
                "is_late",
                "submitted_at",
            )
        )
        progress = {
            row["case_id"]: row
            for row in Score.objects.filter(case__cycle_id=pk)
            .values("case_id")
            .annotate(
                total=Count("pk"),
                scored=Count("pk", filter=Q(self_score__isnull=False)),
                appraised=Count("pk", filter=Q(appraised_round__isnull=False)),
            )
            .order_by()
        }
        for row in cases:
            row["progress"] = progress.get(row["pk"])
        return JsonResponse(cases, safe=False)

    urls = types.ModuleType("bench_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("bare/sheet/<int:pk>/", bare_sheet),
        path("bare/overview/<int:pk>/", bare_overview),
        *config.urls.urlpatterns,
    ]

    with bench_database(), override_settings(ROOT_URLCONF=urls):
        started = time.perf_counter()
        ensure_role_groups()
        secretariat = User.objects.create_user("secretariat")
        secretariat.groups.add(Group.objects.get(name=SECRETARIAT))
        today = timezone.localdate()
        cycle = Cycle.objects.create(
            year=today.year,
            title="Đánh giá Chỉ số CCHC (bench)",
            authority="UBND tỉnh",
            self_assessment_due=today.replace(year=today.year + 1),
            appraisal_due=today.replace(year=today.year + 2),
        )
        groups = {}
        for code, leaves in (("small", 8), ("big", N_LEAVES)):
            groups[code] = UnitGroup.objects.create(code=code, name=f"Khối {code}")
            frameworks.load(manual_framework(leaves), cycle=cycle, unit_group=groups[code])
        Unit.objects.bulk_create(
            [Unit(code=f"S{i:02}", name=f"Đơn vị nhỏ {i}", group=groups["small"]) for i in range(3)]
            + [
                Unit(code=f"X{i:05}", name=f"Xã số {i}", group=groups["big"])
                for i in range(N_CASES - 3)
            ]
        )
        password = make_password("bench-pass")
        heads = {}
        for code in ("S00", "X00000"):
            heads[code] = User.objects.create(username=f"{code.lower()}.head", password=password)
            Membership.objects.create(
                user=heads[code], unit=Unit.objects.get(code=code), role="head"
            )
        cycle_services.open_cycle(cycle.pk, actor=secretariat)
        sync_case_permissions(Case.objects.filter(cycle=cycle))
        Score.objects.filter(case__cycle=cycle).update(self_score=1, note="Quyết định số 01/QĐ")
        small_case = Case.objects.get(unit__code="S00")
        big_case = Case.objects.get(unit__code="X00000")
        files = _add_evidence(big_case, heads["X00000"], N_FILES)
        print(
            f"set-up: {N_CASES:,} cases, {N_LEAVES} criteria on the big sheet, "
            f"{files} evidence files ({time.perf_counter() - started:.1f} s)"
        )

        def client(user: Any) -> Client:
            c = Client()
            c.force_login(user)
            return c

        head, head_small, sec = client(heads["X00000"]), client(heads["S00"]), client(secretariat)
        small_cycle = _small_cycle(secretariat, groups["small"], cycle)

        print()
        print(f"{'page':<38}{'median ms':>10}{'baseline ms':>13}{'ratio':>8}{'queries':>9}")
        results = []
        for label, page_client, page_url, bare_url in (
            (
                f"score sheet ({N_LEAVES} crit., {files} files)",
                head,
                f"/cases/{big_case.pk}/",
                f"/bare/sheet/{big_case.pk}/",
            ),
            (
                f"cycle overview ({N_CASES:,} cases)",
                sec,
                f"/cycles/{cycle.pk}/",
                f"/bare/overview/{cycle.pk}/",
            ),
        ):
            page_ms, bare_ms = _median_ms(page_client, page_url, bare_url)
            queries = _queries(page_client, page_url, CaptureQueriesContext, connection)
            ratio = page_ms / bare_ms
            results.append(ratio)
            print(f"{label:<38}{page_ms:>10.1f}{bare_ms:>13.1f}{ratio:>8.2f}{queries:>9}")
        small_sheet = _queries(
            head_small, f"/cases/{small_case.pk}/", CaptureQueriesContext, connection
        )
        small_overview = _queries(
            sec, f"/cycles/{small_cycle.pk}/", CaptureQueriesContext, connection
        )
        print()
        print(
            f"queries, small sizes: score sheet (8 criteria) {small_sheet}, "
            f"cycle overview (3 cases) {small_overview}"
        )
        worst = max(results)
        verdict = "within" if worst <= TARGET else "ABOVE"
        print(f"worst ratio page/baseline: {worst:.2f} ({verdict} the target of {TARGET:.0f}x)")


def _small_cycle(secretariat: Any, group: Any, big: Any) -> Any:
    """A second cycle with three cases, to show that the overview's queries do not grow."""
    from cases.models import Case, Cycle, Unit

    cycle = Cycle.objects.create(
        year=big.year - 1,
        title="Đợt nhỏ",
        authority="UBND tỉnh",
        self_assessment_due=big.self_assessment_due,
        appraisal_due=big.appraisal_due,
        status=Cycle.Status.OPEN,
    )
    Case.objects.bulk_create([Case(cycle=cycle, unit=u) for u in Unit.objects.filter(group=group)])
    return cycle


def _add_evidence(case: Any, user: Any, n: int) -> int:
    """Attach n small PDFs to the case's criteria through the evidence service (stored in
    the local evidence folder of this run: the pages read the rows, not the files)."""
    import io

    from cases.models import Score
    from evidence import services as evidence_services

    codes = list(
        Score.objects.filter(case=case)
        .order_by("criterion__position")
        .values_list("criterion__code", flat=True)
    )
    for i in range(n):
        body = b"%PDF-1.4\n% bench\n" + str(i).encode() * 64 + b"\n%%EOF\n"
        evidence_services.add_evidence(
            case.pk,
            codes[i % len(codes)],
            io.BytesIO(body),
            actor=user,
            filename=f"Tài liệu kiểm chứng {i}.pdf",
            size=len(body),
            note="Mục 2, trang 3",
        )
    return n


def _median_ms(client: Any, page_url: str, bare_url: str) -> tuple[float, float]:
    """Median server time of the page and of its baseline, requested in turn so that both
    meet the same load on the machine."""
    for url in (page_url, bare_url, page_url, bare_url):
        assert client.get(url).status_code == 200, url
    times: dict[str, list[float]] = {page_url: [], bare_url: []}
    for _ in range(REPEAT):
        for url in (page_url, bare_url):
            started = time.perf_counter()
            response = client.get(url)
            times[url].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
    return statistics.median(times[page_url]), statistics.median(times[bare_url])


def _queries(client: Any, url: str, capture: Any, connection: Any) -> int:
    with capture(connection) as captured:
        assert client.get(url).status_code == 200, url
    return len(captured)


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
