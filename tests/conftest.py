"""Fixtures every test directory shares: fast password hashing, `world` (the small province
of `tests.factories.build_world` with its cycle open) and `own_redis`.

Builders and shortcuts live in modules of their own (`tests.factories`, `tests.helpers`);
tests import them from there, never from a conftest.

`world` is built once per test module when every database test of the module uses it and
none needs committed data (`transaction=True`): the tests then run in savepoints of one
transaction holding it (`tests.helpers.built_once`), each getting its own copy of the
namespace, as Django's `TestCase.setUpTestData` does. Every test sees the province as built,
whatever the tests before it changed. Elsewhere each test builds its own.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import override_settings

from tests.factories import open_world
from tests.helpers import built_once
from tests.notifications.helpers import RedisServer

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    raise pytest.UsageError("The tests run on PostgreSQL: start them with `make test`.")


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Test modules whose database tests all take `world` and none is transactional.
_SHARING: set[str] = set()


def _transactional(item: pytest.Item) -> bool:
    """Whether the test needs committed data (as pytest-django decides it)."""
    marker = item.get_closest_marker("django_db")
    if marker is not None:
        if marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"):
            return True
        if marker.args and marker.args[0]:
            return True
    fixtures = getattr(item, "fixturenames", ())
    return "transactional_db" in fixtures or "live_server" in fixtures


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    by_module: dict[str, list[pytest.Item]] = {}
    for item in items:
        uses_db = "db" in getattr(item, "fixturenames", ()) or item.get_closest_marker("django_db")
        if uses_db and item.parent is not None:
            by_module.setdefault(item.parent.nodeid.split("::")[0], []).append(item)
    _SHARING.clear()
    for module, tests in by_module.items():
        if all("world" in t.fixturenames and not _transactional(t) for t in tests):
            _SHARING.add(module)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(scope="module")
def _world_of_the_module(
    request: pytest.FixtureRequest, django_db_blocker: Any
) -> Iterator[SimpleNamespace | None]:
    module = request.node.nodeid
    if module not in _SHARING:
        yield None
        return
    _SHARING.discard(module)  # once: a later visit of the module has no database test
    request.getfixturevalue("django_db_setup")

    def build() -> SimpleNamespace:
        with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
            return open_world()

    yield from built_once(django_db_blocker, build)


@pytest.fixture
def world(
    _world_of_the_module: SimpleNamespace | None,
    db: Any,
    django_capture_on_commit_callbacks: Any,
) -> SimpleNamespace:
    if _world_of_the_module is not None:
        return copy.deepcopy(_world_of_the_module)
    return open_world()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may stop and start again."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)
