"""Drill: Redis (the channel layer of the live push) stops in the middle of a burst of
transitions and comes back.

The secretariat has a page open (a WebSocket, acknowledging every push as the page's script
does); thirty unit heads submit one after another. A third of the way through, Redis is
stopped; two thirds of the way, it is started again and the page's subscription comes back
(within a second: redis-py resubscribes when the layer's receiver next polls). Then the
notification worker makes its round, as it does every few seconds in production. Afterwards:
- every transition succeeded (the push is after commit, and never raises into it);
- the page received each of the thirty notifications exactly once: the first and last
  thirds at once, the middle third from the worker after Redis returned;
- every push is recorded delivered and confirmed by the page; the middle third on their
  second attempt.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from bench.common import commune_province
from cases.models import Case
from config.asgi import application
from notifications.delivery import user_group
from notifications.models import Delivery, Notification
from tests.notifications.helpers import RedisServer, redis_layer, ticket, with_token
from workflow import services as wf
from workflow.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)

UNITS = 30


@pytest.fixture
def province(transactional_db: Any) -> SimpleNamespace:
    secretariat, cycle, units, heads = commune_province(UNITS, "Diễn tập mất Redis")
    head_of = {u.pk: h for h, u in zip(heads, units, strict=True)}
    cases = list(Case.objects.filter(cycle=cycle).order_by("pk"))
    return SimpleNamespace(
        secretariat=secretariat,
        token=Token.objects.create(user=secretariat).key,
        jobs=[(case.pk, head_of[case.unit_id]) for case in cases],
    )


async def open_page(token: str) -> WebsocketCommunicator:
    fresh = await database_sync_to_async(lambda: ticket(with_token(token)))()
    page = WebsocketCommunicator(application, f"/ws/notifications/?ticket={fresh}")
    connected, _protocol = await page.connect(timeout=5)
    assert connected
    assert (await page.receive_json_from(timeout=5))["type"] == "hello"
    return page


async def back_on_redis(page: WebsocketCommunicator, user_id: int) -> float:
    """Wait until the page's subscription works again (probes until one arrives); returns
    the seconds it took."""
    started = time.monotonic()
    probe = {"type": "notification.message", "payload": {"type": "probe"}}
    for _ in range(100):
        with contextlib.suppress(Exception):
            await get_channel_layer().group_send(user_group(user_id), probe)
        if not await page.receive_nothing(timeout=0.1):
            assert (await page.receive_json_from())["type"] == "probe"
            while not await page.receive_nothing(timeout=0.3):  # late duplicate probes
                assert (await page.receive_json_from())["type"] == "probe"
            return time.monotonic() - started
    raise AssertionError("the page did not get its subscription back")


async def take_pushes(page: WebsocketCommunicator) -> list[int]:
    """What the page received so far, acknowledged one by one as the page's script does."""
    ids = []
    while not await page.receive_nothing(timeout=0.5):
        frame = await page.receive_json_from()
        if frame["type"] == "acked":
            assert frame["recorded"] is True, frame
            continue
        assert frame["type"] == "notification", frame
        ids.append(frame["id"])
        await page.send_json_to({"type": "ack", "id": frame["id"]})
    return ids


async def test_redis_stopped_during_a_burst_every_push_arrives_once_after_it_returns(
    province: SimpleNamespace, own_redis: RedisServer, settings: Any
) -> None:
    settings.CHANNEL_LAYERS = redis_layer(own_redis.url)
    settings.NOTIFY_PUSH_TIMEOUT = 2
    settings.NOTIFY_RETRY_BASE_SECONDS = 0  # due again at once: the worker's round takes it
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    page = await open_page(province.token)
    started = time.monotonic()
    stop_at, start_at = UNITS // 3, 2 * UNITS // 3

    pushed: list[int] = []
    for i, (case_id, head) in enumerate(province.jobs):
        if i == stop_at:
            pushed += await take_pushes(page)
            own_redis.stop()
        if i == start_at:
            own_redis.start()
            back_after = await back_on_redis(page, province.secretariat.pk)
        await database_sync_to_async(wf.run_transition)(case_id, "submit", actor=head)
    burst_seconds = time.monotonic() - started
    pushed += await take_pushes(page)
    at_once = len(pushed)
    await database_sync_to_async(call_command)("deliver_notifications")
    pushed += await take_pushes(page)
    await page.disconnect()

    def outcome() -> tuple[Counter[str], dict[int | None, tuple[str, int, bool]], list[int]]:
        states = Counter(
            Case.objects.filter(pk__in=[c for c, _h in province.jobs]).values_list(
                "state", flat=True
            )
        )
        entries = list(
            AuditEntry.objects.filter(action="workflow.case.submit").values_list(
                "case_id", flat=True
            )
        )
        deliveries = {
            d.notification.case_id: (d.status, d.attempts, d.confirmed_at is not None)
            for d in Delivery.objects.filter(
                channel="push", notification__kind="submitted"
            ).select_related("notification")
        }
        return states, deliveries, entries

    states, deliveries, entries = await database_sync_to_async(outcome)()
    notifications = await database_sync_to_async(
        lambda: dict(Notification.objects.filter(kind="submitted").values_list("pk", "case_id"))
    )()
    print(
        f"\nRedis drill: {UNITS} transitions in {burst_seconds:.1f} s, Redis down for "
        f"transitions {stop_at + 1}–{start_at}, page back on Redis {back_after:.1f} s after "
        f"the restart; pushes received at once {at_once}, from the worker after the return "
        f"{len(pushed) - at_once}; duplicates {sum(n - 1 for n in Counter(pushed).values())}"
    )
    assert states == {"submitted": UNITS}
    assert sorted(entries) == sorted(case_id for case_id, _h in province.jobs)
    # Each notification reached the open page exactly once.
    assert Counter(pushed) == Counter(list(notifications))
    assert at_once == UNITS - (start_at - stop_at)
    # Recorded as delivered and confirmed by the page; the outage's pushes on their retry.
    expected = {
        case_id: ("delivered", 2 if stop_at <= i < start_at else 1, True)
        for i, (case_id, _head) in enumerate(province.jobs)
    }
    assert deliveries == expected
