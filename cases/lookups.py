"""`field__any=values`: `field__in=values` sent to PostgreSQL as one array parameter.

The sweep filters on lists of hundreds of ids and keys a batch. Django writes `IN (%s, %s,
…)` with one parameter per value, prepares each value in Python, and psycopg splits again,
on every call, a statement of more than 50 parameters or 4 KB (it keeps the split of
shorter ones only): a tenth of the samples of a profile of a first sweep (bench/sweep.py).
Here a list of integers or texts goes as it is, as one array of the column's own type, so
that PostgreSQL uses its index: `column = ANY(%s::bigint[])`. The statement stays short
and the same whatever the number of values.

Texts go as a set to join, `column IN (SELECT unnest(%s::text[]))`: a statement run often is
prepared (`config/settings.py`), and in the plan PostgreSQL then keeps for every call, an
array parameter is looked through value by value for each row it reads (only a constant
array is hashed). For the sweep's 600 reminder keys against a few thousand claims read in
full, that was 19 ms instead of 1.5; the join hashes them, or looks each up in the index.
Numbers stay in the array: each is found through the column's index, and the join took
longer where a second condition joined it too (7 ms instead of 1.2 for who holds what on
a batch).

The values of a long list are best given as a set: the ORM walks a list or a tuple value by
value before any lookup sees it (`Query.resolve_lookup_value`, for expressions among them),
which for a sweep batch's thousands of ids and keys was as long as writing the statement.

Anything else takes Django's `IN` of the field, as written: other databases, a subquery,
values of another kind (model instances, texts for an integer column), an integer beyond the
column's range, a column with its own collation. The rows are the same: `None` is left out
and an empty list matches nothing, as with `IN`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import EmptyResultSet, FieldError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import CharField, Field, ForeignObject, IntegerField, Lookup, TextField
from django.db.models.sql.compiler import SQLCompiler

if TYPE_CHECKING:
    from django.db.models.sql.compiler import _AsSqlType

# The collections taken as values; any other iterable is left to `IN`.
_COLLECTIONS = (list, tuple, set, frozenset)


class AnyOf(Lookup):
    """`IN` with one array parameter on PostgreSQL, for integer and text columns."""

    lookup_name = "any"

    def get_prep_lookup(self) -> Any:
        """The values as given, each prepared (if at all) when the statement is written; an
        iterator read once now, as `IN` reads it."""
        if isinstance(self.rhs, _COLLECTIONS) or hasattr(self.rhs, "resolve_expression"):
            return self.rhs
        return list(self.rhs)

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> _AsSqlType:
        """Django's `IN` of the field (another database, or values it has to prepare)."""
        lookup = self.lhs.output_field.get_lookup("in")
        return compiler.compile(lookup(self.lhs, self.rhs))

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> _AsSqlType:
        array = self._array(connection)
        if array is None:
            return self.as_sql(compiler, connection)
        kind, values = array
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        # Texts are joined as a set (see above); numbers compared to the array.
        condition = "IN (SELECT unnest(%s::text[]))" if kind == "text" else f"= ANY(%s::{kind}[])"
        # The stubs take a parameter for a text or a number: here it is a list.
        return f"{lhs} {condition}", (*lhs_params, values)  # type: ignore[arg-type]

    def _array(self, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]] | None:
        """The array's element type and values, or None where `IN` is to be written."""
        if not isinstance(self.rhs, _COLLECTIONS):
            return None
        field = self.lhs.output_field
        while field.is_relation:  # a foreign key compares its target's values
            try:
                field = field.target_field
            except FieldError:  # a key of several columns
                return None
        values = list(self.rhs)
        if None in values:  # as `IN`: NULL equals nothing, and NOT IN must not meet it
            values = [value for value in values if value is not None]
        if not values:
            return "text", values
        kinds = set(map(type, values))  # bool is not int here: `IN` would prepare it
        if isinstance(field, IntegerField) and kinds == {int}:
            internal = field.get_internal_type()
            low, high = connection.ops.integer_field_ranges.get(internal, (None, None))
            if low is None or high is None or min(values) < low or max(values) > high:
                return None
            return str(field.cast_db_type(connection)), values
        if isinstance(field, CharField | TextField) and kinds == {str} and not field.db_collation:
            # text, not varchar(n): a cast to varchar(n) would cut a longer value short.
            return "text", values
        return None


def register() -> None:
    """Give the integer, text and foreign key fields their `__any` (the app's `ready`)."""
    field_classes: tuple[type[Field[Any, Any]], ...] = (IntegerField, CharField, TextField)
    for field_class in field_classes:
        field_class.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)
