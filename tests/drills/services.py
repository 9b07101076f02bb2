"""The processes a drill starts, stops and breaks: the web server (uvicorn, as in production)
on the test database, a private S3 server (moto), and the shared PostgreSQL of `make test`,
restarted in place.

Everything a drill starts it stops by its own process id, in a `finally`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.db import connection, connections

from bench.common import free_port, server_env

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"


def wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {seconds:g} s")


def database_url_for_tests() -> str:
    """The test database pytest-django created, as a DATABASE_URL for another process."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def production_env(**overrides: str) -> dict[str, str]:
    """Environment of a production-like process of the app on the test database."""
    return server_env(
        database_url_for_tests(), LOG_FORMAT="json", PYTHONUNBUFFERED="1", **overrides
    )


@contextmanager
def web_server(env: dict[str, str], *, workers: int = 2) -> Iterator[str]:
    """uvicorn serving the app (as docker-compose's `web` does); yields its base URL."""
    port = free_port()
    handle, log_path = tempfile.mkstemp(prefix="drill-web-", suffix=".log")
    server = subprocess.Popen(
        [
            str(VENV_BIN / "uvicorn"),
            "config.asgi:application",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--workers={workers}",
            "--log-level=warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    os.close(handle)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the web server did not start:\n{Path(log_path).read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        os.unlink(log_path)


# --- PostgreSQL ----------------------------------------------------------------------------


def _as_postgres(*command: str) -> list[str]:
    if os.geteuid() == 0:  # pg_ctl refuses to run as root (as scripts/with-services.sh does)
        return ["runuser", "-u", "postgres", "--", *command]
    return list(command)


def restart_postgres() -> float:
    """Restart the shared PostgreSQL of `make test` (fast mode: sessions are terminated and
    open transactions rolled back, as in a failover or a restart for an upgrade); waits until
    it accepts connections again. Returns the seconds it was gone."""
    pg_bin, pg_data = os.environ.get("TEST_PG_BIN"), os.environ.get("TEST_PG_DATA")
    if not (pg_bin and pg_data):
        pytest.fail("TEST_PG_BIN / TEST_PG_DATA are not set: run the tests with `make test`.")
    # The server's output goes to its log file, not to pipes: the new postmaster would keep
    # them open and a caller waiting for their end would wait forever.
    log = Path(os.environ.get("TEST_SERVICES_DIR", pg_data)) / "sock" / "pg.log"
    pg_ctl = [f"{pg_bin}/pg_ctl", "-D", pg_data, "-l", str(log), "-w", "-t", "60"]
    started = time.monotonic()
    result = subprocess.run(
        _as_postgres(*pg_ctl, "-m", "fast", "restart"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    if result.returncode != 0:  # leave it up for the tests after this one, whatever happened
        subprocess.run(
            _as_postgres(*pg_ctl, "start"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        pytest.fail(f"pg_ctl restart failed with status {result.returncode}; see {log}")
    return time.monotonic() - started


def reset_django_connections() -> None:
    """This process's connections died with the restart: drop them so the next query (the
    drill's checks, pytest-django's flush) opens a fresh one."""
    for conn in connections.all(initialized_only=True):
        conn.close()


# --- a private S3 server ------------------------------------------------------------------


# States of a server-side socket whose request is not answered yet (include/net/tcp_states.h):
# SYN_RECV (handshake not accepted), ESTABLISHED, CLOSE_WAIT (the client gave up; the server
# has still to read the request and close).
_WAITING_FOR_SERVER = {"03", "01", "08"}


def _tcp_sockets() -> list[tuple[str, str]]:
    """(local address, state) of every IPv4 TCP socket, as /proc/net/tcp gives them in hex."""
    with open("/proc/net/tcp") as table:
        next(table)
        return [(row.split()[1], row.split()[3]) for row in table]


class MotoServer:
    """moto in server mode on a port of its own, so a drill can freeze it and thaw it.

    moto keeps objects in memory: killing it would lose what it stored (MinIO keeps them on
    disk), so a drill freezes it instead (SIGSTOP: connections hang, as with a hung server or
    a network that drops packets) and thaws it (SIGCONT), and its objects can be compared
    with the rows afterwards.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def idle(self) -> bool:
        """Whether every connection made to it has had its answer: none is waiting to be
        accepted, read or answered (the kernel's table of this port's TCP sockets)."""
        return not any(
            int(local.rsplit(":", 1)[1], 16) == self.port and state in _WAITING_FOR_SERVER
            for local, state in _tcp_sockets()
        )

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
