"""The batches of a long pass (the sweep's transitions and reminders), two at a time.

Each batch is its own transaction. Done one after the other, the process waits while the
database writes a batch (a thousand cases due at once: their audit entries and snapshots,
their notifications) and the database waits while the process builds the next one. On
PostgreSQL a second thread with its own connection does every other batch, so the two
overlap (bench/sweep.py).

One after the other still, where a second connection cannot help or would be wrong:
SQLite writes one transaction at a time, and a caller inside a transaction needs every
batch in it (a batch on another connection would not see what the caller wrote, nor be
undone with it).

Batches must not wait for each other: the sweep's lock disjoint rows (cases, reminder
claims), each batch in its own order, as two sweeps of two processes already do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.db import connection, connections

T = TypeVar("T")
R = TypeVar("R")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` cut into consecutive batches of `size` (the last one shorter)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def alongside_possible() -> bool:
    """Whether batches may run two at a time here (the BATCHES_ALONGSIDE setting, the
    database, the caller's transaction)."""
    return (
        settings.BATCHES_ALONGSIDE
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )


def in_batches(work: Callable[[T], R], batches: Sequence[T]) -> Iterator[R]:
    """`work(batch)` for each batch, its results in the batches' order. `work` opens its own
    transaction. Where possible (`alongside_possible`), every other batch runs in a second
    thread, on a connection of its own that is closed once its batches are done; an error
    of a batch is raised where its result is taken."""
    if len(batches) < 2 or not alongside_possible():
        for batch in batches:
            yield work(batch)
        return
    helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch")
    theirs: dict[int, Future[R]] = {}
    try:
        # The helper's batches queue up in its one thread; this thread does the others.
        for n, batch in enumerate(batches):
            if n % 2:
                theirs[n] = helper.submit(work, batch)
        for n, batch in enumerate(batches):
            yield theirs[n].result() if n % 2 else work(batch)
    finally:
        # After the helper's last batch (or at once, for those not begun if the caller
        # stopped early), in its thread: its connection goes back.
        for future in theirs.values():
            future.cancel()
        helper.submit(connections.close_all)
        helper.shutdown(wait=True)
