"""System checks for the evidence settings: a misconfigured store fails `manage.py check`
at deploy time instead of at the first upload. No network here."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from evidence.sniff import KINDS

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@register()
def evidence_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    endpoint = settings.MINIO_ENDPOINT
    if endpoint:
        if "://" in endpoint or "/" in endpoint:
            errors.append(
                Error(
                    "MINIO_ENDPOINT is host:port, without a scheme or a path.",
                    hint="Set MINIO_SECURE=true for https.",
                    id="evidence.E001",
                )
            )
        if not (settings.MINIO_ACCESS_KEY and settings.MINIO_SECRET_KEY):
            errors.append(
                Error(
                    "MINIO_ENDPOINT is set but MINIO_ACCESS_KEY or MINIO_SECRET_KEY is empty.",
                    id="evidence.E002",
                )
            )
        if not _BUCKET_RE.fullmatch(settings.MINIO_BUCKET or "") or ".." in settings.MINIO_BUCKET:
            errors.append(
                Error(
                    f"MINIO_BUCKET {settings.MINIO_BUCKET!r} is not a valid bucket name.",
                    hint="3–63 lower-case letters, digits, dots and hyphens.",
                    id="evidence.E003",
                )
            )
    unknown = [code for code in settings.EVIDENCE_ALLOWED_TYPES if code not in KINDS]
    if unknown:
        errors.append(
            Error(
                f"EVIDENCE_ALLOWED_TYPES has unknown types: {', '.join(unknown)}.",
                hint=f"Known: {', '.join(k for k in KINDS if k != 'empty')}.",
                id="evidence.E004",
            )
        )
    for name in (
        "EVIDENCE_MAX_UPLOAD_MB",
        "EVIDENCE_RETENTION_DAYS",
        "EVIDENCE_DOWNLOAD_URL_SECONDS",
    ):
        if int(getattr(settings, name)) <= 0:
            errors.append(Error(f"{name} must be positive.", id="evidence.E005"))
    return errors
