"""The pages that list things cost a fixed number of queries, whatever their size."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case, Score, Unit, UnitGroup
from evidence.models import Document, EvidenceLink
from tests.web.province import province

SHEET_QUERIES = 14
# The unit's own sheet, whose submit checklist runs the submit's guards: the session and
# the user, the case with every permission the user holds on it and their global ones, the
# criteria set and its criteria (on the first sheet of a frozen set only: the process keeps
# them), the scores, the extension, every evidence version (the sheet's read, which the
# guard's takes its current ones from), the unread count.
SCORE_SHEET_QUERIES = 9
OVERVIEW_QUERIES = 12
HOME_QUERIES = 12


def _count(client: Client, url: str) -> int:
    """The queries of the page served again, as a process serves it once it holds what it
    keeps (a frozen criteria set's tree, read on the first sheet of the set)."""
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _attach_files(case: Case, user: Any, n: int) -> None:
    """Test set-up shortcut: n evidence rows spread over the case's criteria (the page reads
    rows only; the store is not asked)."""
    criteria = list(Score.objects.filter(case=case).values_list("criterion_id", flat=True))
    documents = Document.objects.bulk_create(
        Document(
            case=case,
            storage_key=f"case-{case.pk}/{i}",
            sha256="0" * 64,
            size=1000 + i,
            content_type="application/pdf",
            kind="pdf",
            filename=f"Tài liệu {i}.pdf",
            uploaded_by=user,
        )
        for i in range(n)
    )
    EvidenceLink.objects.bulk_create(
        EvidenceLink(
            case=case,
            document=document,
            criterion_id=criteria[i % len(criteria)],
            version=i // len(criteria) + 1,
            created_by=user,
        )
        for i, document in enumerate(documents)
    )


def test_the_score_sheet_costs_the_same_for_8_or_100_criteria_and_300_files(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    w = province(small=(2, 8), big=(2, 100))
    small = _count(_client(w.small_head), reverse("web:case", args=[w.small_case.pk]))
    _attach_files(w.big_case, w.big_head, 300)
    client = _client(w.big_head)
    url = reverse("web:case", args=[w.big_case.pk])
    with django_assert_max_num_queries(SCORE_SHEET_QUERIES):
        response = client.get(url)
    html = response.content.decode()
    assert html.count('class="score-form"') == 100
    assert html.count("/download/") == 300
    assert _count(client, url) == small


def test_the_appraisal_view_costs_the_same_for_8_or_100_criteria(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    w = province(small=(2, 8), big=(2, 100))
    Case.objects.update(state=Case.State.APPRAISING)
    client = _client(w.secretariat)
    small = _count(client, reverse("web:appraisal", args=[w.small_case.pk]))
    url = reverse("web:appraisal", args=[w.big_case.pk])
    with django_assert_max_num_queries(SHEET_QUERIES):
        response = client.get(url)
    assert response.content.decode().count('class="appraise-form"') == 100
    assert _count(client, url) == small


def test_the_cycle_overview_costs_the_same_for_3_or_300_cases(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    w = province(small=(3, 8))
    client = _client(w.secretariat)
    url = reverse("web:cycle", args=[w.cycle.pk])
    small = _count(client, url)
    group = UnitGroup.objects.get(code="small")
    Unit.objects.bulk_create(
        [Unit(code=f"more{i:04}", name=f"Xã {i}", group=group) for i in range(297)]
    )
    Case.objects.bulk_create(
        [Case(cycle=w.cycle, unit=u) for u in Unit.objects.filter(code__startswith="more")]
    )
    with django_assert_max_num_queries(OVERVIEW_QUERIES):
        response = client.get(url)
    assert response.content.decode().count("<tr>") == 300 + 1
    assert _count(client, url) == small


def test_the_secretariat_home_with_300_cases_costs_a_fixed_number_of_queries(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    w = province(small=(300, 4))
    client = _client(w.secretariat)
    with django_assert_max_num_queries(HOME_QUERIES):
        response = client.get(reverse("web:home"))
    assert response.status_code == 200


# The sheet's autosave of one row (htmx): the session and the user, the case with the
# permission, the leaf; the save itself (BEGIN, the case locked, the score row locked with its
# criterion, the UPDATE with the audit INSERT, COMMIT); then the row's fragment: the area's
# and the case's progress (one aggregate) and the case's totals (three).
AUTOSAVE_QUERIES = 13


def test_an_autosave_costs_the_same_for_8_or_100_criteria(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    w = province(small=(2, 8), big=(2, 100))
    counts = []
    cases = ((w.small_head, w.small_case, "1.2", 8), (w.big_head, w.big_case, "4.25", 100))
    for head, case, code, leaves in cases:
        client = _client(head)
        client.get(reverse("web:case", args=[case.pk]))  # the session as a page left it
        url = reverse("web:self-score", args=[case.pk, code])
        with (
            django_assert_max_num_queries(AUTOSAVE_QUERIES),
            CaptureQueriesContext(connection) as captured,
        ):
            response = client.post(
                url, {"entry": "1", "note": "Đã rà soát"}, HTTP_HX_REQUEST="true"
            )
        assert response.status_code == 200
        html = response.content.decode()
        # One leaf scored: of its area's quarter of the leaves, and of the case's.
        area = re.search(r'id="progress-a-(\d)"[^>]*>([^<]*)<', html)
        assert area is not None and area[1] == code[0]
        assert re.findall(r"\d+", area[2]) == ["1", str(leaves // 4)]
        assert f'<strong id="self-count" hx-swap-oob="true">1/{leaves}</strong>' in html
        assert Score.objects.get(case=case, criterion__code=code).self_score == 1
        counts.append(len(captured))
    assert counts[0] == counts[1]
