"""Pushes from synchronous code straight to production's Redis Pub/Sub: a batch in one round
trip.

channels_redis's `RedisPubSubChannelLayer` sends a group message as one PUBLISH of the
layer's serialised message on the group's channel, one command at a time under a lock of
its connection, from an event loop the synchronous caller has to hand each batch to. The
first deadline sweep of bench/sweep.py pushes 2,687 reminders: that way it took 1.8 to 2.0 s
(11.7 to 13.3 times its baseline), this way 1.3 to 1.5 s, as on the in-memory layer. Here
the same commands go in one pipeline from the calling thread, on a connection pool of the
process's own built from the layer's own settings; pages receive them through the layer
exactly as before.

Only for the layer with one host (production's `config.settings.redis_channel_layers`):
with several, the layer shards the groups, and `delivery.send_all_now` sends through it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import redis
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

Messages = Sequence[tuple[str, dict[str, Any]]]
Publisher = Callable[[Messages], list[str | None]]

# The channel a group's messages are published on: RedisPubSubLoopLayer's
# `_get_group_channel_name` (checked against it in tests/notifications/test_redis_push.py).
GROUP_CHANNEL = "{prefix}__group__{group}"

# Per address and settings. redis-py's pool is fork-safe itself: a forked child that uses
# it opens connections of its own.
_clients: dict[tuple[str, str], redis.Redis] = {}
_clients_lock = threading.Lock()


def publisher(timeout: float) -> Publisher | None:
    """Publish a batch of group messages in one pipeline, or None when the channel layer is
    not production's Redis Pub/Sub on one host."""
    layer = get_channel_layer()
    if not isinstance(layer, RedisPubSubChannelLayer):
        return None
    config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    hosts = config.get("hosts") or []
    if len(hosts) != 1 or not isinstance(hosts[0], dict) or "address" not in hosts[0]:
        return None
    client = _client(hosts[0], timeout)
    prefix = config.get("prefix", "asgi")

    def publish(messages: Messages) -> list[str | None]:
        pipe = client.pipeline(transaction=False)
        for group, message in messages:
            pipe.publish(GROUP_CHANNEL.format(prefix=prefix, group=group), layer.serialize(message))
        try:
            answers = pipe.execute(raise_on_error=False)
        except (redis.RedisError, OSError) as exc:
            return [repr(exc)] * len(messages)
        return [repr(a) if isinstance(a, Exception) else None for a in answers]

    return publish


def _client(host: dict[str, Any], timeout: float) -> redis.Redis:
    """The process's client for the layer's host, as channels_redis builds its pool from the
    same entry (`create_pool`), each call bounded by the push timeout."""
    options = {k: v for k, v in host.items() if k != "address"}
    options["socket_timeout"] = timeout
    options["socket_connect_timeout"] = min(options.get("socket_connect_timeout", timeout), timeout)
    key = (host["address"], repr(sorted(options.items())))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            pool = redis.ConnectionPool.from_url(host["address"], **options)
            client = _clients[key] = redis.Redis(connection_pool=pool)
        return client
