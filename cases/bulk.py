"""INSERTs of many rows with little Python work per value: the sweep's batches write
thousands of audit entries, notifications and deliveries at once.

`bulk_create` prepares every value through its field (a few calls each) and, on PostgreSQL,
sends the columns as arrays whose every element the driver quotes into the SQL text: for a
batch of the sweep that cost more than the database's work. Here each field's preparation
is chosen once per column (the values the driver takes as they are pass as they are), and
the columns travel as arrays apart from the statement (the connection binds on the
server: `config/settings.py`) instead of quoted into it. Other databases take Django's own
compiler.

A single change (a score save, a transition) writes its row by an UPDATE written once per
model and fields (`pending_update`), sent in the statement of its audit entry's INSERT.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import sql
from django.db.models.constants import OnConflict
from django.db.models.sql.compiler import SQLInsertCompiler

M = TypeVar("M", bound=models.Model)

# Fields whose value PostgreSQL's driver takes as the model holds it (an aware datetime, a
# UUID, a text, a number, a foreign key's id): their preparation changes nothing there.
_AS_THEY_ARE = (
    models.BooleanField,
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.ForeignKey,
    models.UUIDField,
    models.DateTimeField,
)


def _preparation(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """None where the value goes as it is (on PostgreSQL), else what prepares it for the
    database."""
    return None if isinstance(field, _AS_THEY_ARE) else _through(field)


def _through(field: models.Field[Any, Any]) -> Callable[[Any], Any]:
    def prepare(value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    return prepare


def insert(
    objs: Sequence[M],
    *,
    returning: Sequence[str] = (),
    ignore_conflicts: bool = False,
    written: Mapping[str, Sequence[Any]] | None = None,
    along: Update | None = None,
) -> list[tuple[Any, ...]]:
    """INSERT the new instances `objs` (of one model) with every concrete column but the
    primary key; returns the `returning` columns of the rows written, in the order of `objs`
    (with `ignore_conflicts`, a row not written returns nothing). Sets nothing on `objs`.

    `written`: columns (by attribute name) whose values the caller has already written as
    the database reads them, one per object: a JSON column as its text, which the objects
    hold as the value it reads back as (PostgreSQL takes the text; other databases the
    objects' values, the same JSON).

    `along`: an UPDATE (`pending_update`) sent with the INSERT, on PostgreSQL in its very
    statement, else just before it; its `rowcount` is set."""
    if along is not None and (connection.vendor != "postgresql" or not objs):
        along.send()
        along = None
    if not objs:
        return []
    model = type(objs[0])
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    returned: list[Any] = [meta.pk if name == "pk" else meta.get_field(name) for name in returning]
    if any(getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) for f in fields):
        raise ValueError(f"{meta.label} has a time set on save: use bulk_create.")
    rows: list[tuple[Any, ...]] = []
    if connection.vendor != "postgresql":
        size = max(connection.ops.bulk_batch_size(fields, objs), 1)
        with connection.cursor() as cursor:
            for start in range(0, len(objs), size):
                query = sql.InsertQuery(
                    model, on_conflict=OnConflict.IGNORE if ignore_conflicts else None
                )
                query.insert_values(fields, list(objs[start : start + size]))
                compiler = SQLInsertCompiler(query, connection, "default")
                compiler.returning_fields = returned
                for statement, values in compiler.as_sql():
                    cursor.execute(statement, values)
                    if returned:
                        rows += [tuple(row) for row in cursor.fetchall()]
        return rows

    prepared, kinds = _insert_columns(model)
    given = written or {}
    columns = [
        list(given[attname])
        if attname in given
        else [getattr(obj, attname) for obj in objs]
        if prepare is None
        else [prepare(getattr(obj, attname)) for obj in objs]
        for attname, prepare in prepared
    ]
    # One array per column (UNNEST), as Django's own bulk INSERT on PostgreSQL: the statement
    # stays short whatever the number of rows (the driver parses each statement it sends).
    # A column holding the same object in every row (a batch's time, its kind, an empty
    # field) is sent once: the driver writes out each element of an array in Python.
    # A JSON column the caller wrote out travels as an array of texts, each read as JSON in
    # the row: cast whole, the array of JSON values is built once more before UNNEST takes it
    # apart, which for a batch's snapshots cost nearly half as much as reading them.
    shape, once, spread = [], [], []
    for n, ((attname, _prepare), kind, column) in enumerate(
        zip(prepared, kinds, columns, strict=True)
    ):
        first = column[0]
        if n and all(value is first for value in column):
            shape.append(_ONCE)
            once.append(first)
        else:
            shape.append(_TEXTS if attname in given and kind in ("json", "jsonb") else _ARRAY)
            spread.append(column)
    statement = _insert_sql(model, tuple(shape), ignore_conflicts, tuple(returning))
    if along is not None:
        with connection.cursor() as cursor:
            cursor.execute(
                _along_sql(along.sql, statement, bool(returning)), [*along.params, *once, *spread]
            )
            fetched = cursor.fetchall()
        along.rowcount = int(fetched[0][0])
        # The row of the LEFT JOIN when nothing was inserted has no mark (see `_along_sql`).
        return [tuple(row[2:]) for row in fetched if row[1] is not None]
    with connection.cursor() as cursor:
        cursor.execute(statement, [*once, *spread])
        if returned:
            rows += [tuple(row) for row in cursor.fetchall()]
    return rows


@cache
def _along_sql(update: str, insert: str, returns: bool) -> str:
    """The UPDATE and the INSERT in one statement (a data-modifying WITH): the number of rows
    the UPDATE changed, then a mark and the INSERT's RETURNING columns, one row per row
    inserted, or one row without the mark if none was."""
    rows = "r.* FROM (SELECT 1) AS one LEFT JOIN (SELECT true, i.* FROM i) AS r ON true"
    return (
        f"WITH w AS ({update} RETURNING 1), i AS ({insert}) "
        f"SELECT (SELECT COUNT(*) FROM w), {rows if returns else 'NULL'}"
    )


# How `insert` sends a column: one value for every row, an array of JSON texts, an array.
_ONCE, _TEXTS, _ARRAY = 0, 1, 2


@cache
def _insert_columns(
    model: type[models.Model],
) -> tuple[list[tuple[str, Callable[[Any], Any] | None]], list[str]]:
    """The columns `insert` writes, each with its preparation and its type's name: worked out
    once per model (a score save writes its audit entry through `insert`)."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    return (
        [(f.attname, _preparation(f)) for f in fields],
        [str(f.db_type(connection)).split("(")[0] for f in fields],
    )


