"""Small typed readers for settings from the environment.

Every setting has an embedded default so that a bare checkout runs; production overrides
them through variables listed in `.env.example`. Secrets may also come from `NAME_FILE`.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_secret(name: str, default: str = "") -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE (Docker secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


# Passwords shipped in examples and images: production must not run with them.
WEAK_SECRETS = frozenset(
    {
        "minioadmin",
        "minio123",
        "change-me",
        "change-me-too",
        "change-me-to-a-long-random-string",
        "changeme",
        "password",
        "secret",
        "admin",
        "12345678",
    }
)


def is_weak_secret(value: str) -> bool:
    """A known default or example password, or one too short to resist guessing."""
    value = value.strip().lower()
    return value in WEAK_SECRETS or value.startswith("change-me") or len(value) < 12


def embedded_secret_key(path: Path) -> str:
    """The installation's secret key: read from `path`, or made there on the first run
    (readable by its owner only)."""
    import secrets

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of the first start made it just now
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(secrets.token_urlsafe(50))
    return path.read_text(encoding="utf-8").strip()
