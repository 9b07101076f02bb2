"""Evidence upload: throughput against a plain SDK put, and memory of the server process.

Run by `make bench` (which starts PostgreSQL and the S3 server and exports DATABASE_URL and
TEST_S3_ENDPOINT). Self-contained: it creates its own database and bucket and drops them.

For a 20 MB and a 200 MB file it measures, in the same run and against the same S3 server:
- baseline: a plain `minio` SDK `put_object` of the same bytes, streamed from the file,
  timed back to back with each application upload (median of the rounds' ratios);
- application: a multipart POST /api/v1/cases/{id}/evidence/ to the Django application served
  by a WSGI server in a child process — the whole upload path: HTTP, the upload handler
  spooling the body, the type check from the bytes, the streamed put with its SHA-256, the
  database rows and the audit entry;
- the peak resident memory of the server process during the upload, above its level before
  (Linux VmHWM, reset before each upload through /proc/PID/clear_refs).
Targets: application throughput >= 0.7 x baseline at 200 MB; memory growth < 64 MB for both.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
SIZES = (20, 200)
# The S3 server's speed varies ±30 % from one upload to the next (and other work on the
# machine adds to it): each round times both uploads back to back, and the ratio reported
# is the median of the rounds' ratios.
ROUNDS = {20: 4, 200: 6}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status_kb(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def _reset_peak(pid: int | str) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


# --- the server child -----------------------------------------------------------------------


def serve(port: int) -> None:
    """Serve the application over HTTP (wsgiref: single-threaded, no extra buffering)."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    import django

    django.setup()
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = make_server("127.0.0.1", port, get_wsgi_application(), handler_class=Quiet)
    server.serve_forever()


# --- the measuring parent -------------------------------------------------------------------

SERVERS = (
    (
        "WSGI server (the application's upload path alone)",
        [sys.executable, __file__, "--serve"],
        ROUNDS,
    ),
    (
        "daphne, the production ASGI server (it receives the whole body before the app runs)",
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "--verbosity",
            "0",
            "config.asgi:application",
            "-p",
        ],
        {20: 1, 200: 1},  # slow and memory-hungry: once is enough to show it
    ),
    (
        "uvicorn, the production ASGI server since (it streams the body to the app)",
        [
            str(ROOT / ".venv" / "bin" / "uvicorn"),
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--log-level",
            "warning",
            "--no-access-log",
            "--port",
        ],
        {20: 1, 200: 1},
    ),
)


def _start(command: list[str], port: int) -> subprocess.Popen[str]:
    server = subprocess.Popen([*command, str(port)], cwd=ROOT, stdout=subprocess.DEVNULL, text=True)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit(f"server {command} did not start")


def _make_file(folder: Path, size_mb: int) -> Path:
    """A PDF-looking file of exactly `size_mb` MiB (random bytes: nothing compresses)."""
    path = folder / f"evidence-{size_mb}mb.pdf"
    head, tail = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n"
    with open(path, "wb") as out:
        out.write(head)
        left = size_mb * MB - len(head) - len(tail)
        while left > 0:
            block = os.urandom(min(left, MB))
            out.write(block)
            left -= len(block)
        out.write(tail)
    return path


def _multipart_post(
    port: int, path: str, token: str, criterion: str, file: Path
) -> tuple[int, dict]:
    """POST the file as multipart/form-data, streamed from disk in 1 MiB writes."""
    boundary = uuid.uuid4().hex
    name = "Báo cáo kết quả.pdf"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="criterion"\r\n\r\n{criterion}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + file.stat().st_size + len(tail)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(length))
    conn.putheader("Authorization", f"Token {token}")
    conn.endheaders()
    conn.send(head)
    with open(file, "rb") as source:
        while chunk := source.read(MB):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, json.loads(body or b"{}")


def _world() -> tuple[int, str]:
    """A unit, its open cycle and its staff member's API token."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from cases import frameworks
    from cases.models import Case, Cycle, Unit, UnitGroup
    from cases.permissions import SECRETARIAT, ensure_role_groups
    from deadlines.calendar import local_date
    from workflow import cycle_services

    ensure_role_groups()
    users = get_user_model()
    secretariat = users.objects.create_user("bench.secretariat")
    secretariat.groups.add(Group.objects.get(name=SECRETARIAT))
    staff = users.objects.create_user("bench.staff")
    today = local_date(timezone.now())
    group = UnitGroup.objects.create(code="khoi_so", name="Khối sở")
    unit = Unit.objects.create(code="STP", name="Sở Tư pháp", group=group)
    from datetime import timedelta

    cycle = Cycle.objects.create(
        year=today.year,
        title="Bench",
        authority="UBND tỉnh",
        self_assessment_due=today + timedelta(days=30),
        appraisal_due=today + timedelta(days=60),
    )
    frameworks.load_builtin("khoi_so", cycle=cycle, unit_group=group)
    cycle_services.add_membership(staff, unit, "staff", actor=secretariat)
    cycle_services.open_cycle(cycle.pk, actor=secretariat)
    case = Case.objects.get(cycle=cycle, unit=unit)
    return case.pk, Token.objects.create(user=staff).key


def _measure(port: int, server_pid: int, case_id: int, token: str, file: Path) -> tuple[float, int]:
    from evidence.models import Document

    before = _status_kb(server_pid, "VmRSS")
    _reset_peak(server_pid)
    started = time.perf_counter()
    status, body = _multipart_post(port, f"/api/v1/cases/{case_id}/evidence/", token, "1.1.1", file)
    elapsed = time.perf_counter() - started
    peak = _status_kb(server_pid, "VmHWM")
    if status != 201:
        raise SystemExit(f"upload failed: {status} {body}")
    document = Document.objects.get(pk=body["id"])
    assert document.size == file.stat().st_size
    return elapsed, (peak - before) * 1024


def _baseline(client: object, bucket: str, file: Path) -> tuple[float, int]:
    before = _status_kb("self", "VmRSS")
    _reset_peak("self")
    key = f"baseline/{uuid.uuid4().hex}"
    started = time.perf_counter()
    with open(file, "rb") as source:
        client.put_object(bucket, key, source, file.stat().st_size, content_type="application/pdf")  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    peak = _status_kb("self", "VmHWM")
    return elapsed, (peak - before) * 1024


def _empty_bucket(client: object, bucket: str) -> None:
    """Free the S3 server's memory between rounds (it keeps every object in RAM)."""
    for obj in client.list_objects(bucket, recursive=True, include_version=True):  # type: ignore[attr-defined]
        client.remove_object(bucket, obj.object_name, version_id=obj.version_id)  # type: ignore[attr-defined]


