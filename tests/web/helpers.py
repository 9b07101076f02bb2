"""Helpers of the page tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection
from django.test import Client

from bench.common import free_port

ROOT = Path(__file__).resolve().parents[2]

# Debian's Chromium, headless, quiet (see the browser fixture in tests/web/conftest.py).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def htmx(client: Client, url: str, data: dict[str, Any]) -> Any:
    """POST as HTMX does from a page (the autosave)."""
    return client.post(url, data, HTTP_HX_REQUEST="true")


@contextmanager
def asgi_server_on_test_database(tmp_path: Path, **env: str) -> Iterator[str]:
    """`manage.py runserver` (the ASGI server, with the layer that refuses a body before
    reading it) on the test database, in its own process; yields its base URL. The channel
    layer is Redis only when `REDIS_URL` is given. Its log is printed (shown when a test
    fails)."""
    url = urlsplit(os.environ["DATABASE_URL"])
    database = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database,
        "SWEEP_IN_PROCESS": "false",
        "DJANGO_ALLOW_ASYNC_UNSAFE": "",
        "VAR_DIR": str(tmp_path / "var"),
    }
    environment.pop("REDIS_URL", None)
    environment.update(env)
    log_path = tmp_path / "asgi.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    if server.poll() is not None:
                        pytest.fail(log_path.read_text())
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(10)
    print(log_path.read_text()[-3000:])
