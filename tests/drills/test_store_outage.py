"""Drill: the object store stops answering while uploads are in flight.

The web server runs as in production (uvicorn) with its evidence in a private S3 server
(moto). Unit staff upload scans from several clients without pause; after a few have gone
through, the store is frozen (SIGSTOP: it accepts connections but answers nothing, as a hung
server or a network that drops packets does; killing moto would also lose its objects, which
MinIO keeps on disk), then thawed once uploads have failed. Afterwards:
- every upload got 201, or 503 with the "nothing was saved, try again" message in
  Vietnamese, within the client timeouts (no request hangs);
- a failed upload left no row; a successful one has its row and its bytes, hash matching;
- the store may hold objects whose row never committed (it finished the requests it
  received while frozen, after the app gave up on them): `evidence_check` reports them
  and nothing else, `--repair` removes them, and a second check finds nothing either way.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from cases.models import Case, Criterion, Method
from cases.permissions import ensure_role_groups
from evidence import consistency
from evidence.models import Document, EvidenceLink
from evidence.storage import S3Storage, get_storage
from tests.drills.services import MotoServer, production_env, web_server
from tests.evidence import samples
from tests.evidence.helpers import new_bucket, use_s3
from tests.factories import build_world
from workflow import cycle_services

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 4
FILE_SIZE = 256 * 1024
# A short read timeout so that the drill is quick: it is what a user waits for a hung store
# (production: MINIO_READ_TIMEOUT, 20 s). The retries are production's.
TIMEOUTS = {"MINIO_CONNECT_TIMEOUT": "2", "MINIO_READ_TIMEOUT": "3", "MINIO_RETRIES": "2"}
STORE_SECRET = "drill-store-secret-4f9a1c"
MESSAGE_VI = (
    "Hiện không kết nối được kho lưu trữ tài liệu kiểm chứng. Chưa có gì được lưu; vui lòng "
    "thử lại sau ít phút."
)


@dataclass
class Upload:
    name: str
    sha256: str
    status: int
    body: Any
    seconds: float
    phase: str


@pytest.fixture
def store() -> Any:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


def test_uploads_while_the_store_hangs_fail_clearly_and_leave_no_orphans(
    store: MotoServer, settings: Any
) -> None:
    ensure_role_groups()
    w = build_world()
    cycle_services.open_cycle(w.cycle.pk, actor=w.secretariat)
    case = Case.objects.get(cycle=w.cycle, unit=w.unit_a)
    token = Token.objects.create(user=w.staff_a).key
    criteria = list(
        Criterion.objects.filter(framework__cycle=w.cycle, is_leaf=True)
        .exclude(method__in=[Method.SURVEY, Method.BONUS, Method.PENALTY])
        .order_by("position")
        .values_list("code", flat=True)[:4]
    )
    bucket = new_bucket()
    env = production_env(
        MINIO_ENDPOINT=store.endpoint,
        MINIO_ACCESS_KEY="drill-store",
        MINIO_SECRET_KEY=STORE_SECRET,
        MINIO_BUCKET=bucket,
        MINIO_SECURE="false",
        **TIMEOUTS,
    )

    uploads: list[Upload] = []
    lock = threading.Lock()
    stop = threading.Event()
    phase = ["before"]

    with web_server(env) as base:

        def client(number: int) -> None:
            session = requests.Session()
            count = 0
            while not stop.is_set():
                count += 1
                name = f"Biên bản kiểm tra {number}-{count}.pdf"
                content = samples.pdf(FILE_SIZE)
                sent_in = phase[0]
                started = time.monotonic()
                response = session.post(
                    f"{base}/api/v1/cases/{case.pk}/evidence/",
                    headers={"Authorization": f"Token {token}"},  # no language: Vietnamese
                    data={"criterion": criteria[count % len(criteria)]},
                    files={"file": (name, io.BytesIO(content), "application/pdf")},
                    timeout=60,  # a hung request fails the drill (requests raises)
                )
                try:
                    body = response.json()
                except ValueError:
                    body = response.text
                with lock:
                    uploads.append(
                        Upload(
                            name,
                            hashlib.sha256(content).hexdigest(),
                            response.status_code,
                            body,
                            time.monotonic() - started,
                            sent_in,
                        )
                    )

        def count(status: int) -> int:
            with lock:
                return sum(1 for u in uploads if u.status == status)

        def wait_until(condition: Any, what: str, seconds: float = 60) -> None:
            deadline = time.monotonic() + seconds
            while not condition():
                assert time.monotonic() < deadline, f"{what}: {Counter(u.status for u in uploads)}"
                time.sleep(0.05)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: count(201) >= 6, "uploads before the outage")
            phase[0] = "frozen"
            store.freeze()
            frozen_at = time.monotonic()
            wait_until(lambda: count(503) >= 2, "uploads failing while the store hangs")
            store.thaw()
            frozen_for = time.monotonic() - frozen_at
            phase[0] = "after"
            ok_before_thaw = count(201)
            wait_until(lambda: count(201) >= ok_before_thaw + 6, "uploads after the outage")
        finally:
            store.thaw()
            stop.set()
            for thread in threads:
                thread.join(timeout=90)
        drill_seconds = time.monotonic() - started

    statuses = Counter(u.status for u in uploads)
    failed = [u for u in uploads if u.status != 201]
    slowest_failure = max(u.seconds for u in failed)
    # Every upload was answered: stored, or a clear "try again" in Vietnamese.
    assert set(statuses) <= {201, 503}, [u for u in uploads if u.status not in (201, 503)]
    for u in failed:
        assert u.body == {"detail": MESSAGE_VI, "errors": []}, u
    # A failed upload left no row; a stored one has exactly its row, with the bytes' hash.
    rows = {d.filename: d for d in Document.objects.filter(case=case)}
    assert not [u.name for u in failed if u.name in rows]
    stored = [u for u in uploads if u.status == 201]
    assert sorted(rows) == sorted(u.name for u in stored)
    for u in stored:
        assert rows[u.name].sha256 == u.sha256 and rows[u.name].size > FILE_SIZE
    assert EvidenceLink.objects.filter(case=case).count() == len(stored)

    # The operator's check, against the same store.
    use_s3(settings, store.endpoint, bucket)
    settings.MINIO_ACCESS_KEY, settings.MINIO_SECRET_KEY = "drill-store", STORE_SECRET
    found = consistency.check(grace=timedelta(0))
    strays = found.of_kind("orphan")
    assert {p.kind for p in found.problems} <= {"orphan"}, [p.describe() for p in found.problems]
    if strays:
        with pytest.raises(CommandError):
            call_command("evidence_check", "--grace-minutes", "0", stdout=io.StringIO())
        call_command("evidence_check", "--repair", "--grace-minutes", "0", stdout=io.StringIO())
    out = io.StringIO()
    call_command("evidence_check", "--grace-minutes", "0", stdout=out)  # raises on a problem
    assert f"Checked {len(stored)} rows and {len(stored)} objects: 0 problems" in out.getvalue()
    storage = get_storage()
    assert isinstance(storage, S3Storage)
    for u in stored:  # read back: the very bytes that were sent
        assert storage.sha256(rows[u.name].storage_key, rows[u.name].version_id) == u.sha256

    print(
        f"\nObject store drill: {len(uploads)} uploads of {FILE_SIZE // 1024} KiB from "
        f"{CLIENTS} clients in {drill_seconds:.1f} s; store frozen for {frozen_for:.1f} s; "
        f"answers {dict(sorted(statuses.items()))} "
        f"(503 by phase sent: {dict(Counter(u.phase for u in failed))}); "
        f"slowest failure {slowest_failure:.1f} s; "
        f"stray objects found by evidence_check and removed: {len(strays)}"
    )
