"""Shared set-up for the benchmarks: Django on the PostgreSQL that `make bench` started,
in a throwaway database created for the run and dropped after it."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def as_production() -> None:
    """Settings as production runs them, for a benchmark's own process: DEBUG on would keep
    every query's text with its values written in, and format it; the logs are as quiet as
    the benchmarks' servers' (`server_env`); pushes go to the Redis `make bench` started, as
    production's go to its Redis (the in-memory layer, with no page listening, costs
    nothing)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("REDIS_URL", os.environ.get("TEST_REDIS_URL", ""))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if os.environ.setdefault("DEBUG", "false") == "false":
        import secrets

        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    as_production()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Run the benchmarks with `make bench` (they need PostgreSQL).")
    import django

    django.setup()


@contextmanager
def bench_database() -> Iterator[None]:
    """A fresh, migrated database for this run (Django's test database machinery)."""
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def free_port() -> int:
    """A TCP port free on loopback now, for a server the benchmark starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def own_database(url: str, suffix: str) -> tuple[str, Callable[[], None]]:
    """A database of the benchmark's own on the server `url` names (for servers started as
    separate processes, which cannot share a test transaction); returns its URL and a
    function that drops it."""
    import psycopg

    base, _slash, name = url.rpartition("/")
    mine = f"{name.split('?')[0]}_{suffix}"
    admin = psycopg.connect(url, autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{mine}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{mine}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{mine}" WITH (FORCE)')
        admin.close()

    return f"{base}/{mine}", drop


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed_with_cpu(fn: Callable[[], Any]) -> tuple[float, float]:
    """Elapsed time and this process's CPU time (all its threads) of `fn()`: on a machine
    others load too, the elapsed time of heavy work suffers most, and the CPU time shows
    how much (the database's work is not in it)."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


class CpuMeter:
    """CPU seconds (user + system) used by the parts of a run, read from /proc (Linux): each
    named tree of processes (a server and its workers, the database server and its
    backends), and this process under `this`. Tells where a request's or a transition's
    time goes; a part /proc cannot read is left out. Counted in clock ticks (10 ms): read
    it around whole phases, not single requests."""

    def __init__(self, roots: dict[str, set[int]], this: str = "clients") -> None:
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.this = this
        self.roots = {name: pids for name, pids in roots.items() if pids}

    def read(self) -> dict[str, float]:
        parents: dict[int, int] = {}
        used: dict[int, float] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            pid = int(stat.parent.name)
            parents[pid] = int(fields[1])
            used[pid] = (int(fields[11]) + int(fields[12])) / self.tick
        out = {}
        for name, roots in self.roots.items():
            tree, grew = set(roots), True
            while grew:
                more = {pid for pid, parent in parents.items() if parent in tree} - tree
                tree |= more
                grew = bool(more)
            out[name] = sum(used.get(pid, 0.0) for pid in tree)
        times = os.times()
        out[self.this] = times.user + times.system
        return out


def database_tree() -> dict[str, set[int]]:
    """The PostgreSQL server `scripts/with-services.sh` started (its postmaster), for a
    `CpuMeter`; none when it cannot be found."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid_file = Path(os.environ.get("TEST_PG_DATA", ""), "postmaster.pid")
        return {"database": {int(pid_file.read_text().split()[0])}}
    return {}


def s3_tree(port: str) -> dict[str, set[int]]:
    """The S3 server listening on `port` (its own argument on the command line, as
    `scripts/with-services.sh` starts it), for a `CpuMeter`; none without a port or when it
    cannot be found."""
    if not port:
        return {}
    found = set()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError, UnicodeDecodeError):
            args = cmdline.read_bytes().decode().split("\0")
            if any("moto_server" in arg for arg in args) and port in args:
                found.add(int(cmdline.parent.name))
    return {"S3": found} if found else {}


def spent_cpu(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """The CPU seconds each part used between two readings of the meter."""
    return {name: after[name] - before[name] for name in after}


def add_cpu(total: dict[str, float], spent: dict[str, float]) -> None:
    for name, seconds in spent.items():
        total[name] = total.get(name, 0.0) + seconds


def commune_province(n_units: int, title: str) -> tuple[Any, Any, list[Any], list[Any]]:
    """An open cycle of `n_units` communes, each with a head, every case ready to submit
    (self scores entered, written explanations where evidence is required).

    Returns (secretariat, cycle, units, heads), heads[i] being the head of units[i].
    """
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from cases import frameworks
    from cases.models import Case, Cycle, Membership, Method, Score, Unit, UnitGroup
    from cases.permissions import SECRETARIAT, ensure_role_groups, sync_case_permissions
    from workflow import cycle_services

    ensure_role_groups()
    secretariat = User.objects.create_user("secretariat")
    secretariat.groups.add(Group.objects.get(name=SECRETARIAT))
    group = UnitGroup.objects.create(code="khoi_xa", name="Khối xã")
    units = Unit.objects.bulk_create(
        [Unit(code=f"X{i:04}", name=f"Xã {i}", group=group) for i in range(n_units)]
    )
    password = make_password("x")
    heads = User.objects.bulk_create(
        [User(username=f"x{i:04}.head", password=password) for i in range(n_units)]
    )
    Membership.objects.bulk_create(
        [Membership(user=h, unit=u, role="head") for h, u in zip(heads, units, strict=True)]
    )
    today = timezone.localdate()
    cycle = Cycle.objects.create(
        year=today.year,
        title=title,
        authority="UBND",
        self_assessment_due=today.replace(year=today.year + 1),
        appraisal_due=today.replace(year=today.year + 2),
    )
    frameworks.load_builtin("khoi_xa", cycle=cycle, unit_group=group)
    cycle_services.open_cycle(cycle.pk, actor=secretariat)
    sync_case_permissions(Case.objects.filter(cycle=cycle))
    Score.objects.exclude(
        criterion__method__in=[Method.SURVEY, Method.BONUS, Method.PENALTY]
    ).update(self_score=0)
    # Leaves that require evidence: a written explanation, which the submit guard accepts.
    Score.objects.filter(criterion__evidence_required=True).update(
        evidence_explanation="Số liệu theo báo cáo CCHC năm của đơn vị."
    )
    return secretariat, cycle, units, heads


def server_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a production-like process of the app (uvicorn, a worker) on the
    given database: the Redis `make bench` started, no object store, e-mail kept in memory,
    quiet logs."""
    import secrets

    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        SWEEP_IN_PROCESS="false",
        MINIO_ENDPOINT="",
        REDIS_URL=os.environ.get("TEST_REDIS_URL", ""),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DB_CONN_MAX_AGE="0",  # as in production: see .env.example
    )
    env.update(overrides)
    return env


def manual_framework(leaves: int) -> dict[str, Any]:
    """A framework of `leaves` manual 1-point criteria in four areas, each requiring
    evidence, with titles as long as real ones (the page benchmarks and query-count tests)."""
    per_area = leaves // 4
    return {
        "id": f"f{leaves}",
        "areas": [
            {
                "code": str(a),
                "title": f"Lĩnh vực {a}",
                "max_points": per_area,
                "criteria": [
                    {
                        "code": f"{a}.{i}",
                        "title": f"Tiêu chí {a}.{i}: nội dung đánh giá của tiêu chí thành phần",
                        "max_points": 1,
                        "method": "manual",
                        "evidence_required": True,
                    }
                    for i in range(1, per_area + 1)
                ],
            }
            for a in range(1, 5)
        ],
    }
