"""Deadline day as users live it: thousands of units saving, reading, uploading, submitting.

An installation of 4,000 units with 100 criteria each (400,000 score rows, every case in
self-scoring with its scores entered), served by uvicorn with two workers on PostgreSQL and
the evidence store, as production runs it. 100 clients (each a unit's head, signed in both
to the pages and to the API) work for 60 seconds, mixing what they do on 31 March:

    70 %  save a self score (PUT /api/v1/cases/{id}/scores/{code}/)
    20 %  open the score sheet (GET /cases/{id}/)
     5 %  upload 1 MB of evidence (POST /api/v1/cases/{id}/evidence/)
     5 %  submit the case (and go on with the next unit of the client's share)

Three phases against the same server:

- the baseline: the same clients, never pausing, on a bare view doing one indexed UPDATE and
  one SELECT of a score row (added to the URLconf of the benchmark's own server only);
- the day at full speed: the clients never pause either, so the server is saturated and
  the requests per second are its capacity for the mix. Target: at least 0.3 of the
  baseline's. The two alternate, in BENCH_DAY_SLICES (3) slices of their 60 seconds, so
  that both meet the same moments of a shared machine (the bare view alone ran at 399 to
  541 requests/s in runs of the same code an hour apart). In a closed loop that never
  pauses each request waits for the 99 others (Little's law: mean latency = clients /
  throughput), so its latencies measure the queue, not the service: the bare view's own
  p95 is over 250 ms here;
- the day at its peak pace, as people work: each client sends its requests at random
  times (exponentially distributed gaps) so that together they would save every score of
  the installation within BENCH_DAY_PEAK_HOURS (2) hours: 400,000 saves in 2 hours is 79
  requests/s of the mix, each head acting about every 1.3 s, far faster than a person
  reads a criterion and types a score. Targets: zero errors; save p95 < 250 ms; sheet p95
  < 500 ms.

Prints requests per second, p50/p95/p99 of each kind and the errors of every phase, and the
CPU per request of the server, the database, the S3 server and the clients, with the ratio
the CPU per request of the bare view and the day gives. Figures, not asserted times.

Needs DATABASE_URL (PostgreSQL) and TEST_S3_ENDPOINT (`make bench` starts both); works in a
database of its own, dropped at the end. BENCH_DAY_UNITS, BENCH_DAY_CLIENTS and
BENCH_DAY_SECONDS make it smaller for a quick look; BENCH_DAY_EACH_SECONDS=N adds a phase of
N seconds per kind alone, with its CPU per request.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
UNITS = int(os.environ.get("BENCH_DAY_UNITS", "4000"))
LEAVES = 100
CLIENTS = int(os.environ.get("BENCH_DAY_CLIENTS", "100"))
SECONDS = float(os.environ.get("BENCH_DAY_SECONDS", "60"))
SLICES = int(os.environ.get("BENCH_DAY_SLICES", "3"))
EACH_SECONDS = float(os.environ.get("BENCH_DAY_EACH_SECONDS", "0"))
PEAK_HOURS = float(os.environ.get("BENCH_DAY_PEAK_HOURS", "2"))
MIX = (("save", 70), ("sheet", 20), ("upload", 5), ("submit", 5))
# The peak pace: every score of the installation saved within PEAK_HOURS, saves being 70 %
# of the requests; each client's mean pause is its share of that rate.
PEAK_RATE = UNITS * LEAVES / (PEAK_HOURS * 3600) / (dict(MIX)["save"] / 100)
TARGET_P95 = {"save": 0.250, "sheet": 0.500}
MB = 1024 * 1024


# --- the benchmark's server: the product plus the baseline view ---------------------------


def server_app() -> Any:
    """uvicorn's factory (`--factory bench.deadline_day:server_app`): the product's ASGI
    application with the bare baseline view in front of its URLs."""
    import django

    django.setup()
    from django.db import connection
    from django.http import HttpRequest, JsonResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    from config import urls
    from config.asgi import application

    @csrf_exempt
    def baseline(request: HttpRequest, pk: int) -> JsonResponse:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE cases_score SET note = %s WHERE id = %s", ["đã xem", pk])
            cursor.execute("SELECT id, self_score, note FROM cases_score WHERE id = %s", [pk])
            row = cursor.fetchone()
        return JsonResponse({"id": row[0], "note": row[2]})

    urls.urlpatterns.insert(0, path("bench-baseline/<int:pk>/", baseline))
    return application


# --- the installation ---------------------------------------------------------------------


@dataclass
class Unit:
    case: int
    token: str
    session: str
    codes: list[str]
    score_ids: list[int]


def load() -> list[Unit]:
    """The province: one open cycle, every case self-scored and ready to submit.

    Written in bulk (a few statements per table, whatever the number of units), so that the
    full size seeds in well under the time of the run itself; prints each step's time."""
    import secrets
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string
    from rest_framework.authtoken.models import Token

    from bench.common import manual_framework
    from cases import frameworks
    from cases.models import Case, Cycle, Membership, Score, UnitGroup
    from cases.models import Unit as UnitRow
    from cases.permissions import SECRETARIAT, ensure_role_groups
    from workflow import cycle_services

    step = Steps()
    ensure_role_groups()
    secretariat = User.objects.create_user("secretariat")
    secretariat.groups.add(Group.objects.get(name=SECRETARIAT))
    group = UnitGroup.objects.create(code="khoi_xa", name="Khối xã")
    units = UnitRow.objects.bulk_create(
        [UnitRow(code=f"X{i:05}", name=f"Xã {i}", group=group) for i in range(UNITS)],
        batch_size=5000,
    )
    password = make_password("x")
    heads = User.objects.bulk_create(
        [User(username=f"x{i:05}.head", password=password) for i in range(UNITS)],
        batch_size=5000,
    )
    Membership.objects.bulk_create(
        [Membership(user=h, unit=u, role="head") for h, u in zip(heads, units, strict=True)],
        batch_size=5000,
    )
    step("units, heads, memberships")
    today = timezone.localdate()
    cycle = Cycle.objects.create(
        year=today.year,
        title="Chỉ số CCHC – ngày hết hạn",
        authority="UBND",
        self_assessment_due=today.replace(year=today.year + 1),
        appraisal_due=today.replace(year=today.year + 2),
    )
    frameworks.load(manual_framework(LEAVES), cycle=cycle, unit_group=group)
    # Opening creates the cases, their score rows and the heads' object permissions.
    cycle_services.open_cycle(cycle.pk, actor=secretariat)
    step("cycle opened (cases, score rows, permissions)")
    Score.objects.update(self_score=0, evidence_explanation="Số liệu theo báo cáo CCHC năm.")
    step("self scores entered")
    # Every head signed in to the API (a token) and to the pages (a session row).
    tokens = Token.objects.bulk_create(
        [Token(user=h, key=secrets.token_hex(20)) for h in heads], batch_size=5000
    )
    expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    store = SessionStore()
    backend = "django.contrib.auth.backends.ModelBackend"
    sessions = Session.objects.bulk_create(
        [
            Session(
                session_key=get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789"),
                session_data=store.encode(
                    {
                        SESSION_KEY: str(h.pk),
                        BACKEND_SESSION_KEY: backend,
                        HASH_SESSION_KEY: h.get_session_auth_hash(),
                    }
                ),
                expire_date=expires,
            )
            for h in heads
        ],
        batch_size=5000,
    )
    step("tokens and sessions")
    case_of = dict(Case.objects.values_list("unit_id", "pk"))
    scores: dict[int, list[tuple[str, int]]] = {}
    for case_id, code, pk in Score.objects.order_by("criterion__position").values_list(
        "case_id", "criterion__code", "pk"
    ):
        scores.setdefault(case_id, []).append((code, pk))
    out = []
    for unit, token, session in zip(units, tokens, sessions, strict=True):
        rows = scores[case_of[unit.pk]]
        out.append(
            Unit(
                case=case_of[unit.pk],
                token=token.key,
                session=session.session_key,
                codes=[code for code, _pk in rows],
                score_ids=[pk for _code, pk in rows],
            )
        )
    step("clients' view of the installation")
    return out


