"""Reads of a fixed shape whose SQL is compiled once per process.

Building a queryset and compiling it to SQL cost Django more CPU than PostgreSQL spent
answering the one-row reads every request makes: about a third of a score save's CPU went to
`SQLCompiler.as_sql` and the filters before it (bench/deadline_day.py). A `Compiled` read is
built and compiled on its first use with marker values in place of its arguments; later calls
send the same SQL with their own values, and get the instances the queryset would give
(select_related, annotations), built by Django's own pieces, or the rows of a `values_list`.

An instance of a plain model (no `__init__` or `from_db` of its own, no init signal, no
field with a descriptor that acts on assignment) is built by filling its `__dict__` as
`Model.__init__` would: on a score sheet, `Model.__init__` for its 200 instances was a fifth
of the page's reads.

Arguments are integers, texts and aware datetimes: the first two reach the SQL's parameters
unchanged, a datetime as the database's adaptation makes it, so a marker is found where its
value goes. A shape whose marker the compiler changes otherwise (a `LIKE` pattern) is
refused when first compiled.
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import get_related_populators
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)
Argument = int | str | datetime

# A read's shapes are few (a permission set, a queryset); past this many, something builds
# a new shape per call and the plans would only grow: such reads are compiled as usual.
MAX_SHAPES = 64


def _marker(index: int, kind: type) -> Argument:
    """A value no real argument takes, for argument `index`."""
    if kind is int:
        return -1_999_000_000 - index
    if kind is datetime:
        return datetime(1901, 2, 3, 4, 5, 6, 789, tzinfo=UTC) + timedelta(seconds=index)
    return f"\u2063compiled marker {index}\u2063"


def _kind(value: Argument) -> type:
    if isinstance(value, bool) or not isinstance(value, int | str | datetime):
        raise TypeError(f"A compiled read takes integers, texts and datetimes, not {value!r}.")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"A compiled read takes aware datetimes, not {value!r}.")
        return datetime
    return int if isinstance(value, int) else str


def _prepared(value: Argument, connection: BaseDatabaseWrapper) -> Any:
    """The value as the compiler puts it among the parameters."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


Builder = Callable[[str, Sequence[Any]], Model]

# Class attributes that assigning to a fresh instance through leaves as a plain `__dict__` entry.
_PLAIN_ATTRIBUTES = (DeferredAttribute, ForeignKeyDeferredAttribute)


def builder(model: type[Model], init_list: list[str]) -> Builder:
    """Builds an instance of `model` from the values of `init_list`, as `model.from_db` does."""
    wanted = set(init_list)
    names = [f.attname for f in model._meta.concrete_fields if f.attname in wanted]
    plain = (
        model.__init__ is Model.__init__
        and getattr(model.from_db, "__func__", None) is getattr(Model.from_db, "__func__", 0)
        and not pre_init.has_listeners(model)
        and not post_init.has_listeners(model)
        and all(
            type(inspect.getattr_static(model, name, None)) in _PLAIN_ATTRIBUTES for name in names
        )
    )
    if not plain:
        return lambda db, values: model.from_db(db, init_list, values)
    new = object.__new__

    def build(db: str, values: Sequence[Any]) -> Model:
        obj = new(model)
        state = ModelState()
        state.adding, state.db = False, db
        fields = obj.__dict__
        fields["_state"] = state
        fields.update(zip(names, values, strict=True))
        return obj

    return build


class _BuiltBy:
    """Stands for a model in a select_related populator, which asks only its `from_db`."""

    def __init__(self, build: Builder) -> None:
        self._build = build

    def from_db(self, db: str, _init_list: list[str], values: Sequence[Any]) -> Model:
        return self._build(db, values)


def _fast_populators(populators: list[Any]) -> list[Any]:
    for populator in populators:
        populator.model_cls = _BuiltBy(builder(populator.model_cls, populator.init_list))
        _fast_populators(populator.related_populators)
    return populators


@dataclass(frozen=True)
class _Plan:
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, int], ...]  # (position in params, argument)
    locks: bool
    # model instances: how to build them (none for the rows of a values_list)
    build: Builder | None
    fields: tuple[int, int]
    related: list[Any]
    annotations: dict[str, int]
    # how each column's value becomes Python's (results_iter asks for them on every call)
    converters: dict[int, tuple[list[Any], Any]]


