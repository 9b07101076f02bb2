"""Data built once per test session instead of once per test, where that changes nothing a
test can see.

A fixture named in SHARED (`world`, `province`) is given once to a module when every
database test of the module takes it and none needs committed data (`transaction=True`,
`live_server`, …). The module's tests then run in savepoints of one transaction holding the
data (`tests.helpers.built_once`), each with its own deep copy of the namespace, as Django's
`TestCase.setUpTestData` does: a test's writes are undone before the next test, so every
test sees the data as built. Elsewhere each test builds its own, as before.

The data is built through the services once per worker process: the rows it wrote are kept
(`Rows`) and the next module that shares it gets them back with one COPY per table, with the
namespace as built. They are built again when the rows that were already there (the role
groups post_migrate makes after a transactional test emptied the database) are no longer
the same.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pytest
from django.db import connection
from django.test import override_settings
from psycopg import sql

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
    """For the module-scoped fixture behind `name`: yields the data (built once per session,
    `once_per_session`), or None where the module's tests build their own."""
    module = request.node.nodeid
    if module not in _modules.get(name, ()):
        yield None
        return
    _modules[name].discard(module)  # once: a later visit of the module has no database test
    request.getfixturevalue("django_db_setup")

    def build_fast() -> T:
        with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
            return build()

    yield from built_once(django_db_blocker, lambda: once_per_session(name, build_fast))


@dataclass
class Rows(Generic[T]):
    """What building a fixture wrote: each table's new rows as COPY text, and its namespace."""

    before: dict[str, set[str]]  # the primary keys each table held before the build
    copies: dict[str, bytes]
    built: T


_rows: dict[str, Rows[Any]] = {}


def _tables() -> dict[str, str]:
    """Every table of the apps with its primary key column."""
    from django.apps import apps

    tables: dict[str, str] = {}
    for model in apps.get_models(include_auto_created=True):
        pk = model._meta.pk
        if model._meta.managed and not model._meta.proxy and pk is not None and pk.column:
            tables[model._meta.db_table] = pk.column
    return tables


def _keys(tables: dict[str, str]) -> dict[str, set[str]]:
    """The primary keys every table holds now, in one query."""
    union = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {}, {}::text FROM {}").format(
            sql.Literal(table), sql.Identifier(pk), sql.Identifier(table)
        )
        for table, pk in sorted(tables.items())
    )
    keys: dict[str, set[str]] = {table: set() for table in tables}
    with connection.connection.cursor() as cursor:
        for table, key in cursor.execute(union):
            keys[table].add(key)
    return keys


def once_per_session(name: str, build: Callable[[], T]) -> T:
    """`build()` the first time in this process, its rows copied back the next times; inside
    the transaction of `built_once`."""
    connection.ensure_connection()
    tables = _tables()
    before = _keys(tables)
    kept = _rows.get(name)
    if kept is not None and before == kept.before:
        _copy_in(kept.copies, tables)
        return copy.deepcopy(kept.built)
    built = build()
    copies: dict[str, bytes] = {}
    with connection.connection.cursor() as cursor:
        for table, pk in tables.items():
            old = before[table]
            where = (
                sql.SQL(" WHERE {}::text NOT IN ({})").format(
                    sql.Identifier(pk), sql.SQL(", ").join(map(sql.Literal, sorted(old)))
                )
                if old
                else sql.SQL("")
            )
            query = sql.SQL("COPY (SELECT * FROM {}{}) TO STDOUT").format(
                sql.Identifier(table), where
            )
            with cursor.copy(query) as out:
                text = b"".join(bytes(chunk) for chunk in out)
            if text:
                copies[table] = text
    _rows[name] = Rows(before=before, copies=copies, built=copy.deepcopy(built))
    return built


def _copy_in(copies: dict[str, bytes], tables: dict[str, str]) -> None:
    """The kept rows back in their tables (foreign keys are checked at commit, so in any
    order), and each table's id sequence past them."""
    with connection.connection.cursor() as cursor:
        for table, text in copies.items():
            with cursor.copy(
                sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))
            ) as copy_in:
                copy_in.write(text)
        for table in copies:
            cursor.execute(
                sql.SQL(
                    "SELECT setval(seq, (SELECT max({pk}) FROM {table})) "
                    "FROM pg_get_serial_sequence({name}, {column}) AS seq WHERE seq IS NOT NULL"
                ).format(
                    pk=sql.Identifier(tables[table]),
                    table=sql.Identifier(table),
                    name=sql.Literal(table),
                    column=sql.Literal(tables[table]),
                )
            )