@cache
def _insert_sql(
    model: type[models.Model],
    shape: tuple[int, ...],
    ignore_conflicts: bool,
    returning: tuple[str, ...],
) -> str:
    """The statement of `insert` for the columns sent as `shape` says, written once."""
    meta = model._meta

    def quote(name: str | None) -> str:
        return connection.ops.quote_name(str(name))

    fields = [f for f in meta.concrete_fields if not f.primary_key]
    _prepared, kinds = _insert_columns(model)
    picked, arrays = [], []
    for n, (how, kind) in enumerate(zip(shape, kinds, strict=True)):
        if how == _ONCE:
            picked.append(f"(%b)::{kind}")
        elif how == _TEXTS:
            picked.append(f"u.c{n}::{kind}")
            arrays.append(("(%b)::text[]", f"c{n}"))
        else:
            picked.append(f"u.c{n}")
            arrays.append((f"(%b)::{kind}[]", f"c{n}"))
    statement = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT {', '.join(picked)} FROM UNNEST({', '.join(a for a, _c in arrays)}) "
        f"AS u({', '.join(c for _a, c in arrays)})"
    )
    if ignore_conflicts:
        statement += " ON CONFLICT DO NOTHING"
    if returning:
        returned = [meta.pk if name == "pk" else meta.get_field(name) for name in returning]
        statement += " RETURNING " + ", ".join(quote(f.column) for f in returned)  # type: ignore[union-attr]
    return statement


def create(objs: Sequence[M]) -> list[M]:
    """`bulk_create` of new instances of one model through `insert`: each gets its id."""
    for obj, (pk,) in zip(objs, insert(objs, returning=("pk",)), strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = "default"
    return list(objs)


@dataclass
class Update:
    """An UPDATE written out and not yet sent (`pending_update`): a change sends it with its
    audit entry's INSERT (`insert(..., along=...)`), a round trip less for a score save or a
    transition (bench/transitions.py); `rowcount` is what it changed once sent."""

    sql: str
    params: list[Any]
    rowcount: int | None = None

    def send(self) -> int:
        """Send it on its own (where it cannot go with an INSERT)."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            self.rowcount = int(cursor.rowcount)
        return self.rowcount


def pending_update(
    obj: models.Model, attnames: Sequence[str], *, where: Mapping[str, Any] | None = None
) -> Update:
    """An UPDATE of these fields (by attribute name) of a saved instance, found by its
    primary key and, if given, the values `where` names, as `save(update_fields=...)` writes
    them (a time set on save is set on `obj` now) but by a statement written once per model
    and fields; not sent (`Update`). Sends no signal: for the rows nothing listens to (a
    score save, a case's transition)."""
    given = where or {}
    values = [
        prepare(field.pre_save(obj, False))
        for field, prepare in _update_fields(type(obj), tuple(attnames))
    ]
    values.append(obj.pk)
    values += [
        prepare(given[field.attname]) for field, prepare in _update_fields(type(obj), tuple(given))
    ]
    return Update(_update_sql(type(obj), tuple(attnames), tuple(given)), values)


@cache
def _update_fields(
    model: type[models.Model], attnames: tuple[str, ...]
) -> list[tuple[models.Field[Any, Any], Callable[[Any], Any]]]:
    """Each field with what prepares its value for the database (`_preparation` on
    PostgreSQL, the field itself elsewhere)."""
    fields = []
    for name in attnames:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field)
        prepare = _preparation(field) if connection.vendor == "postgresql" else _through(field)
        fields.append((field, prepare or _as_it_is))
    return fields


def _as_it_is(value: Any) -> Any:
    return value


@cache
def _update_sql(
    model: type[models.Model], attnames: tuple[str, ...], where: tuple[str, ...]
) -> str:
    quote = connection.ops.quote_name
    meta = model._meta

    def column(name: str) -> str:
        return quote(str(meta.get_field(name).column))  # type: ignore[union-attr]

    return (
        f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{column(n)} = %s' for n in attnames)}"
        f" WHERE {quote(str(meta.pk.column))} = %s"
        + "".join(f" AND {column(n)} = %s" for n in where)
    )
