"""Fixtures every test directory shares: fast password hashing, `world` (the small province
of `tests.factories.build_world` with its cycle open) and `own_redis`.

Builders and shortcuts live in modules of their own (`tests.factories`, `tests.helpers`);
tests import them from there, never from a conftest.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from tests.factories import open_world
from tests.notifications.helpers import RedisServer

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    raise pytest.UsageError("The tests run on PostgreSQL: start them with `make test`.")


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: Any, django_capture_on_commit_callbacks: Any) -> SimpleNamespace:
    return open_world()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may stop and start again."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)
