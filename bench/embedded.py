"""The embedded default under load: SQLite and `make run`'s server, many units at once.

For 8, 16 and 32 clients (each a unit's head), in the same run on a fresh installation
each: every client saves 50 self scores and submits its case, against the baseline of the
same clients each reading their case page as often. Printed for each: errors (target 0),
requests per second and p95 latency. Figures, not asserted times.

The helpers here (an installation in a folder of its own, its province, its server) are
also what tests/ops/test_embedded.py runs the embedded default with.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
# What a user's shell passes on; nothing of the test services (DATABASE_URL, REDIS_URL, …),
# so that the processes run on the embedded default.
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "SQLITE_WRITERS", "HTTP_TURNS")
NOTE = "Ghi chú {case}/{code}"


def embedded_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of `make run` on an installation kept in `var_dir`."""
    env = {k: v for k, v in os.environ.items() if k in PASSED_ON}
    env.update(VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING")
    env.update(overrides)
    return env


def manage(var_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PYTHON), "manage.py", *args],
        cwd=ROOT,
        env=embedded_env(var_dir, **env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@dataclass
class Unit:
    case: int
    token: str
    session: str  # a signed-in page session of the same head
    codes: list[str] = field(default_factory=list)  # the leaves the unit scores itself


def prepare(var_dir: Path, units: int) -> list[Unit]:
    """A migrated installation with an open cycle of `units` communes, each with its head."""
    for step in (
        ("migrate", "--noinput"),
        ("shell", "-c", f"from bench.embedded import _seed; _seed({units})"),
    ):
        result = manage(var_dir, *step)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {step[0]} failed:\n{result.stdout}{result.stderr}")
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    return [Unit(**row) for row in rows]


def _seed(units: int) -> None:
    """Runs inside the installation's own process (manage.py shell): prints the units."""
    import secrets

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authtoken.models import Token

    from bench.common import commune_province
    from cases.models import Case, Method, Score

    _secretariat, cycle, unit_rows, heads = commune_province(units, "Chỉ số CCHC thử tải")
    out = []
    for unit, head in zip(unit_rows, heads, strict=True):
        case = Case.objects.get(cycle=cycle, unit=unit)
        token = Token.objects.create(user=head, key=secrets.token_hex(20))
        session = SessionStore()
        session[SESSION_KEY] = str(head.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = head.get_session_auth_hash()
        session.create()
        codes = list(
            Score.objects.filter(case=case)
            .exclude(criterion__method__in=[Method.SURVEY, Method.BONUS, Method.PENALTY])
            .order_by("criterion__code")
            .values_list("criterion__code", flat=True)
        )
        out.append(
            {"case": case.pk, "token": token.key, "session": session.session_key, "codes": codes}
        )
    print(json.dumps(out))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served(NamedTuple):
    base: str
    pid: int


@contextmanager
def embedded_server(var_dir: Path, **env: str) -> Iterator[Served]:
    """The server of `make run` (scripts/serve.sh) on the installation in `var_dir`; yields
    its base URL and process id."""
    import requests

    port = free_port()
    log_path = var_dir / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "serve.sh"), "--no-access-log"],
            cwd=ROOT,
            env=embedded_env(var_dir, PORT=str(port), UVICORN_LOG_LEVEL="warning", **env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield Served(base, server.pid)  # the script execs the server: same process
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- what the clients do ------------------------------------------------------------------


@dataclass
class Answer:
    what: str  # "save", "submit", "read"
    status: int
    seconds: float
    body: str = ""


def save_and_submit(base: str, unit: Unit, saves: int | None = None) -> list[Answer]:
    """The unit's head saves its self scores (each leaf once, or `saves` saves going round
    the leaves) with a note naming the leaf, then submits the case, through the API."""
    import requests

    answers = []
    headers = {"Authorization": f"Token {unit.token}"}
    codes = unit.codes if saves is None else [unit.codes[i % len(unit.codes)] for i in range(saves)]
    with requests.Session() as http:
        for code in codes:
            answers.append(
                _timed(
                    "save",
                    partial(
                        http.put,
                        f"{base}/api/v1/cases/{unit.case}/scores/{code}/",
                        json={"self_score": 0, "note": NOTE.format(case=unit.case, code=code)},
                        headers=headers,
                        timeout=120,
                    ),
                )
            )
        answers.append(
            _timed(
                "submit",
                lambda: http.post(
                    f"{base}/api/v1/cases/{unit.case}/transitions/submit/",
                    headers=headers,
                    timeout=120,
                ),
            )
        )
    return answers


def read_case_page(base: str, unit: Unit, times: int) -> list[Answer]:
    """The unit's head opens its case page `times` times (signed in, as in a browser)."""
    import requests

    with requests.Session() as http:
        http.cookies.set("sessionid", unit.session)
        return [
            _timed("read", lambda: http.get(f"{base}/cases/{unit.case}/", timeout=120))
            for _ in range(times)
        ]


def _timed(what: str, send: Callable[[], Any]) -> Answer:
    start = time.perf_counter()
    response = send()
    seconds = time.perf_counter() - start
    body = response.text[:300] if response.status_code >= 300 else ""
    return Answer(what, response.status_code, seconds, body)


def all_at_once(
    units: list[Unit], work: Callable[[Unit], list[Answer]]
) -> tuple[list[Answer], float]:
    """Each unit's work in a thread of its own, all starting at the same moment."""
    barrier = threading.Barrier(len(units) + 1)
    results: list[list[Answer]] = [[] for _ in units]

    def run(index: int) -> None:
        barrier.wait()
        results[index] = work(units[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(units))]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return [a for r in results for a in r], time.perf_counter() - start


# --- reading the installation back --------------------------------------------------------


def database(var_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(var_dir / "db.sqlite3")


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


CLIENTS = [int(n) for n in os.environ.get("BENCH_CLIENTS", "8,16,32").split(",")]
SAVES = int(os.environ.get("BENCH_SAVES", "50"))


def report(label: str, answers: list[Answer], seconds: float) -> float:
    errors = [a for a in answers if a.status != 200]
    rate = len(answers) / seconds
    print(
        f"  {label:<18} {len(answers):>5} requests  errors {len(errors):>3}  "
        f"{rate:6.1f} req/s  p95 {p95([a.seconds for a in answers]) * 1000:6.0f} ms"
    )
    for answer in errors[:3]:
        print(f"    {answer.what} {answer.status}: {answer.body}")
    return rate


def main() -> None:
    print(f"Embedded default (SQLite, the make run server): {SAVES} saves and a submit per client")
    for clients in CLIENTS:
        var_dir = Path(tempfile.mkdtemp(prefix="bench-embedded-"))
        try:
            units = prepare(var_dir, clients)
            with embedded_server(var_dir) as (base, _pid):
                reads, read_s = all_at_once(units, lambda u: read_case_page(base, u, SAVES + 1))
                writes, write_s = all_at_once(units, lambda u: save_and_submit(base, u, SAVES))
            print(f"{clients} clients:")
            read_rate = report("reading case page", reads, read_s)
            write_rate = report("saving + submit", writes, write_s)
            print(f"  writes at {write_rate / read_rate:.2f}x the rate of reads")
            submitted = database(var_dir).execute(
                "SELECT count(*) FROM cases_case WHERE state = 'submitted'"
            )
            print(f"  cases submitted: {submitted.fetchone()[0]} of {clients}")
        finally:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
