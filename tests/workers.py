"""Servers of its own for each pytest-xdist worker (`make test` runs the suite in parallel).

Separate test databases on one PostgreSQL are not enough: advisory locks (the audit chains'
appends, workflow/audit.py) are server-wide and the row ids of two workers' databases are
alike, so two workers would wait on each other's locks, and a drill that restarts PostgreSQL
would cut every worker's connections. Redis Pub/Sub channels, which the channel layer uses,
are server-wide too. So each worker starts its own PostgreSQL and Redis (about a second) in a
folder of its own under the run's services folder, and points the settings and the
environment (read by the processes the tests start) at them. The S3 server stays shared:
every test makes a bucket of its own.

Outside a worker (a plain `pytest` run) nothing changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from django.db import connections

from bench.common import free_port
from tests.notifications.helpers import RedisServer

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def as_postgres(*command: str) -> list[str]:
    """PostgreSQL's tools refuse to run as root: run them as its own user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return list(command)


def _run(*command: str, check: bool = True) -> None:
    subprocess.run(
        as_postgres(*command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=check,
    )


class Worker:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pg_data = folder / "pg"
        self.pg_bin = os.environ.get("TEST_PG_BIN", "")
        self.redis: RedisServer | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)  # PostgreSQL's user passes through it, whatever the umask
        if self.pg_bin:
            self._start_postgres()
        if os.environ.get("TEST_REDIS_URL"):
            self.redis = RedisServer(self.folder / "redis")
            self.redis.start()
            os.environ["TEST_REDIS_URL"] = self.redis.url

    def _start_postgres(self) -> None:
        sock = self.folder / "sock"
        for path in (self.pg_data, sock):
            path.mkdir(mode=0o755)
            if os.geteuid() == 0:
                shutil.chown(path, "postgres")
        _run(
            f"{self.pg_bin}/initdb", "--no-sync", "-A", "trust", "-E", "UTF8",
            "--locale=C.UTF-8", "-U", "postgres", "-D", str(self.pg_data),
        )  # fmt: skip
        for attempt in range(3):  # another process may take the free port before the server
            port = free_port()
            options = (
                f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            try:
                _run(
                    f"{self.pg_bin}/pg_ctl", "-D", str(self.pg_data), "-w",
                    "-l", str(sock / "pg.log"), "start", "-o", options,
                )  # fmt: skip
                break
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise
        _run(f"{self.pg_bin}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "par")
        os.environ.update(
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/par",
            TEST_PG_DATA=str(self.pg_data),
            TEST_PG_PORT=str(port),
            # The drills find the server's log under it (tests/drills/services.py).
            TEST_SERVICES_DIR=str(self.folder),
        )
        # The settings were read before this worker had a server of its own; the connections
        # share these dictionaries, and none is open yet (closed all the same).
        from django.conf import settings

        for alias in settings.DATABASES:
            settings.DATABASES[alias]["HOST"] = "127.0.0.1"
            settings.DATABASES[alias]["PORT"] = str(port)
        connections.close_all()

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.pg_bin and (self.pg_data / "postmaster.pid").exists():
            _run(
                f"{self.pg_bin}/pg_ctl",
                "-D",
                str(self.pg_data),
                "-m",
                "immediate",
                "stop",
                check=False,
            )
        shutil.rmtree(self.folder, ignore_errors=True)


_worker: Worker | None = None


def isolate() -> None:
    """In an xdist worker: start its servers and point everything at them."""
    global _worker
    if not WORKER or _worker is not None:
        return
    base = os.environ.get("TEST_SERVICES_DIR")
    if not base:
        return
    _worker = Worker(Path(base) / f"worker-{WORKER}")
    _worker.start()


def release() -> None:
    global _worker
    if _worker is not None:
        _worker.stop()
        _worker = None
