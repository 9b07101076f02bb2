"""Every timestamp the API answers is in Asia/Ho_Chi_Minh with its offset (+07:00), also the
ones a view puts in its answer itself (an import's time, a leader's decision)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from cases.models import Case, Cycle, SurveyImport
from config.renderers import JSONRenderer
from tests.helpers import api, force_state
from workflow import services

STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _stamps(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _stamps(v)]
    if isinstance(value, list):
        return [s for v in value for s in _stamps(v)]
    if isinstance(value, str) and STAMP.match(value):
        return [value]
    return []


def _routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    """Every route under `resolver`, the apps' included lists walked through."""
    found = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += _routes(entry, route)
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


def _api_reads(cycle_pk: int, case_pk: int) -> list[str]:
    """Every API URL that takes nothing, a cycle or a case, from the URL configuration."""
    api_v1 = next(
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and "api/v1" in str(p.pattern)
    )
    urls = []
    for route in _routes(api_v1):
        if "<" not in route:
            urls.append(route)
        elif route.startswith("cycles/<int:pk>/") and route.count("<") == 1:
            urls.append(route.replace("<int:pk>", str(cycle_pk)))
        elif route.startswith("cases/<int:pk>/") and route.count("<") == 1:
            urls.append(route.replace("<int:pk>", str(case_pk)))
    return ["/api/v1/" + u for u in urls]


def test_a_utc_time_is_written_with_the_provinces_offset() -> None:
    rendered = JSONRenderer().render({"at": datetime(2026, 5, 10, 17, 30, tzinfo=UTC)})
    assert rendered == b'{"at":"2026-05-11T00:30:00+07:00"}'


def test_every_api_timestamp_carries_plus_seven(world: SimpleNamespace) -> None:
    case = force_state(world.case_b, Case.State.APPRAISING)
    services.ask_clarification(case.pk, "1.1.1", "Văn bản nào?", actor=world.appraiser)
    SurveyImport.objects.create(
        cycle=world.cycle,
        filename="dieu-tra.xlsx",
        sha256="0" * 64,
        row_count=0,
        imported_by=world.secretariat,
        imported_at=timezone.now(),
    )
    force_state(world.case_a, Case.State.FINALISED)
    Cycle.objects.filter(pk=world.cycle.pk).update(status=Cycle.Status.RESULTS_SUBMITTED)
    decided = api(world.leader).post(
        f"/api/v1/cases/{world.case_a.pk}/exclusion/", {"reason": "Số liệu sai"}, format="json"
    )
    assert decided.status_code == 201
    assert decided.json()["decided_at"].endswith("+07:00")

    seen: dict[str, list[str]] = {}
    for url in [*_api_reads(world.cycle.pk, case.pk), f"/api/v1/cases/{world.case_a.pk}/history/"]:
        response = api(world.secretariat).get(url)
        if response.status_code != 200 or "json" not in response.get("Content-Type", ""):
            continue
        stamps = _stamps(response.json())
        if stamps:
            seen[url] = stamps
    assert any("survey" in url for url in seen), "the survey imports were read"
    assert any("history" in url for url in seen), "a case's history was read"
    utc = {url: [s for s in stamps if not s.endswith("+07:00")] for url, stamps in seen.items()}
    assert {url: bad for url, bad in utc.items() if bad} == {}
