"""System checks for the parts evidence.checks does not cover: Redis, e-mail, weak secrets,
the web process's turns. They run in `manage.py check` (and at every start), without
network, and say what to change. The object store's shape (endpoint, keys, bucket) is checked by
evidence.checks; a weak object-store password stops the settings from loading at all
(config/settings.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def redis_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    url = settings.REDIS_URL
    if not url:
        return []
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        return [
            Error(
                f"REDIS_URL must start with redis://, rediss:// or unix://, not {parts.scheme!r}.",
                hint="For example REDIS_URL=redis://redis:6379/0.",
                id="ops.E001",
            )
        ]
    if parts.scheme != "unix" and not parts.hostname:
        return [Error("REDIS_URL has no host.", hint="redis://HOST:6379/0", id="ops.E002")]
    return []


@register()
def email_settings(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    smtp = settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
    if getattr(settings, "EMAIL_USE_TLS", False) and getattr(settings, "EMAIL_USE_SSL", False):
        problems.append(
            Error(
                "EMAIL_USE_TLS and EMAIL_USE_SSL are both on.",
                hint="Port 587 uses EMAIL_USE_TLS=true; port 465 uses EMAIL_USE_SSL=true.",
                id="ops.E003",
            )
        )
    if "@" not in settings.DEFAULT_FROM_EMAIL:
        problems.append(
            Error(
                f"DEFAULT_FROM_EMAIL {settings.DEFAULT_FROM_EMAIL!r} is not an address.",
                hint='For example DEFAULT_FROM_EMAIL="Chỉ số CCHC <no-reply@example.gov.vn>".',
                id="ops.E004",
            )
        )
    if smtp and not settings.EMAIL_HOST:
        problems.append(Error("EMAIL_BACKEND is SMTP but EMAIL_HOST is empty.", id="ops.E005"))
    if smtp and settings.EMAIL_HOST_USER and not settings.EMAIL_HOST_PASSWORD:
        problems.append(
            Error(
                "EMAIL_HOST_USER is set but EMAIL_HOST_PASSWORD is empty.",
                hint="Set both for an authenticated relay, or neither for an open one.",
                id="ops.E006",
            )
        )
    if not settings.DEBUG and not smtp and "console" in settings.EMAIL_BACKEND:
        problems.append(
            Warning(
                "DEBUG is off and e-mail goes to the console: nobody receives notifications.",
                hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and "
                "EMAIL_HOST.",
                id="ops.W001",
            )
        )
    return problems


@register()
def turns_fit_the_pool(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """A request runs on one pooled connection: more turns than connections would have the
    extra requests wait for one (and answer 503 after DB_POOL_TIMEOUT) instead of in order."""
    turns, pool = settings.HTTP_TURNS, settings.DB_POOL_MAX_SIZE
    if pool and turns > pool:
        return [
            Warning(
                f"HTTP_TURNS ({turns}) is above DB_POOL_MAX_SIZE ({pool}): "
                "requests beyond the pool wait for a database connection and may fail.",
                hint=f"Set HTTP_TURNS to {pool} or less, or raise DB_POOL_MAX_SIZE.",
                id="ops.W002",
            )
        ]
    return []