class Steps:
    """Prints the seconds each seeding step took."""

    def __init__(self) -> None:
        self.at = time.perf_counter()

    def __call__(self, what: str) -> None:
        now = time.perf_counter()
        print(f"  seeded {what} in {now - self.at:.1f} s", flush=True)
        self.at = now


# --- the clients --------------------------------------------------------------------------


@dataclass
class Answer:
    what: str
    status: int
    seconds: float
    body: str = ""


@dataclass
class Client:
    """A head working through its share of the units, one after another."""

    index: int
    units: list[Unit]
    rng: random.Random
    at: int = 0
    answers: list[Answer] = field(default_factory=list)

    @property
    def unit(self) -> Unit:
        return self.units[self.at]

    @property
    def done(self) -> bool:
        """Every unit of the share submitted: nothing is left to do (a client that went on
        would submit a case it already sent, which the product rightly refuses)."""
        return self.at >= len(self.units)


def _pdf(size: int) -> bytes:
    head, tail = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n"
    return head + os.urandom(size - len(head) - len(tail)) + tail


PDF = _pdf(MB)


def act(http: Any, base: str, client: Client, what: str) -> Answer:
    unit = client.unit
    api = {"Authorization": f"Token {unit.token}"}
    start = time.perf_counter()
    if what == "save":
        code = client.rng.choice(unit.codes)
        response = http.put(
            f"{base}/api/v1/cases/{unit.case}/scores/{code}/",
            json={"self_score": client.rng.choice([0, 1]), "note": f"Ghi chú {code}"},
            headers=api,
            timeout=120,
        )
    elif what == "sheet":
        response = http.get(
            f"{base}/cases/{unit.case}/", cookies={"sessionid": unit.session}, timeout=120
        )
    elif what == "upload":
        response = http.post(
            f"{base}/api/v1/cases/{unit.case}/evidence/",
            data={"criterion": client.rng.choice(unit.codes), "note": "Báo cáo"},
            files={"file": ("bao-cao.pdf", PDF, "application/pdf")},
            headers=api,
            timeout=120,
        )
    elif what == "submit":
        response = http.post(
            f"{base}/api/v1/cases/{unit.case}/transitions/submit/", headers=api, timeout=120
        )
        if response.status_code == 200:
            client.at += 1  # on to the next unit of the client's share
    else:  # the baseline
        response = http.post(
            f"{base}/bench-baseline/{client.rng.choice(unit.score_ids)}/", timeout=120
        )
    seconds = time.perf_counter() - start
    body = response.text[:200] if response.status_code >= 300 else ""
    return Answer(what, response.status_code, seconds, body)


