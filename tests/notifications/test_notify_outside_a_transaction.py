"""A notification belongs to the event that caused it: `notify` refuses to run outside the
event's transaction.

In a module of its own: it needs the database in autocommit (transaction=True), which would
make every test of tests/notifications/test_rules.py build its own province (tests/sharing.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from notifications.services import notify


@pytest.mark.django_db(transaction=True)
def test_notify_outside_the_event_transaction_is_refused(world: Any) -> None:
    with pytest.raises(RuntimeError):
        notify(
            "deadlines.extension_granted",
            [world.head_a],
            text_vi="x",
            text_en="x",
            case=world.case_a,
        )
