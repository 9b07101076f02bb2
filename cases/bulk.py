"""INSERTs of many rows with little Python work per value: the sweep's batches write
thousands of audit entries, notifications and deliveries at once.

`bulk_create` prepares every value through its field (a few calls each) and, on PostgreSQL,
sends the columns as arrays whose every element the driver quotes into the SQL text: for a
batch of the sweep that cost more than the database's work. Here each field's preparation
is chosen once per column (the values the driver takes as they are pass as they are), and
the columns travel as arrays apart from the statement (the connection binds on the
server: `config/settings.py`) instead of quoted into it. Other databases take Django's own
compiler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    """None where the value goes as it is, else what prepares it for the database."""
    if isinstance(field, _AS_THEY_ARE):
        return None

    def prepare(value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    return prepare


def insert(
    objs: Sequence[M],
    *,
    returning: Sequence[str] = (),
    ignore_conflicts: bool = False,
    written: Mapping[str, Sequence[Any]] | None = None,
) -> list[tuple[Any, ...]]:
    """INSERT the new instances `objs` (of one model) with every concrete column but the
    primary key; returns the `returning` columns of the rows written, in the order of `objs`
    (with `ignore_conflicts`, a row not written returns nothing). Sets nothing on `objs`.

    `written`: columns (by attribute name) whose values the caller has already written as
    the database reads them, one per object: a JSON column as its text, which the objects
    hold as the value it reads back as (PostgreSQL takes the text; other databases the
    objects' values, the same JSON)."""
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

    def quote(name: str | None) -> str:
        return connection.ops.quote_name(str(name))

    prepared = [(f.attname, _preparation(f)) for f in fields]
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
    picked, once, arrays, spread = [], [], [], []
    for n, (field, column) in enumerate(zip(fields, columns, strict=True)):
        kind = str(field.db_type(connection)).split("(")[0]
        first = column[0]
        if n and all(value is first for value in column):
            picked.append(f"(%b)::{kind}")
            once.append(first)
        elif field.attname in given and kind in ("json", "jsonb"):
            picked.append(f"u.c{n}::{kind}")
            arrays.append(("(%b)::text[]", f"c{n}"))
            spread.append(column)
        else:
            picked.append(f"u.c{n}")
            arrays.append((f"(%b)::{kind}[]", f"c{n}"))
            spread.append(column)
    statement = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT {', '.join(picked)} FROM UNNEST({', '.join(a for a, _c in arrays)}) "
        f"AS u({', '.join(c for _a, c in arrays)})"
    )
    if ignore_conflicts:
        statement += " ON CONFLICT DO NOTHING"
    if returned:
        statement += " RETURNING " + ", ".join(quote(f.column) for f in returned)
    with connection.cursor() as cursor:
        cursor.execute(statement, [*once, *spread])
        if returned:
            rows += [tuple(row) for row in cursor.fetchall()]
    return rows


def create(objs: Sequence[M]) -> list[M]:
    """`bulk_create` of new instances of one model through `insert`: each gets its id."""
    for obj, (pk,) in zip(objs, insert(objs, returning=("pk",)), strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = "default"
    return list(objs)
