"""Where workflow events leave for the apps above it (notifications, live push).

The workflow cannot import those apps (dependencies go one way), so they subscribe here once,
in their AppConfig.ready(). `publish` is called explicitly by the services that write an
audit entry: in-transaction subscribers write rows that must commit with the event (inbox
rows); after-commit subscribers do I/O (push, e-mail, the store) and run only once the
entry has committed, so a rolled-back event never leaves the building. They receive the
entry itself: it is append-only, so what they read from it is what was committed, without a
second query.

`publish_many` hands a batch of entries (the sweep's, one per case of a batch) to the
subscribers that take batches at once (`in_transaction_many`), so that they can write the
rows of the whole batch in a few statements; the others get the entries one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import transaction

from workflow.models import AuditEntry

InTransaction = Callable[[AuditEntry], None]
InTransactionMany = Callable[[Sequence[AuditEntry]], None]
AfterCommit = Callable[[AuditEntry], None]

_in_transaction: list[tuple[InTransaction, InTransactionMany | None]] = []
_after_commit: list[AfterCommit] = []


def subscribe(
    *,
    in_transaction: InTransaction | None = None,
    in_transaction_many: InTransactionMany | None = None,
    after_commit: AfterCommit | None = None,
) -> None:
    """`in_transaction_many`, given with `in_transaction`, takes the entries of a batch."""
    if in_transaction is not None and all(one is not in_transaction for one, _ in _in_transaction):
        _in_transaction.append((in_transaction, in_transaction_many))
    if after_commit is not None and after_commit not in _after_commit:
        _after_commit.append(after_commit)


def publish(entry: AuditEntry) -> None:
    publish_many([entry])


def publish_many(entries: Sequence[AuditEntry]) -> None:
    if not entries:
        return
    for one, many in _in_transaction:
        if many is not None and len(entries) > 1:
            many(entries)
        else:
            for entry in entries:
                one(entry)
    if _after_commit:
        handlers = list(_after_commit)
        transaction.on_commit(lambda: [handler(e) for e in entries for handler in handlers])
