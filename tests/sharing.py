"""Data built once per test module instead of once per test, where that changes nothing a
test can see.

A fixture named in SHARED (`world`, `province`) is built once for a module when every
database test of the module takes it and none needs committed data (`transaction=True`,
`live_server`, …). The module's tests then run in savepoints of one transaction holding the
data (`tests.helpers.built_once`), each with its own deep copy of the namespace, as Django's
`TestCase.setUpTestData` does: a test's writes are undone before the next test, so every
test sees the data as built. Elsewhere each test builds its own, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from django.test import override_settings

from tests.helpers import built_once

T = TypeVar("T")

SHARED = ("world", "province")
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# fixture name → test modules (node ids) that build it once; filled at collection.
_modules: dict[str, set[str]] = {}


def _fixtures(item: pytest.Item) -> list[str]:
    """The fixtures a test takes (only a test function takes any)."""
    return item.fixturenames if isinstance(item, pytest.Function) else []


def _transactional(item: pytest.Item) -> bool:
    """Whether the test needs committed data (as pytest-django decides it)."""
    marker = item.get_closest_marker("django_db")
    if marker is not None:
        if marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"):
            return True
        if marker.args and marker.args[0]:
            return True
    fixtures = _fixtures(item)
    return "transactional_db" in fixtures or "live_server" in fixtures


def decide(items: list[pytest.Item]) -> None:
    """Called at collection: which modules build which shared fixture once."""
    by_module: dict[str, list[pytest.Item]] = {}
    for item in items:
        fixtures = _fixtures(item)
        if "db" in fixtures or item.get_closest_marker("django_db"):
            by_module.setdefault(item.nodeid.split("::")[0], []).append(item)
    for name in SHARED:
        _modules[name] = {
            module
            for module, tests in by_module.items()
            if all(name in _fixtures(t) and not _transactional(t) for t in tests)
        }


def shared_by_module(name: str) -> set[str]:
    return set(_modules.get(name, ()))


def once_per_module(
    request: pytest.FixtureRequest, django_db_blocker: Any, name: str, build: Callable[[], T]
) -> Iterator[T | None]:
    """For the module-scoped fixture behind `name`: yields the data built once, or None where
    the module's tests build their own."""
    module = request.node.nodeid
    if module not in _modules.get(name, ()):
        yield None
        return
    _modules[name].discard(module)  # once: a later visit of the module has no database test
    request.getfixturevalue("django_db_setup")

    def build_fast() -> T:
        with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
            return build()

    yield from built_once(django_db_blocker, build_fast)
