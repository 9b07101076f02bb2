"""Where workflow events leave for the apps above it (notifications, live push).

The workflow cannot import those apps (dependencies go one way), so they subscribe here once,
in their AppConfig.ready(). `publish` is called explicitly by the services that write an
audit entry: in-transaction subscribers write rows that must commit with the event (inbox
rows); after-commit subscribers do I/O (push, e-mail, the store) and run only once the
entry has committed, so a rolled-back event never leaves the building. They receive the
entry itself: it is append-only, so what they read from it is what was committed, without a
second query.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from workflow.models import AuditEntry

InTransaction = Callable[[AuditEntry], None]
AfterCommit = Callable[[AuditEntry], None]

_in_transaction: list[InTransaction] = []
_after_commit: list[AfterCommit] = []


def subscribe(
    *, in_transaction: InTransaction | None = None, after_commit: AfterCommit | None = None
) -> None:
    if in_transaction is not None and in_transaction not in _in_transaction:
        _in_transaction.append(in_transaction)
    if after_commit is not None and after_commit not in _after_commit:
        _after_commit.append(after_commit)


def publish(entry: AuditEntry) -> None:
    for handler in _in_transaction:
        handler(entry)
    if _after_commit:
        transaction.on_commit(lambda: [handler(entry) for handler in _after_commit])
