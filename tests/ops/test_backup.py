"""Backup and restore (`manage.py backup` / `restore`): taken while the installation works,
brought back into an empty one, where `verify_audit` finds the archive's head; refused into
one that already holds data. For the embedded default (SQLite, a local evidence folder) and
for production's PostgreSQL with the S3 store."""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import requests
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from minio import Minio

from bench.common import server_env
from bench.embedded import database, embedded_server, manage
from bench.evidence import _make_file, _multipart_post
from cases.models import Case
from deadlines.runner import run_after_sweep
from evidence.models import Document
from tests.drills.services import ROOT
from tests.evidence import samples
from tests.evidence.helpers import S3_ACCESS, S3_SECRET, new_bucket, s3_endpoint, upload, use_s3
from tests.helpers import fill_self_scores
from tests.ops.helpers import Embedded
from workflow import services

HEAD = re.compile(r"Audit head: #(\d+) ([0-9a-f]{64})")


def counts(db: Any) -> dict[str, int]:
    return {
        table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("cases_case", "cases_score", "evidence_document", "auth_user")
    }


def files_of(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_the_embedded_default_backed_up_while_it_runs_comes_back_whole_in_an_empty_one(
    embedded: Embedded, tmp_path: Path
) -> None:
    old, new, archive = embedded.var_dir, tmp_path / "new", tmp_path / "par.tar"
    unit, served = embedded.spare, embedded.served
    embedded.settle()
    scan = _make_file(tmp_path, 1)
    port = int(served.base.rsplit(":", 1)[1])
    path = f"/api/v1/cases/{unit.case}/evidence/"
    assert _multipart_post(port, path, unit.token, unit.codes[1], scan)[0] == 201
    backed_up = manage(old, "backup", f"--output={archive}")  # while its server runs
    assert backed_up.returncode == 0, backed_up.stderr
    head = HEAD.search(backed_up.stdout)
    assert head is not None, backed_up.stdout

    assert manage(new, "migrate", "--noinput").returncode == 0  # a new, empty installation
    restored = manage(new, "restore", str(archive))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert f"The recorded head #{head.group(1)} is unchanged in the trail." in restored.stdout
    assert counts(database(new)) == counts(database(old))
    assert files_of(new / "evidence") == files_of(old / "evidence") != {}
    assert (new / "audit.key").read_text() == (old / "audit.key").read_text()
    # The old installation's sign-ins work on the new one: same data, same secret key.
    with embedded_server(new) as restored_server:
        page = requests.get(
            f"{restored_server.base}/cases/{unit.case}/",
            cookies={"sessionid": unit.session},
            timeout=30,
            allow_redirects=False,
        )
        assert page.status_code == 200

    before = counts(database(new))
    again = manage(new, "restore", str(archive))
    assert again.returncode == 1
    assert "this installation already holds data (9 units" in again.stderr
    assert "nothing changed" in again.stderr
    assert counts(database(new)) == before


@pytest.fixture
def empty_postgresql() -> Iterator[str]:
    """A new database on the PostgreSQL of the tests, dropped afterwards."""
    db = connection.settings_dict
    name = f"par_restore_{uuid.uuid4().hex[:12]}"
    admin = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_postgresql_with_the_s3_store_comes_back_with_every_object_and_its_retention(
    world: SimpleNamespace, settings: Any, tmp_path: Path, empty_postgresql: str
) -> None:
    use_s3(settings, s3_endpoint(), new_bucket())
    first = samples.pdf(40_000)
    criteria = list(
        world.case_a.scores.filter(criterion__evidence_required=True)
        .order_by("criterion__code")
        .values_list("criterion__code", flat=True)[:2]
    )
    for criterion, content in zip(criteria, (first, samples.pdf(50_000)), strict=True):
        assert upload(world.staff_a, world.case_a, criterion, content).status_code == 201
    fill_self_scores(world.case_a)
    services.run_transition(world.case_a.pk, "submit", actor=world.head_a)
    run_after_sweep()  # the worker's pass keeps the report as it was sent
    # the two evidence files and the self-assessment report kept as it was sent
    assert Document.objects.filter(retained_until__isnull=False).count() == 3

    archive = tmp_path / "par.tar"
    out = io.StringIO()
    call_command("backup", output=str(archive), stdout=out)
    head = HEAD.search(out.getvalue())
    assert head is not None, out.getvalue()

    bucket = new_bucket()
    env = server_env(
        empty_postgresql,
        MINIO_ENDPOINT=s3_endpoint(),
        MINIO_ACCESS_KEY=S3_ACCESS,
        MINIO_SECRET_KEY=S3_SECRET,
        MINIO_BUCKET=bucket,
        MINIO_SECURE="false",
        AUDIT_KEY=django_settings.AUDIT_KEY,  # the operator's key, from the environment
        VAR_DIR=str(tmp_path / "var"),
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    assert run("migrate", "--noinput").returncode == 0  # the new, empty installation
    restored = run("restore", str(archive))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert f"The recorded head #{head.group(1)} is unchanged in the trail." in restored.stdout

    store = Minio(s3_endpoint(), S3_ACCESS, S3_SECRET, secure=False, region="us-east-1")
    with psycopg.connect(empty_postgresql) as conn:
        rows = conn.execute(
            "SELECT storage_key, version_id, sha256, retained_until FROM evidence_document"
        ).fetchall()
        assert conn.execute(
            "SELECT state FROM cases_case WHERE id = %s", [world.case_a.pk]
        ).fetchone() == (Case.State.SUBMITTED,)
    assert len(rows) == 3
    for key, version_id, sha256, retained_until in rows:
        response = store.get_object(bucket, key, version_id=version_id)
        assert hashlib.sha256(response.read()).hexdigest() == sha256
        response.close()
        metadata = store.stat_object(bucket, key, version_id=version_id).metadata
        assert metadata is not None
        meta = {k.lower(): v for k, v in metadata.items()}
        assert meta["x-amz-object-lock-mode"] == "GOVERNANCE"
        until = meta["x-amz-object-lock-retain-until-date"].replace("Z", "+00:00")
        assert datetime.fromisoformat(until) == retained_until

    again = run("restore", str(archive))
    assert again.returncode == 1 and "already holds data" in again.stderr
