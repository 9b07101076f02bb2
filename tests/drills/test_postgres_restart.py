"""Drill: PostgreSQL restarted in the middle of a burst of submits.

The web server runs as in production (uvicorn, two workers, no persistent connections) on
the test database. Unit heads send their submit at a steady pace from several clients; once
a quarter have gone through, PostgreSQL is restarted in fast mode (sessions terminated,
open transactions rolled back). Afterwards:
- every request got 200, or 503 with the "try again" message in its language (never a 500
  or a hung request);
- every case that changed state has exactly one submit entry in the audit, and no entry
  lacks its change (none half-done); the secretariat's notice was written once per submit;
  the audit chain verifies;
- sending the failed submits again succeeds, and each case ends submitted exactly once.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from rest_framework.authtoken.models import Token

from bench.common import commune_province
from cases.models import Case
from notifications.models import Notification
from results.services import SUBMITTED_REPORT_KEPT
from tests.drills.services import (
    production_env,
    reset_django_connections,
    restart_postgres,
    web_server,
)
from workflow.audit import verify_chain
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)

UNITS = 90
CLIENTS = 6
PACE = 30  # submits sent per second at most: the burst lasts three seconds or more
SUBMIT = "workflow.case.submit"
MESSAGE = {
    "vi": "Hệ thống tạm thời không kết nối được cơ sở dữ liệu. Vui lòng chờ một phút, tải lại "
    "trang để xem thay đổi của bạn đã được lưu chưa, và thử lại nếu chưa.",
    "en": "The service cannot reach its database at the moment. Wait a minute, reload the "
    "page to see whether your change was saved, and try again if it was not.",
}


@dataclass
class Sent:
    case_id: int
    language: str
    status: int
    body: Any
    retry_after: str | None


def submit(session: requests.Session, base: str, case_id: int, token: str, language: str) -> Sent:
    response = session.post(
        f"{base}/api/v1/cases/{case_id}/transitions/submit/",
        headers={"Authorization": f"Token {token}", "Accept-Language": language},
        timeout=60,  # a hung request fails the drill (requests raises)
    )
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Sent(case_id, language, response.status_code, body, response.headers.get("Retry-After"))


def test_postgresql_restarted_during_a_burst_of_submits_loses_nothing_and_halves_nothing() -> None:
    _secretariat, cycle, units, heads = commune_province(UNITS, "Diễn tập khởi động lại CSDL")
    Token.objects.bulk_create([Token(user=h, key=secrets.token_hex(20)) for h in heads])
    token_of = dict(Token.objects.values_list("user_id", "key"))
    head_of = {u.pk: h.pk for h, u in zip(heads, units, strict=True)}
    jobs = [
        (case_id, token_of[head_of[unit_id]], "en" if i % 3 == 0 else "vi")
        for i, (case_id, unit_id) in enumerate(
            Case.objects.filter(cycle=cycle).order_by("pk").values_list("pk", "unit_id")
        )
    ]
    token_for_case = {case_id: token for case_id, token, _language in jobs}
    audit_before = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    sent: list[Sent] = []
    lock = threading.Lock()
    local = threading.local()
    with web_server(production_env()) as base:
        start = time.monotonic()
        next_turn = [start]

        def client(index: int) -> None:
            case_id, token, language = jobs[index]
            with lock:  # a steady pace, also when answers come back fast (during the outage)
                turn = next_turn[0] = max(next_turn[0], time.monotonic()) + 1 / PACE
            time.sleep(max(0.0, turn - time.monotonic()))
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            outcome = submit(session, base, case_id, token, language)
            with lock:
                sent.append(outcome)

        try:
            with ThreadPoolExecutor(CLIENTS) as pool:
                burst = [pool.submit(client, i) for i in range(len(jobs))]
                while sum(1 for s in list(sent) if s.status == 200) < UNITS // 4:
                    assert time.monotonic() - start < 60, [s.status for s in sent]
                    time.sleep(0.02)
                restart_started = time.monotonic() - start
                down_for = restart_postgres()
                for future in burst:
                    future.result()
        finally:
            reset_django_connections()  # whatever happened, the next tests get a fresh one
        burst_seconds = time.monotonic() - start

        failed = [s for s in sent if s.status != 200]
        session = requests.Session()
        retried = [
            submit(session, base, s.case_id, token_for_case[s.case_id], s.language) for s in failed
        ]

    statuses = Counter(s.status for s in sent)
    print(
        f"\nPostgreSQL drill: {len(sent)} submits from {CLIENTS} clients in {burst_seconds:.1f} s; "
        f"restart at {restart_started:.1f} s, PostgreSQL gone for {down_for:.1f} s; "
        f"first answers {dict(sorted(statuses.items()))}; "
        f"retries {dict(sorted(Counter(r.status for r in retried).items()))}"
    )
    # Every request was answered: done, or a clear "try again" in its language.
    assert set(statuses) <= {200, 503}, [s for s in sent if s.status not in (200, 503)]
    assert statuses[200] >= UNITS // 4 and statuses[503] >= 1  # the outage really hit the burst
    for s in failed:
        assert s.body == {"detail": MESSAGE[s.language], "errors": []}, s
        assert s.retry_after == "30"

    # Sent again, each failed submit goes through; or, where the first attempt had committed
    # just before its connection broke (the server could not know), 409: already submitted.
    assert {r.status for r in retried} <= {200, 409}, retried
    # Nothing lost, nothing doubled, nothing half-done.
    states = Counter(Case.objects.filter(cycle=cycle).values_list("state", flat=True))
    assert states == {"submitted": UNITS}
    entries = Counter(AuditEntry.objects.filter(action=SUBMIT).values_list("case_id", flat=True))
    assert entries == Counter({case_id: 1 for case_id, _t, _l in jobs})
    assert not Case.objects.filter(cycle=cycle, submitted_at__isnull=True).exists()
    assert not AuditEntry.objects.filter(action=SUBMIT, snapshot_sha256="").exists()
    written = AuditEntry.objects.filter(pk__gt=audit_before)
    assert written.filter(action=SUBMIT).count() == UNITS
    # Besides each submit, at most the report kept as it was sent (by the worker's pass or
    # its first reader, once each).
    others = Counter(written.exclude(action=SUBMIT).values_list("action", "case_id"))
    assert {action for action, _case in others} <= {SUBMITTED_REPORT_KEPT}, others
    assert all(n == 1 for n in others.values()), others
    notices = Counter(
        Notification.objects.filter(kind="submitted").values_list("case_id", flat=True)
    )
    assert notices == entries  # the secretariat (one person) heard of each submit once
    checked, problem = verify_chain()
    assert problem == "" and checked == AuditEntry.objects.count()
