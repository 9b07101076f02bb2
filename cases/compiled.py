"""Reads of a fixed shape whose SQL is compiled once per process.

Building a queryset and compiling it to SQL cost Django more CPU than PostgreSQL spent
answering the one-row reads every request makes: about a third of a score save's CPU went to
`SQLCompiler.as_sql` and the filters before it (bench/deadline_day.py). A `Compiled` read is
built and compiled on its first use with marker values in place of its arguments; later calls
send the same SQL with their own values, and get the instances the queryset would give
(select_related, annotations), built by Django's own pieces.

Only integers and texts may be arguments: they reach the SQL's parameters unchanged, so a
marker is found where its value goes. A shape whose marker the compiler changes (a `LIKE`
pattern, a date) is refused when first compiled.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)

# A read's shapes are few (a permission set, a queryset); past this many, something builds
# a new shape per call and the plans would only grow: such reads are compiled as usual.
MAX_SHAPES = 64


def _marker(index: int, kind: type) -> int | str:
    """A value no real argument takes, for argument `index`."""
    if kind is int:
        return -1_999_000_000 - index
    return f"\u2063compiled marker {index}\u2063"


@dataclass(frozen=True)
class _Plan:
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, int], ...]  # (position in params, argument)
    locks: bool
    init_list: list[str]
    fields: tuple[int, int]
    related: list[Any]
    annotations: dict[str, int]


class Compiled(Generic[M]):
    """`build(key, *arguments)` returns the queryset; its SQL is compiled once per `key` and
    database. `key` names whatever else decides the shape (empty for a single shape)."""

    def __init__(self, build: Callable[..., QuerySet[M]]) -> None:
        self._build = build
        self._plans: dict[tuple[Hashable, str, tuple[type, ...]], _Plan] = {}
        self._lock = threading.Lock()

    def __call__(self, key: Hashable, *values: int | str, using: str = DEFAULT_DB_ALIAS) -> list[M]:
        kinds = tuple(int if isinstance(value, int) else str for value in values)
        for value in values:
            if not isinstance(value, int | str) or isinstance(value, bool):
                raise TypeError(f"A compiled read takes integers and texts, not {value!r}.")
        plan = self._plans.get((key, using, kinds))
        if plan is None:
            if len(self._plans) >= MAX_SHAPES:
                return list(self._build(key, *values).using(using))
            plan = self._plan(key, using, kinds)
        return self._run(plan, values, using)

    def sql(
        self, key: Hashable, *values: int | str, using: str = DEFAULT_DB_ALIAS
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement and parameters a call sends (tests compare them with Django's)."""
        kinds = tuple(int if isinstance(value, int) else str for value in values)
        plan = self._plans.get((key, using, kinds)) or self._plan(key, using, kinds)
        return plan.sql, self._params(plan, values)

    def _plan(self, key: Hashable, using: str, kinds: tuple[type, ...]) -> _Plan:
        markers = [_marker(index, kind) for index, kind in enumerate(kinds)]
        queryset = self._build(key, *markers).using(using)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = []
        for position, param in enumerate(params):
            for argument, marker in enumerate(markers):
                if type(param) is type(marker) and param == marker:
                    slots.append((position, argument))
        missing = set(range(len(markers))) - {argument for _position, argument in slots}
        if missing:
            raise ValueError(
                f"Arguments {sorted(missing)} of a compiled read do not reach its SQL unchanged."
            )
        klass_info = compiler.klass_info
        assert klass_info is not None and compiler.select is not None
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        plan = _Plan(
            compiler=compiler,
            sql=sql,
            params=tuple(params),
            slots=tuple(slots),
            locks=bool(queryset.query.select_for_update),
            init_list=[f[0].target.attname for f in compiler.select[start:end]],
            fields=(start, end),
            # (the stubs describe a later Django's signature)
            related=get_related_populators(klass_info, compiler.select, using),  # type: ignore[call-arg]
            annotations=dict(compiler.annotation_col_map or {}),
        )
        with self._lock:
            self._plans.setdefault((key, using, kinds), plan)
        return plan

    @staticmethod
    def _params(plan: _Plan, values: tuple[int | str, ...]) -> tuple[Any, ...]:
        params = list(plan.params)
        for position, argument in plan.slots:
            params[position] = values[argument]
        return tuple(params)

    def _run(self, plan: _Plan, values: tuple[int | str, ...], using: str) -> list[M]:
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
        statement = (plan.sql, self._params(plan, values))
        compiler.as_sql = lambda *args, **kwargs: statement  # type: ignore[method-assign]
        model = plan.compiler.klass_info["model"]
        start, end = plan.fields
        found: list[M] = []
        chunks: Any = compiler.execute_sql()  # MULTI: the rows, in chunks
        for row in compiler.results_iter(chunks):
            obj = model.from_db(using, plan.init_list, row[start:end])
            for populator in plan.related:
                populator.populate(row, obj)
            for name, position in plan.annotations.items():
                setattr(obj, name, row[position])
            found.append(obj)
        return found