def main() -> None:
    database_url = os.environ.get("DATABASE_URL", "")
    endpoint = os.environ.get("TEST_S3_ENDPOINT", "")
    if not database_url.startswith("postgres") or not endpoint:
        raise SystemExit("Run with `make bench` (needs DATABASE_URL and TEST_S3_ENDPOINT).")
    import psycopg

    db_name = f"par_bench_evidence_{os.getpid()}"
    parts = urlsplit(database_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db_name}"')
    work = Path(tempfile.mkdtemp(prefix="bench-evidence-"))
    bucket = f"bench-{uuid.uuid4().hex[:20]}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": urlunsplit(parts._replace(path=f"/{db_name}")),
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MINIO_ENDPOINT": endpoint,
            "MINIO_ACCESS_KEY": "bench",
            "MINIO_SECRET_KEY": "bench-secret-" + uuid.uuid4().hex,
            "SECURE_SSL_REDIRECT": "false",  # plain http on loopback
            "MINIO_BUCKET": bucket,
            "MINIO_SECURE": "false",
            "EVIDENCE_MAX_UPLOAD_MB": str(max(SIZES) + 10),
            "VAR_DIR": str(work / "var"),
            "LOG_LEVEL": "WARNING",
        }
    )
    server: subprocess.Popen[str] | None = None
    try:
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command
        from minio import Minio

        call_command("migrate", verbosity=0)
        call_command("evidence_bucket", verbosity=0, stdout=io.StringIO())
        case_id, token = _world()
        client = Minio(endpoint, "bench", "bench-secret", secure=False, region="us-east-1")
        files = {size: _make_file(work, size) for size in (1, *SIZES)}
        print(f"Evidence upload on the S3 server ({endpoint})")
        verdicts = []
        for label, command, rounds in SERVERS:
            port = _free_port()
            server = _start(command, port)
            _measure(port, server.pid, case_id, token, files[1])  # imports, connections
            _empty_bucket(client, bucket)
            print(f"\n{label}")
            print(
                f"{'size':>7} {'put_object':>12} {'application':>12} {'ratio':>6}"
                f" {'server mem +':>13} {'put mem +':>10}   (median of rounds)"
            )
            results = {}
            for size in SIZES:
                base_times, app_times, app_mem, base_mem = [], [], [], []
                for turn in range(rounds[size]):
                    # Alternate which goes first: the S3 server is faster on memory it
                    # already allocated for the previous object.
                    for which in ("base", "app") if turn % 2 == 0 else ("app", "base"):
                        if which == "base":
                            elapsed, grown = _baseline(client, bucket, files[size])
                            base_times.append(elapsed)
                            base_mem.append(grown)
                        else:
                            elapsed, grown = _measure(port, server.pid, case_id, token, files[size])
                            app_times.append(elapsed)
                            app_mem.append(grown)
                        _empty_bucket(client, bucket)
                base, app = statistics.median(base_times), statistics.median(app_times)
                ratio = statistics.median(b / a for b, a in zip(base_times, app_times, strict=True))
                results[size] = (ratio, max(app_mem))
                print(
                    f"{size:>4} MB {size / base:>8.1f} MB/s {size / app:>8.1f} MB/s"
                    f" {ratio:>6.2f} {max(app_mem) / MB:>10.1f} MB {max(base_mem) / MB:>7.1f} MB"
                )
                print(
                    f"        rounds: put_object {', '.join(f'{t:.2f}s' for t in base_times)};"
                    f" application {', '.join(f'{t:.2f}s' for t in app_times)}"
                )
            server.terminate()
            server.wait(timeout=10)
            server = None
            ratio = results[200][0]
            memory = ", ".join(
                f"{size} MB file +{mem / MB:.1f} MB ({'met' if mem < 64 * MB else 'NOT met'})"
                for size, (_r, mem) in results.items()
            )
            verdicts.append(
                f"{label}: ratio at 200 MB {ratio:.2f} ({'met' if ratio >= 0.7 else 'NOT met'});"
                f" server memory growth {memory}"
            )
        print("\nTargets: ratio >= 0.70, memory growth < 64 MB")
        for line in verdicts:
            print("  " + line)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        for path in sorted(work.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        work.rmdir()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        sys.path.insert(0, str(ROOT))
        serve(int(sys.argv[2]))
    else:
        main()