class Compiled(Generic[M]):
    """`build(key, *arguments)` returns the queryset; its SQL is compiled once per `key` and
    database. `key` names whatever else decides the shape (empty for a single shape)."""

    def __init__(self, build: Callable[..., QuerySet[M, Any]]) -> None:
        self._build = build
        self._plans: dict[tuple[Hashable, str, tuple[type, ...]], _Plan] = {}
        self._lock = threading.Lock()

    def __call__(self, key: Hashable, *values: Argument, using: str = DEFAULT_DB_ALIAS) -> list[M]:
        """The instances the queryset gives."""
        plan = self._plan_for(key, values, using)
        if plan is None:
            return list(self._build(key, *values).using(using))
        compiler, chunks = self._execute(plan, values, using)
        build = plan.build
        assert build is not None  # a read of instances
        start, end = plan.fields
        found: list[M] = []
        for row in compiler.results_iter(chunks):
            obj: Any = build(using, row[start:end])
            for populator in plan.related:
                populator.populate(row, obj)
            for name, position in plan.annotations.items():
                setattr(obj, name, row[position])
            found.append(obj)
        return found

    def rows(
        self, key: Hashable, *values: Argument, using: str = DEFAULT_DB_ALIAS
    ) -> list[tuple[Any, ...]]:
        """The rows of a `values_list` queryset, as tuples in its columns' order."""
        plan = self._plan_for(key, values, using)
        if plan is None:
            return [tuple(row) for row in self._build(key, *values).using(using)]
        compiler, chunks = self._execute(plan, values, using)
        return [tuple(row) for row in compiler.results_iter(chunks, tuple_expected=True)]

    def sql(
        self, key: Hashable, *values: Argument, using: str = DEFAULT_DB_ALIAS
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement and parameters a call sends (tests compare them with Django's)."""
        plan = self._plan_for(key, values, using) or self._plan(key, values, using)
        return plan.sql, self._params(plan, values, connections[using])

    def _plan_for(self, key: Hashable, values: tuple[Argument, ...], using: str) -> _Plan | None:
        kinds = tuple(_kind(value) for value in values)
        plan = self._plans.get((key, using, kinds))
        if plan is None and len(self._plans) < MAX_SHAPES:
            plan = self._plan(key, values, using)
        return plan

    def _plan(self, key: Hashable, values: tuple[Argument, ...], using: str) -> _Plan:
        kinds = tuple(_kind(value) for value in values)
        connection = connections[using]
        markers = [_marker(index, kind) for index, kind in enumerate(kinds)]
        prepared = [_prepared(marker, connection) for marker in markers]
        queryset = self._build(key, *markers).using(using)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = [
            (position, argument)
            for position, param in enumerate(params)
            for argument, marker in enumerate(prepared)
            if type(param) is type(marker) and param == marker
        ]
        missing = set(range(len(markers))) - {argument for _position, argument in slots}
        if missing:
            raise ValueError(
                f"Arguments {sorted(missing)} of a compiled read do not reach its SQL unchanged."
            )
        klass_info = compiler.klass_info
        assert compiler.select is not None
        start, end, build, related = 0, 0, None, []
        if klass_info is not None:
            select_fields = klass_info["select_fields"]
            start, end = select_fields[0], select_fields[-1] + 1
            init_list = [f[0].target.attname for f in compiler.select[start:end]]
            build = builder(klass_info["model"], init_list)
            # (the stubs describe a later Django's signature)
            related = _fast_populators(
                get_related_populators(klass_info, compiler.select, using)  # type: ignore[call-arg]
            )
        plan = _Plan(
            compiler=compiler,
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            locks=bool(queryset.query.select_for_update),
            build=build,
            fields=(start, end),
            related=related,
            annotations=dict(compiler.annotation_col_map or {}),
            converters=compiler.get_converters(
                [column[0] for column in compiler.select[: compiler.col_count]]
            ),
        )
        with self._lock:
            return self._plans.setdefault((key, using, kinds), plan)

    @staticmethod
    def _params(
        plan: _Plan, values: tuple[Argument, ...], connection: BaseDatabaseWrapper
    ) -> tuple[Any, ...]:
        params = list(plan.params)
        for position, argument in plan.slots:
            params[position] = _prepared(values[argument], connection)
        return tuple(params)

    def _execute(
        self, plan: _Plan, values: tuple[Argument, ...], using: str
    ) -> tuple[SQLCompiler, Any]:
        connection = connections[using]
        features = connection.features
        if (
            plan.locks
            and features.has_select_for_update
            and features.supports_transactions
            and connection.get_autocommit()
        ):  # as Django's compiler refuses it
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        # The plan's compiler was made on another thread's connection: a copy runs on this
        # thread's, with the SQL already written.
        compiler = copy.copy(plan.compiler)
        compiler.connection = connection
        statement = (plan.sql, self._params(plan, values, connection))
        compiler.as_sql = lambda *args, **kwargs: statement  # type: ignore[method-assign]
        # Converters take the connection as an argument when they run: the plan's serve here.
        compiler.get_converters = lambda _expressions: plan.converters  # type: ignore[method-assign,assignment]
        return compiler, compiler.execute_sql()  # MULTI: the rows, in chunks
