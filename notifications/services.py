"""Writing notifications. `notify` is the one entry point for every app that tells users
something; it must be called inside the transaction of the event it reports."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from cases.models import Case
from notifications.models import Notification


def notify(
    kind: str,
    recipients: Iterable[Any],
    *,
    text_vi: str,
    text_en: str,
    case: Case | None = None,
    link: str = "",
) -> list[Notification]:
    """Write one inbox row per distinct recipient, in the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify() runs inside the transaction of the event it reports.")
    seen: set[int] = set()
    rows = []
    for user in recipients:
        user_id = user if isinstance(user, int) else user.pk
        if user_id in seen:
            continue
        seen.add(user_id)
        rows.append(
            Notification(
                recipient_id=user_id,
                kind=kind,
                case=case,
                text_vi=text_vi,
                text_en=text_en,
                link=link,
            )
        )
    return Notification.objects.bulk_create(rows)