def _always(kind: str) -> Callable[[Client], str]:
    """A choice of the next request that is always `kind`."""
    return lambda _client: kind


def run(
    base: str,
    clients: list[Client],
    choose: Callable[[Client], str],
    seconds: float = SECONDS,
    pause: float = 0.0,
) -> float:
    """Every client works until `seconds` have passed; returns the seconds it took.

    With `pause`, each client sends its requests at random times `pause` apart on average
    (exponentially distributed, as people who act independently arrive), whatever the
    answers took; a client whose answer came after its next time sends at once."""
    import requests

    barrier = threading.Barrier(len(clients) + 1)
    stop_at: list[float] = []

    def work(client: Client) -> None:
        with requests.Session() as http:
            barrier.wait()
            next_at = time.perf_counter()
            while not client.done:
                if pause:
                    next_at += client.rng.expovariate(1 / pause)
                    time.sleep(max(0.0, min(next_at, stop_at[0]) - time.perf_counter()))
                if time.perf_counter() >= stop_at[0]:
                    break
                client.answers.append(act(http, base, client, choose(client)))

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    stop_at.append(time.perf_counter() + seconds)
    start = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def pct(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[p - 1]


def report(label: str, clients: list[Client], seconds: float, targets: bool = False) -> float:
    """Prints a phase's figures; `targets` marks the latency targets (the paced phase's).

    Says how many clients had submitted every unit of their share, and so stopped before the
    end: their requests are missing from the phase, and its rate with them."""
    answers = _all(clients)
    rate = len(answers) / seconds
    errors = [a for a in answers if not 200 <= a.status < 300]
    print(
        f"{label}: {len(answers)} requests in {seconds:.1f} s = {rate:.1f} req/s, "
        f"errors {len(errors)}"
    )
    for what in sorted({a.what for a in answers}):
        times = [a.seconds for a in answers if a.what == what]
        target = TARGET_P95.get(what) if targets else None
        mark = f"  (target p95 < {target * 1000:.0f} ms)" if target else ""
        print(
            f"  {what:<8} {len(times):>6}  p50 {pct(times, 50) * 1000:7.0f} ms  "
            f"p95 {pct(times, 95) * 1000:7.0f} ms  p99 {pct(times, 99) * 1000:7.0f} ms{mark}"
        )
    for answer in errors[:5]:
        print(f"  error: {answer.what} {answer.status} {answer.body!r}")
    if finished := sum(c.done for c in clients):
        print(
            f"  {finished} of {len(clients)} clients had submitted their whole share before "
            f"the end: too few units per client for this phase (BENCH_DAY_UNITS)"
        )
    return rate


def main() -> None:
    sys.path.insert(0, str(ROOT))  # the apps before this folder's scripts of the same names
    from bench.common import (
        CpuMeter,
        add_cpu,
        database_tree,
        free_port,
        own_database,
        s3_tree,
        server_env,
        spent_cpu,
    )

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench/deadline_day.py needs PostgreSQL: run it with `make bench`.")
    if UNITS < CLIENTS:
        sys.exit(
            f"Each of the {CLIENTS} clients needs units of its own: BENCH_DAY_UNITS >= {CLIENTS}."
        )
    s3 = os.environ.get("TEST_S3_ENDPOINT", "")
    db_url, drop = own_database(os.environ["DATABASE_URL"], "bench_day")
    var_dir = tempfile.mkdtemp(prefix="bench-day-")  # static files, keys: as a server has
    env = server_env(
        db_url,
        MINIO_ENDPOINT=s3,
        MINIO_ACCESS_KEY="bench",
        MINIO_SECRET_KEY="bench-secret",
        MINIO_BUCKET="bench-deadline-day",
        VAR_DIR=var_dir,
        NOTIFY_EMAIL_INLINE_MAX="0",  # as in production: e-mail is the notifier's work
        DB_POOL_MAX_SIZE="10",  # as in .env.example: a pool per worker
        PYTHONPATH=str(ROOT),
    )
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    server: subprocess.Popen[bytes] | None = None
    try:
        call_command("migrate", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        if s3:
            call_command("evidence_bucket", verbosity=0)  # as a deploy does, before any upload
        load_before = _load_average()
        started = time.perf_counter()
        units = load()
        print(
            f"{UNITS} units × {LEAVES} criteria loaded in {time.perf_counter() - started:.0f} s; "
            f"{CLIENTS} clients for {SECONDS:.0f} s each phase; uvicorn with 2 workers; "
            f"evidence in {'the S3 server' if s3 else 'a local folder'}"
        )
        port = free_port()
        server = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/uvicorn"),
                *("--factory", "bench.deadline_day:server_app"),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", "2"),
                *("--log-level", "warning", "--no-access-log"),
            ],
            cwd=ROOT,
            env=env,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start") from None
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        shares: list[list[Unit]] = [units[i::CLIENTS] for i in range(CLIENTS)]

        def clients(seed: int) -> list[Client]:
            return [Client(i, shares[i], random.Random(seed * 1000 + i)) for i in range(CLIENTS)]

        kinds = [k for k, _w in MIX]
        weights = [w for _k, w in MIX]

        def mix(client: Client) -> str:
            return client.rng.choices(kinds, weights)[0]

        # Warm both workers up (URLconf, templates, connections, the caches of each kind of
        # request) before measuring, as a server is after its first hour.
        run(base, clients(0), lambda c: "baseline", 3.0)
        warm = clients(0)
        run(base, warm, mix, 5.0)
        meter = CpuMeter(
            {"server": {server.pid}, **database_tree(), **s3_tree(s3.rpartition(":")[2])}
        )
        baseline = clients(1)
        day = clients(2)
        _go_on_after(day, [warm])
        base_s = day_s = 0.0
        base_cpu: dict[str, float] = {}
        day_cpu: dict[str, float] = {}
        slices: list[float] = []
        for _ in range(SLICES):
            at, done_base, done_day = meter.read(), len(_all(baseline)), len(_all(day))
            base_slice = run(base, baseline, lambda c: "baseline", SECONDS / SLICES)
            middle = meter.read()
            day_slice = run(base, day, mix, SECONDS / SLICES)
            add_cpu(base_cpu, spent_cpu(at, middle))
            add_cpu(day_cpu, spent_cpu(middle, meter.read()))
            base_s, day_s = base_s + base_slice, day_s + day_slice
            slices.append(
                (len(_all(day)) - done_day)
                / day_slice
                / ((len(_all(baseline)) - done_base) / base_slice)
            )
        print(
            f"load average (1 min) before the run {load_before}, after the baseline and the "
            f"day {_load_average()} (on {os.cpu_count()} cores)"
        )
        base_rate = report("baseline (one indexed UPDATE and one SELECT)", baseline, base_s)
        print(cpu_line(base_cpu, len(_all(baseline))))
        day_rate = report(
            "deadline day at full speed (70 % save, 20 % sheet, 5 % upload, 5 % submit)",
            day,
            day_s,
        )
        if not day_rate:
            sys.exit("The full-speed day had no unit left to work on: give BENCH_DAY_UNITS more.")
        print(cpu_line(day_cpu, len(_all(day))))
        print(
            f"  closed loop: mean latency = {CLIENTS} clients / {day_rate:.1f} req/s = "
            f"{CLIENTS / day_rate * 1000:.0f} ms of queue and service (Little's law)"
        )
        print(
            f"throughput: {day_rate / base_rate:.3f} of the baseline's (target >= 0.30; in "
            f"slices of {SECONDS / SLICES:.0f} s: {', '.join(f'{r:.2f}' for r in slices)})"
        )
        print(cpu_ratio_line(base_cpu, len(_all(baseline)), day_cpu, len(_all(day))))
        # The peak pace, on from the units the full-speed phase submitted.
        paced = clients(3)
        _go_on_after(paced, [day])
        pause = CLIENTS / PEAK_RATE
        before = meter.read()
        paced_s = run(base, paced, mix, pause=pause)
        report(
            f"deadline day at its peak pace (every score saved within {PEAK_HOURS:g} h: "
            f"{PEAK_RATE:.1f} req/s offered, a pause of {pause:.2f} s on average per client)",
            paced,
            paced_s,
            targets=True,
        )
        print(cpu_line(spent_cpu(before, meter.read()), len(_all(paced))))
        if EACH_SECONDS:
            # Each kind alone, for where the time goes (not part of the targets).
            done = [day, paced]
            for seed, kind in enumerate(kinds, start=4):
                alone = clients(seed)
                _go_on_after(alone, done)
                done.append(alone)
                before = meter.read()
                alone_s = run(base, alone, _always(kind), EACH_SECONDS)
                report(f"{kind} alone", alone, alone_s)
                print(cpu_line(spent_cpu(before, meter.read()), len(_all(alone))))
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        from django.db import connections

        connections.close_all()
        drop()
        shutil.rmtree(var_dir, ignore_errors=True)


def cpu_line(spent: dict[str, float], requests: int) -> str:
    parts = [f"{name} {seconds * 1000 / max(requests, 1):.1f}" for name, seconds in spent.items()]
    return "  CPU per request (ms): " + ", ".join(parts)


def cpu_ratio_line(
    base: dict[str, float], base_requests: int, day: dict[str, float], day_requests: int
) -> str:
    """The throughput ratio the machine's CPU allows: the bare view's CPU per request (every
    part: server, database, S3 server, clients) over the day's. With both phases holding the
    cores busy it is the ratio itself, told by where the time goes: a slow stretch of the
    machine shows in it as more CPU per request of the day's heavy work (docs/deploy.md)."""
    if not base.get("server") or not day.get("server"):
        return "  by the CPU per request: not measured (the server's CPU is read from /proc)"
    bare = sum(base.values()) * 1000 / max(base_requests, 1)
    mix = sum(day.values()) * 1000 / max(day_requests, 1)
    return (
        f"  by the CPU per request of every part: bare view {bare:.1f} ms, the day {mix:.1f} "
        f"ms: {bare / mix:.3f} of the baseline's"
    )


def _load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def _go_on_after(clients: list[Client], done: list[list[Client]]) -> None:
    """Clients go on from the units that earlier phases submitted."""
    at = max(c.at for phase in done for c in phase) + 1
    for client in clients:
        client.at = at


def _all(clients: list[Client]) -> list[Answer]:
    return [a for c in clients for a in c.answers]


if __name__ == "__main__":
    main()
