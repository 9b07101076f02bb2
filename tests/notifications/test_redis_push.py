"""Pushes from synchronous code straight to Redis Pub/Sub (`notifications.redis_push`)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubLoopLayer

from notifications import delivery, redis_push
from tests.notifications.helpers import MEMORY_LAYER, redis_layer


def test_a_group_is_published_on_the_channel_the_layer_subscribes_its_pages_to() -> None:
    layer = RedisPubSubLoopLayer(hosts=[{"address": "redis://127.0.0.1:1/0"}], prefix="par")
    group = delivery.user_group(42)
    assert redis_push.GROUP_CHANNEL.format(prefix="par", group=group) == (
        layer._get_group_channel_name(group)
    )


async def test_a_batch_for_several_users_reaches_each_one_s_open_pages_and_nobody_else(
    settings: Any,
) -> None:
    """Each message of a batch reaches the pages of its own user, through the layer the
    pages listen on, and the batch answers one outcome per message."""
    settings.CHANNEL_LAYERS = redis_layer(os.environ["TEST_REDIS_URL"])
    layer = get_channel_layer()
    pages = {user: await layer.new_channel() for user in (1, 2, 3)}
    for user, page in pages.items():
        await layer.group_add(delivery.user_group(user), page)
    batch = [
        (delivery.user_group(1), {"type": "notification.message", "payload": {"id": 10}}),
        (delivery.user_group(2), {"type": "notification.message", "payload": {"id": 11}}),
        (delivery.user_group(1), {"type": "notification.message", "payload": {"id": 12}}),
    ]
    outcomes = await asyncio.to_thread(delivery.send_all_now, batch, 2.0)
    assert outcomes == [None, None, None]
    got = {
        user: [(await layer.receive(pages[user]))["payload"]["id"] for _ in range(n)]
        for user, n in ((1, 2), (2, 1))
    }
    assert got == {1: [10, 12], 2: [11]}
    try:
        async with asyncio.timeout(0.3):
            extra = await layer.receive(pages[3])
    except TimeoutError:
        extra = None
    assert extra is None
    await layer.flush()


def test_with_redis_stopped_every_push_of_the_batch_gets_the_reason_at_once(
    settings: Any, own_redis: Any
) -> None:
    """Nothing listens on Redis's port any more: each push is answered with the error (the
    worker tries again), without raising and without waiting for the push timeout."""
    settings.CHANNEL_LAYERS = redis_layer(own_redis.url)
    own_redis.stop()
    started = time.monotonic()
    outcomes = delivery.send_all_now([("a", {"type": "x"}), ("b", {"type": "x"})], 2.0)
    assert time.monotonic() - started < 2.0
    assert len(outcomes) == 2
    assert all(o is not None and "ConnectionError" in o for o in outcomes), outcomes


def test_the_embedded_layer_and_a_sharded_redis_layer_push_through_the_layer(
    settings: Any,
) -> None:
    """The in-memory layer reaches its pages only through itself, and a layer sharded over
    several Redis hosts chooses the host of each group itself."""
    settings.CHANNEL_LAYERS = MEMORY_LAYER
    assert redis_push.publisher(1.0) is None
    sharded = redis_layer(os.environ["TEST_REDIS_URL"])
    sharded["default"]["CONFIG"]["hosts"] *= 2
    settings.CHANNEL_LAYERS = sharded
    assert redis_push.publisher(1.0) is None
    settings.CHANNEL_LAYERS = redis_layer(os.environ["TEST_REDIS_URL"])
    assert redis_push.publisher(1.0) is not None
