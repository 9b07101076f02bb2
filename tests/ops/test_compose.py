"""docker-compose.yml as `docker-compose config` renders it with the example settings.

A province copies .env.example to .env and edits it. Compose uses .env to fill in
docker-compose.yml; a container sees only the variables the file lists for it. A setting the
example offers but the file does not pass on would change nothing, silently.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import yaml

from tests.drills.services import ROOT

APP_SERVICES = ("web", "worker", "notifier")
# In the example for the other services or for one command, not for the app's processes:
# the database's password (the app gets it inside DATABASE_URL) and the demo accounts'
# password (`seed_demo`, never run in production).
NOT_FOR_THE_APP = {"POSTGRES_PASSWORD", "DEMO_PASSWORD"}
# The web server's own (uvicorn's processes, the proxy it trusts): the web service only.
WEB_ONLY = {"WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS"}


def _example() -> dict[str, str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", text, flags=re.MULTILINE))


def _rendered(env_file: str) -> dict[str, Any]:
    done = subprocess.run(
        ["docker-compose", "--env-file", env_file, "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(yaml.safe_load(done.stdout)["services"])


def test_every_setting_of_the_example_reaches_the_app_s_processes_as_written() -> None:
    example = _example()
    services = _rendered(".env.example")
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        missing = {
            key: value
            for key, value in example.items()
            if key not in NOT_FOR_THE_APP
            and (name == "web" or key not in WEB_ONLY)
            and environment.get(key) != value
        }
        assert missing == {}, f"{name} does not get these as .env sets them: {missing}"


def test_a_setting_left_out_of_env_gets_the_app_s_own_default(tmp_path: Path) -> None:
    secrets = {k: token_urlsafe(32) for k in ("SECRET_KEY", "AUDIT_KEY", "MINIO_SECRET_KEY")}
    bare = tmp_path / "bare.env"  # only what compose requires
    bare.write_text(
        "".join(
            f"{k}={v}\n"
            for k, v in {
                **secrets,
                "MINIO_ACCESS_KEY": "par",
                "POSTGRES_PASSWORD": "x" * 16,
            }.items()
        ),
        encoding="utf-8",
    )
    environment = _rendered(str(bare))["web"]["environment"]
    assert environment["SESSION_COOKIE_AGE"] == "" and environment["BATCHES_ALONGSIDE"] == ""
    # The web process's settings with that environment (its folder here, not the image's).
    env = {k: str(v) for k, v in environment.items()}
    env.update(PATH=os.environ["PATH"], VAR_DIR=str(tmp_path / "var"))
    read = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings as s; "
            "print(s.SESSION_COOKIE_AGE, s.BATCHES_ALONGSIDE, s.TRANSITION_BATCH, "
            "s.SECURE_SSL_REDIRECT, repr(s.OPS_TOKEN))",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
    )
    assert read.returncode == 0, read.stderr[-2000:]
    assert read.stdout.split() == ["28800", "True", "250", "True", "''"]
