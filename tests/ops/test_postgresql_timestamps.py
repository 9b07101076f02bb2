"""Every timestamp the product reads from PostgreSQL (a save's time, a deadline's, an audit
entry's) comes back exactly as Django's own loader gives it, though psycopg's C parser now
reads it (config/postgresql)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
from django.db.backends.postgresql.psycopg_any import get_adapters_template
from psycopg import pq

from config.postgresql.base import _CTzLoader, _ours
from notifications.models import Notification
from tests.factories import open_world

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's loader"),
]

TEXTS = [
    b"2026-03-31 23:59:59.123456+00",
    b"2026-03-31 16:59:59+00",
    b"2027-01-01 00:00:00.000001+00",
    b"1900-02-28 12:00:00+00",
    b"0001-01-01 00:00:00+00",
    b"9999-12-31 23:59:59.999999+00",
    b"2026-03-31 23:59:59.5+07",
    b"2026-03-31 10:00:00-03:30",
]


def test_the_c_loader_reads_every_timestamp_as_djangos_own_loader() -> None:
    connection.ensure_connection()
    pg = connection.connection
    template = get_adapters_template(True, connection.timezone)
    djangos = template.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)
    ours = _ours(template).get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)
    assert djangos is not None and ours is not None and issubclass(ours, _CTzLoader)
    django_loader = djangos(TIMESTAMPTZ_OID, pg)
    loader = ours(TIMESTAMPTZ_OID, pg)
    for text in TEXTS:
        expected = django_loader.load(text)
        found = loader.load(text)
        assert (found, found.tzinfo) == (expected, expected.tzinfo), text
    for bad in (b"infinity", b"-infinity"):
        with pytest.raises(Exception) as by_django:
            django_loader.load(bad)
        with pytest.raises(by_django.type):
            loader.load(bad)


def test_a_notification_sent_at_a_deadlines_last_second_reads_back_to_the_microsecond() -> None:
    """Through the ORM, on the connections Django opens: the backend's loader is in use."""
    w = open_world()
    at = datetime(2026, 3, 31, 16, 59, 59, 999999, tzinfo=UTC)  # 23:59:59 in Hà Nội
    sent = Notification.objects.create(
        recipient=w.head_a, kind="case.submitted", text_vi="Đã nộp", text_en="Sent", created_at=at
    )
    read = Notification.objects.get(pk=sent.pk).created_at
    assert (read, read.tzinfo) == (at, UTC)
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)
    assert loader is not None and issubclass(loader, _CTzLoader)
