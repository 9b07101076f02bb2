"""A long pass's batches two at a time (`cases.batches`): on PostgreSQL, outside a
transaction, every other batch on a second connection; one after the other in the caller's
transaction, and on SQLite (this file runs there again)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections, transaction

from cases.batches import alongside_possible, in_batches
from cases.models import UnitGroup
from tests.helpers import not_on_sqlite_already, pytest_on_sqlite

pytestmark = pytest.mark.django_db(transaction=True)

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="two connections at once: PostgreSQL's"
)


def _write(batch: int) -> tuple[int, int, Any]:
    """A batch that writes a row in its own transaction; says where it ran."""
    with transaction.atomic():
        UnitGroup.objects.create(code=f"k{batch}", name=f"Khối {batch}")
    return batch, threading.get_ident(), connections["default"]


def _groups() -> list[str]:
    return sorted(UnitGroup.objects.values_list("code", flat=True))


@on_postgresql
def test_outside_a_transaction_every_other_batch_runs_on_a_second_connection_in_order() -> None:
    assert alongside_possible()

    done = list(in_batches(_write, [0, 1, 2, 3, 4]))

    assert [batch for batch, _thread, _conn in done] == [0, 1, 2, 3, 4]
    here = threading.get_ident()
    assert {thread for batch, thread, _c in done if batch % 2 == 0} == {here}
    helpers = {thread for batch, thread, _c in done if batch % 2}
    assert len(helpers) == 1 and here not in helpers
    mine, theirs = done[0][2], done[1][2]
    assert mine is connections["default"] and theirs is not mine
    # The second connection went back once its batches were done; this one stays.
    assert theirs.connection is None and mine.connection is not None
    assert _groups() == ["k0", "k1", "k2", "k3", "k4"]


def test_inside_a_transaction_every_batch_is_part_of_it() -> None:
    with transaction.atomic():
        assert not alongside_possible()
        done = list(in_batches(_write, [0, 1, 2]))
        assert {thread for _b, thread, _c in done} == {threading.get_ident()}
        transaction.set_rollback(True)
    assert _groups() == []  # undone with the caller's transaction


def _failing_at(bad: int) -> Any:
    def work(batch: int) -> tuple[int, int, Any]:
        if batch == bad:
            with transaction.atomic():
                UnitGroup.objects.create(code=f"k{batch}", name="Khối")
                raise ValueError(f"batch {batch} broke")
        return _write(batch)

    return work


@pytest.mark.parametrize("bad", [1, 2])
def test_a_failed_batch_is_raised_where_its_result_is_taken_and_the_batches_before_stand(
    bad: int,
) -> None:
    taken = []
    with pytest.raises(ValueError, match=f"batch {bad} broke"):
        for batch, _thread, _conn in in_batches(_failing_at(bad), [0, 1, 2, 3]):
            taken.append(batch)
    assert taken == list(range(bad))
    groups = _groups()
    assert f"k{bad}" not in groups  # its transaction rolled back
    assert {f"k{n}" for n in range(bad)} <= set(groups)


def test_one_batch_or_none_runs_here() -> None:
    assert list(in_batches(_write, [])) == []
    [(batch, thread, conn)] = in_batches(_write, [7])
    assert (batch, thread, conn) == (7, threading.get_ident(), connections["default"])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the run on SQLite")
def test_on_sqlite_every_batch_runs_here_one_after_the_other() -> None:
    assert not alongside_possible()
    done = list(in_batches(_write, [0, 1, 2]))
    assert {thread for _b, thread, _c in done} == {threading.get_ident()}
    assert _groups() == ["k0", "k1", "k2"]


@not_on_sqlite_already
def test_the_embedded_default_s_sqlite_takes_its_batches_one_after_the_other() -> None:
    result = pytest_on_sqlite(__file__)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "5 passed, 2 skipped" in result.stdout
