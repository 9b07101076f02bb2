"""`field__any` (`cases.lookups`) finds exactly what `field__in` finds: on PostgreSQL as one
array parameter whatever the number of values, elsewhere (SQLite, the embedded default, in a
subprocess) as Django's `IN` itself."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Score
from deadlines.models import ReminderLog
from tests.factories import make_user, open_world
from tests.helpers import not_on_sqlite_already, pytest_on_sqlite

pytestmark = pytest.mark.django_db

# Keys an array literal has to quote: its separators, quotes, braces, backslashes, spaces,
# the word it reads as NULL, the empty text, and Vietnamese.
AWKWARD_KEYS = [
    "plain",
    "with,comma",
    'with "double" quotes',
    "with 'single' quotes",
    "{braces}",
    "{1,2}",
    "back\\slash",
    "trailing\\",
    " spaced ",
    "NULL",
    "null",
    "",
    "nhắc hạn: tự đánh giá",
]


def _logs(keys: list[str]) -> tuple[list[User], list[ReminderLog]]:
    """A reminder claimed for each key, by one of two recipients in turn."""
    users = [make_user("nguoi_nhan_1"), make_user("nguoi_nhan_2")]
    run = uuid.uuid4()
    logs = ReminderLog.objects.bulk_create(
        ReminderLog(key=key, recipient=users[n % 2], kind="self", run=run)
        for n, key in enumerate(keys)
    )
    return users, logs


def _pks(rows: Any) -> list[int]:
    return sorted(row.pk for row in rows)


@contextmanager
def _statements() -> Iterator[list[tuple[str, Any]]]:
    """Each statement sent in the block, with the parameters it went with."""
    sent: list[tuple[str, Any]] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent


def test_keys_an_array_literal_must_quote_are_found_as_in_finds_them() -> None:
    _users, logs = _logs([*AWKWARD_KEYS, "other"])
    for wanted in (AWKWARD_KEYS, AWKWARD_KEYS[1:2], ["{", "}", '"', "\\", ","], ["absent"]):
        found = _pks(ReminderLog.objects.filter(key__any=wanted))
        assert found == _pks(ReminderLog.objects.filter(key__in=wanted))
        assert _pks(ReminderLog.objects.exclude(key__any=wanted)) == _pks(
            ReminderLog.objects.exclude(key__in=wanted)
        )
    assert len(_pks(ReminderLog.objects.filter(key__any=AWKWARD_KEYS))) == len(AWKWARD_KEYS)
    assert [log.key for log in ReminderLog.objects.filter(key__any=["{braces}"])] == ["{braces}"]
    assert len(logs) == len(AWKWARD_KEYS) + 1


def test_ids_of_integer_and_bigint_columns_and_foreign_keys_are_found_as_in_finds_them() -> None:
    users, logs = _logs(["a", "b", "c", "d"])
    some = [logs[0].pk, logs[2].pk, 10**12]
    assert _pks(ReminderLog.objects.filter(pk__any=some)) == [logs[0].pk, logs[2].pk]
    assert _pks(User.objects.filter(pk__any=[users[1].pk, 0])) == [users[1].pk]
    for lookup, wanted in (("recipient", [users[0].pk]), ("recipient_id", (users[1].pk,))):
        assert _pks(ReminderLog.objects.filter(**{f"{lookup}__any": wanted})) == _pks(
            ReminderLog.objects.filter(**{f"{lookup}__in": wanted})
        )
    # A set or a frozenset, as `IN` takes them; and `Q`, exclude, a join through the key.
    assert _pks(ReminderLog.objects.filter(pk__any={logs[1].pk})) == [logs[1].pk]
    assert _pks(ReminderLog.objects.exclude(recipient__any=frozenset([users[0].pk]))) == _pks(
        ReminderLog.objects.filter(recipient=users[1])
    )
    assert _pks(ReminderLog.objects.filter(recipient__username__any=["nguoi_nhan_2"])) == _pks(
        ReminderLog.objects.filter(recipient=users[1])
    )


def test_a_case_s_score_rows_are_found_through_the_foreign_key_as_in_finds_them() -> None:
    w = open_world()
    ids = [w.case_a.pk, w.case_b.pk]
    rows = Score.objects.filter(case__any=ids).order_by("pk")
    assert list(rows) == list(Score.objects.filter(case__in=ids).order_by("pk"))
    assert {score.case_id for score in rows} == set(ids)


def test_an_empty_list_finds_nothing_and_asks_the_database_nothing_as_in_does() -> None:
    _users, logs = _logs(["a", "b"])
    with CaptureQueriesContext(connection) as asked:
        assert list(ReminderLog.objects.filter(key__any=[])) == []
        assert list(ReminderLog.objects.filter(pk__any=())) == []
        assert list(ReminderLog.objects.filter(case__any=set())) == []
    assert len(asked) == 0
    assert _pks(ReminderLog.objects.exclude(pk__any=[])) == _pks(logs)


def test_none_among_the_values_is_left_out_as_in_leaves_it_out() -> None:
    _users, logs = _logs(["a", "b"])  # no case: the column holds NULL
    assert list(ReminderLog.objects.filter(case__any=[None])) == []
    assert list(ReminderLog.objects.filter(key__any=[None])) == []
    assert _pks(ReminderLog.objects.filter(key__any=["a", None])) == [logs[0].pk]
    for wanted in ([None], [None, 10**12]):
        # NOT IN never meets the NULL it was given: every row stays.
        assert _pks(ReminderLog.objects.exclude(case__any=wanted)) == _pks(
            ReminderLog.objects.exclude(case__in=wanted)
        )
        assert _pks(ReminderLog.objects.exclude(pk__any=wanted)) == _pks(logs)


def test_values_that_are_not_sent_as_they_are_go_through_in_and_find_the_same() -> None:
    users, logs = _logs(["a", "b", "c"])
    # Model instances, texts for an integer column, an integer beyond the column's range, a
    # subquery, a generator, True for an integer.
    assert _pks(ReminderLog.objects.filter(recipient__any=[users[0]])) == _pks(
        ReminderLog.objects.filter(recipient__in=[users[0]])
    )
    assert _pks(User.objects.filter(pk__any=[str(users[0].pk)])) == [users[0].pk]
    assert _pks(User.objects.filter(pk__any=[users[0].pk, 2**40])) == [users[0].pk]
    assert _pks(ReminderLog.objects.filter(recipient__any=User.objects.filter(pk=users[1].pk))) == (
        _pks(ReminderLog.objects.filter(recipient=users[1]))
    )
    assert _pks(ReminderLog.objects.filter(pk__any=(log.pk for log in logs[:2]))) == _pks(logs[:2])
    assert _pks(User.objects.filter(pk__any=[True])) == _pks(User.objects.filter(pk__in=[True]))


@not_on_sqlite_already
def test_five_hundred_values_go_to_postgresql_as_one_array_of_the_column_s_type() -> None:
    users, _logs_made = _logs([f"overdue:{n}:2026-12-04" for n in range(500)])
    keys = [f"overdue:{n}:2026-12-04" for n in range(250, 750)]
    ids = [users[0].pk, *range(10_000, 10_499)]
    with _statements() as sent:
        found = list(ReminderLog.objects.filter(key__any=keys).values_list("key", flat=True))
        people = list(User.objects.filter(pk__any=ids).values_list("pk", flat=True))
        claims = list(ReminderLog.objects.filter(recipient__any=ids).values_list("pk", flat=True))
    assert sorted(found) == sorted(keys[:250])
    assert people == [users[0].pk]
    assert len(claims) == 250
    [(by_key, key_params), (by_id, id_params), (by_recipient, recipient_params)] = sent
    assert '"key" IN (SELECT unnest(%s::text[]))' in by_key and len(key_params) == 1
    assert '"id" = ANY(%s::integer[])' in by_id and len(id_params) == 1  # auth_user's serial
    assert '"recipient_id" = ANY(%s::integer[])' in by_recipient and len(recipient_params) == 1
    assert len(key_params[0]) == len(id_params[0]) == 500
    sql, params = ReminderLog.objects.filter(case__any=ids).query.sql_with_params()
    assert '"case_id" = ANY(%s::bigint[])' in sql and len(params) == 1
    # The same statement again and again: prepared, then planned once for every call.
    for _ in range(12):
        again = ReminderLog.objects.filter(key__any=keys).values_list("key", flat=True)
        assert sorted(again) == sorted(keys[:250])
        assert list(User.objects.filter(pk__any=ids).values_list("pk", flat=True)) == people


def test_elsewhere_the_statement_is_django_s_in() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL takes the array")
    sql, params = ReminderLog.objects.filter(pk__any=[1, 2, 3]).query.sql_with_params()
    assert sql == str(ReminderLog.objects.filter(pk__in=[1, 2, 3]).query.sql_with_params()[0])
    assert "IN (%s, %s, %s)" in sql and params == (1, 2, 3)


@not_on_sqlite_already
def test_any_finds_what_in_finds_on_sqlite_as_well() -> None:
    result = pytest_on_sqlite("-k", "not sqlite_as_well", __file__)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "7 passed, 1 skipped" in result.stdout  # the one array: PostgreSQL's alone
