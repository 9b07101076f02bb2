"""The province a worker builds once and copies back for each module (`tests.sharing`) is the
province the services build: every row of every table alike, and new rows take new ids."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from psycopg import sql

from cases.models import Case
from tests import sharing
from tests.factories import make_user, open_world


def everything() -> dict[str, bytes]:
    """Every table's rows, in the order of their keys."""
    rows: dict[str, bytes] = {}
    with connection.connection.cursor() as cursor:
        for table, pk in sorted(sharing._tables().items()):
            query = sql.SQL("COPY (SELECT * FROM {} ORDER BY {}) TO STDOUT").format(
                sql.Identifier(table), sql.Identifier(pk)
            )
            with cursor.copy(query) as out:
                rows[table] = b"".join(bytes(chunk) for chunk in out)
    return rows


def test_a_province_copied_back_holds_every_row_the_services_built(db: Any) -> None:
    name = "world-as-copied-back"
    sharing._rows.pop(name, None)
    before = transaction.savepoint()
    built = sharing.once_per_session(name, open_world)
    as_built = everything()
    transaction.savepoint_rollback(before)
    assert not Case.objects.exists()

    copied = sharing.once_per_session(name, open_world)

    assert everything() == as_built
    assert (copied.case_a.pk, copied.head_a.pk) == (built.case_a.pk, built.head_a.pk)
    assert copied.case_a is not built.case_a  # each module gets its own namespace
    newcomer = make_user("newcomer")
    assert newcomer.pk > max(user.pk for user in (built.secretariat, built.appraiser2))
    sharing._rows.pop(name, None)


def test_a_province_is_built_again_when_the_rows_before_it_changed(db: Any) -> None:
    name = "world-after-a-change"
    sharing._rows.pop(name, None)
    before = transaction.savepoint()
    sharing.once_per_session(name, open_world)
    transaction.savepoint_rollback(before)
    make_user("left.by.another.test")  # as if an earlier test had left a row

    again = sharing.once_per_session(name, open_world)

    assert Case.objects.filter(pk=again.case_a.pk, unit__code="STP").exists()
    assert sharing._rows[name].before["auth_user"]  # kept with the new starting point
    sharing._rows.pop(name, None)
