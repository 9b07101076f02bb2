"""Health and readiness probes for the load balancer and the compose health checks.

`/healthz` answers as long as the process serves requests (no I/O, so a database outage
does not get every web process restarted). `/readyz` says whether this process can do its
work: database reachable with every migration applied, Redis when REDIS_URL is set, the
object store when MINIO_ENDPOINT is set. Each probe has a short timeout so that a hung
dependency answers 503 within seconds, naming the part that failed.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

PROBE_TIMEOUT = 2  # seconds per dependency


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        return f"{len(plan)} migration(s) not applied"
    return ""


def check_redis() -> str:
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()
    return ""


def check_object_store() -> str:
    from evidence.storage import S3Storage

    store = S3Storage(
        endpoint=settings.MINIO_ENDPOINT,
        access_key=settings.MINIO_ACCESS_KEY,
        secret_key=settings.MINIO_SECRET_KEY,
        bucket=settings.MINIO_BUCKET,
        secure=settings.MINIO_SECURE,
        region=settings.MINIO_REGION,
        connect_timeout=PROBE_TIMEOUT,
        read_timeout=PROBE_TIMEOUT,
        retries=0,
    )
    if not store.client.bucket_exists(settings.MINIO_BUCKET):
        return f"bucket {settings.MINIO_BUCKET!r} does not exist (run evidence_bucket)"
    return ""


def probes() -> dict[str, Callable[[], str]]:
    """The dependencies this configuration has."""
    found: dict[str, Callable[[], str]] = {"database": check_database}
    if settings.REDIS_URL:
        found["redis"] = check_redis
    if settings.MINIO_ENDPOINT:
        found["object_store"] = check_object_store
    return found


def readiness() -> tuple[bool, dict[str, str]]:
    """Run every probe; a probe's result is "ok" or what went wrong (no secrets in it)."""
    results: dict[str, str] = {}
    for name, probe in probes().items():
        try:
            problem = probe()
        except Exception as exc:  # any failure of a dependency means "not ready"
            problem = f"{type(exc).__name__}: {str(exc)[:200]}"
        results[name] = problem or "ok"
    return all(v == "ok" for v in results.values()), results


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    ready, results = readiness()
    body: dict[str, object] = {"status": "ok" if ready else "unavailable"}
    if _operator(request):  # which part failed, and how, is for the operator's eyes
        body["checks"] = results
    return JsonResponse(body, status=200 if ready else 503)


def _operator(request: HttpRequest) -> bool:
    token = settings.OPS_TOKEN
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(sent.encode(), token.encode())
