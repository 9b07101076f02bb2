"""Fixtures every test directory shares: fast password hashing, `world` (the small province
of `tests.factories.build_world` with its cycle open) and `own_redis`.

Builders and shortcuts live in modules of their own (`tests.factories`, `tests.helpers`);
tests import them from there, never from a conftest.

`world` is built once per test module where that changes nothing a test can see
(`tests.sharing`).
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management.color import Style
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.test.testcases import LiveServerThread
from django.utils import translation

from cases.models import forget_frozen_criteria
from evidence.storage import LocalStorage, get_storage
from tests import sharing, workers
from tests.factories import open_world
from tests.live_server import NoDelayServer
from tests.notifications.helpers import RedisServer

if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    raise pytest.UsageError("The tests run on PostgreSQL: start them with `make test`.")


# The files that take longest, first: `make test` hands files to its parallel workers in
# collection order (`tests.scheduling`), so these start at once and the workers finish
# together. Only the speed of a parallel run depends on this list.
LONGEST_FIRST = (
    "tests/web/test_accessibility.py",
    "tests/ops/test_backup.py",
    "tests/ops/test_embedded.py",  # with the backup: one worker builds their installation
    "tests/ops/test_request_bodies.py",
    "tests/ops/test_api_fuzz.py",
    "tests/ops/test_authorization_sweep.py",
    "tests/web/test_browser.py",
    "tests/drills/test_sweep_killed.py",
    "tests/ops/test_deploy_checks.py",
    "tests/drills/test_postgres_restart.py",
    "tests/cases/test_totals_paths.py",
    "tests/drills/test_store_outage.py",
    "tests/workflow/test_audit_chain.py",
    "tests/ops/test_static_files.py",
)


LiveServerThread.server_class = NoDelayServer


_truncate = PostgresOperations.sql_flush
# What post_migrate would create again, row for row, after every flush: kept as migrate left
# them (post_migrate still runs and adds whatever is missing).
_KEPT = {"django_content_type", "auth_permission"}


def _delete_flush(
    self: BaseDatabaseOperations,
    style: Style,
    tables: Sequence[str],
    *,
    reset_sequences: bool = False,
    allow_cascade: bool = False,
) -> list[str]:
    """Empty the tables with DELETE rather than TRUNCATE after a transactional test:
    TRUNCATE makes new files for every table and index, slow for the few rows a test leaves.
    The content types and permissions stay as migrate made them, rather than being deleted
    and made again by post_migrate. Django runs the statements in one transaction and
    checks its foreign keys at commit, so the order of the tables does not matter."""
    if reset_sequences or allow_cascade:
        return _truncate(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
    delete = style.SQL_KEYWORD("DELETE FROM")
    return [
        f"{delete} {style.SQL_FIELD(self.quote_name(table))};"
        for table in tables
        if table not in _KEPT
    ]


PostgresOperations.sql_flush = _delete_flush  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    workers.isolate()


def pytest_unconfigure(config: pytest.Config) -> None:
    workers.release()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {file: index for index, file in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
    sharing.decide(items)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from tests.scheduling import FileScheduling

    return FileScheduling(config, log)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = sharing.FAST_HASHERS


@pytest.fixture(autouse=True)
def _no_frozen_criteria_kept() -> Iterator[None]:
    """Each test starts with no criteria kept by the process (`cases.models`): tests build
    and rewrite sets that production would have frozen."""
    forget_frozen_criteria()
    yield
    forget_frozen_criteria()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language, whatever request or test ran before it in
    this thread (a request leaves its language active)."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(scope="module")
def _world_of_the_module(
    request: pytest.FixtureRequest, django_db_blocker: Any
) -> Iterator[SimpleNamespace | None]:
    yield from sharing.once_per_module(request, django_db_blocker, "world", open_world)


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
def local_store(settings: Any, tmp_path: Any) -> LocalStorage:
    """Evidence kept in a folder of the test's own (the embedded default's store)."""
    settings.MINIO_ENDPOINT = ""
    settings.EVIDENCE_LOCAL_DIR = tmp_path / "evidence"
    store = get_storage()
    assert isinstance(store, LocalStorage)
    return store


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may stop and start again."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)
